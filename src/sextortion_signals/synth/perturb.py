"""Evasions an offender uses, as deterministic text transforms, to measure how much recall
each costs (``evaluate``'s robustness report). Applied to the messages a writer tagged as
carrying a tactic; the other messages are left as written.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "g": "9", "l": "1"}
_HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
               "i": "\u0456", "x": "\u0445", "y": "\u0443"}


def leet(text: str, rng: random.Random) -> str:
    """Heavy l33t: most mapped letters of every word."""
    return "".join(_LEET.get(c, c) if c in _LEET and rng.random() < 0.7 else c for c in text)


def homoglyphs(text: str, rng: random.Random) -> str:
    """Cyrillic look-alikes for Latin letters."""
    return "".join(_HOMOGLYPHS.get(c, c) if rng.random() < 0.6 else c for c in text)


def zero_width(text: str, rng: random.Random) -> str:
    """A zero-width or variation character after most letters."""
    marks = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufe0f", "\u034f"]
    return "".join(c + (rng.choice(marks) if c.isalpha() and rng.random() < 0.7 else "")
                   for c in text)


def spaced(text: str, rng: random.Random) -> str:
    """Letters spaced out across whole phrases ("s e n d  m e")."""
    return "  ".join(" ".join(word) for word in text.split())


def punctuated(text: str, rng: random.Random) -> str:
    """Punctuation inside words ("p.a.y", "se-nd")."""
    out = []
    for word in text.split():
        if len(word) > 3 and word.isalpha():
            sep = rng.choice([".", "-", "*", "_"])
            word = sep.join(word) if rng.random() < 0.5 else word[:2] + sep + word[2:]
        out.append(word)
    return " ".join(out)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "leet": leet, "homoglyphs": homoglyphs, "zero_width": zero_width, "spaced_letters": spaced,
    "punctuation_in_words": punctuated}


def perturb_conversation(row: dict[str, Any], name: str, seed: int = 0) -> list[dict[str, Any]]:
    """The messages of a labelled row with ``name`` applied to those tagged with a tactic
    (age disclosures excepted), or to every message of an untagged row; the same row and
    seed give the same text."""
    rng = random.Random(f"{seed}:{name}:{row.get('id')}")
    transform = PERTURBATIONS[name]
    tags = row.get("tags") or [["untagged"] for _ in row["messages"]]
    out = []
    for message, message_tags in zip(row["messages"], tags, strict=True):
        tactic = any(t != "age_disclosure" for t in message_tags)
        out.append({**message, "text": transform(message["text"], rng) if tactic
                    else message["text"]})
    return out
