"""Fast, offline en/fr detection for short chat messages.

A message is scored by how many of its words appear in each language's list of function
words and chat forms (``text/wordlists/<code>.txt``). Adding a language = adding a list.
Unknown or mixed messages return ``None``: the caller then runs every language pack.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

TOKEN = re.compile(r"[a-z]+'?")
MIN_HITS = 1  # a single distinctive word is enough for very short messages
MARGIN = 1.5  # the winner needs this many times the runner-up's hits


@lru_cache(maxsize=1)
def word_lists() -> dict[str, frozenset[str]]:
    """Language code -> distinctive words (words shared by two lists are removed)."""
    raw: dict[str, set[str]] = {}
    folder = resources.files("sextortion_signals") / "text" / "wordlists"
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


def votes(token: str) -> tuple[str, ...]:
    """Languages a token of ``TOKEN`` counts for: its owner, and for an elided form
    ("j'") also the owner of the bare word ("j") when that is another language."""
    owner = _owner()
    code = owner.get(token)
    bare = owner.get(token[:-1]) if token[-1] == "'" else None
    return tuple(c for c in (code, bare if bare != code else None) if c is not None)


def decide(counts: dict[str, int]) -> str | None:
    """The language of a message from its per-language vote counts, or None."""
    if len(counts) < 2:  # the common case: no runner-up
        for code, hits in counts.items():
            return code if hits >= MIN_HITS else None
        return None
    # A tie between the two best never decides, so which of them is "best" is moot.
    best = max(counts, key=counts.__getitem__)
    hits = counts[best]
    runner_up = max((n for code, n in counts.items() if code != best), default=0)
    if hits >= MIN_HITS and hits >= MARGIN * runner_up and hits > runner_up:
        return best
    return None


def detect(normalized_text: str) -> str | None:
    """Language code of an already normalised (lowercase, accent-free) message, or None."""
    counts: dict[str, int] = {}
    for token in TOKEN.findall(normalized_text):
        for code in votes(token):
            counts[code] = counts.get(code, 0) + 1
    return decide(counts)
