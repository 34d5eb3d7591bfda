"""Fast, offline en/fr detection for short chat messages.

A message is scored by how many of its words appear in each language's list of function
words and chat forms (``data/lang/<code>.txt``). Adding a language = adding a list.
Unknown or mixed messages return ``None``: the caller then runs every language pack.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_TOKEN = re.compile(r"[a-z]+'?")
MIN_HITS = 1  # a single distinctive word is enough for very short messages
MARGIN = 1.5  # the winner needs this many times the runner-up's hits


@lru_cache(maxsize=1)
def word_lists() -> dict[str, frozenset[str]]:
    """Language code -> distinctive words (words shared by two lists are removed)."""
    raw: dict[str, set[str]] = {}
    folder = resources.files("sextortion_signals") / "data" / "lang"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".txt"):
            continue
        words: set[str] = set()
        for line in entry.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                words.update(line.split())
        raw[entry.name[:-4]] = words
    shared = {w for a in raw for b in raw if a < b for w in raw[a] & raw[b]}
    return {code: frozenset(words - shared) for code, words in raw.items()}


@lru_cache(maxsize=1)
def _owner() -> dict[str, str]:
    # Distinctive words belong to exactly one language: one lookup per token.
    return {w: code for code, words in word_lists().items() for w in words}


def languages() -> tuple[str, ...]:
    return tuple(sorted(word_lists()))


def detect(normalized_text: str) -> str | None:
    """Language code of an already normalised (lowercase, accent-free) message, or None."""
    owner = _owner()
    counts: dict[str, int] = {}
    for token in _TOKEN.findall(normalized_text):
        code = owner.get(token)
        if code is not None:
            counts[code] = counts.get(code, 0) + 1
        if token[-1] == "'":  # "j'" also counts as "j"
            bare = owner.get(token[:-1])
            if bare is not None and bare != code:
                counts[bare] = counts.get(bare, 0) + 1
    if not counts:
        return None
    # A tie between the two best never decides, so which of them is "best" is moot.
    best = max(counts, key=counts.__getitem__)
    hits = counts[best]
    runner_up = max((n for code, n in counts.items() if code != best), default=0)
    if hits >= MIN_HITS and hits >= MARGIN * runner_up and hits > runner_up:
        return best
    return None
