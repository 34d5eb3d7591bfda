"""Where a message is screened before any tokenizer runs: its language is detected and
each language pack's gate (``gate.py``) applied, in one pass over its words.

Language detection and the gates both look at the same runs of letters; done apart they
each scanned the text and looked every word up again. Here each distinct word is looked
up once per process and its record kept (bounded): the languages it votes for and, for
every pack at once, the gate groups it satisfies (one integer, each pack's groups
shifted to their own bits) and the gate units indexed under it. Same answers as
``lang.detect`` and ``RuleGate.may_match`` (tested), for two thirds of their cost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

from .. import lang
from .gate import RuleGate
from .pipe import build_nlp, signal_matcher

# ``lang.TOKEN`` (letters, an elision's apostrophe kept) or a run of digits: the letter
# tokens are exactly the detector's, and without the apostrophe every token is a run of
# ``gate.py``.
_TOKEN = re.compile(rf"{lang.TOKEN.pattern}|[0-9]+")
_MAX_WORDS = 100_000


class _Word(NamedTuple):
    votes: tuple[str, ...]  # languages this word counts for (``lang.votes``)
    bits: int  # gate groups it satisfies, all packs, each shifted by its offset
    masks: tuple[tuple[int, ...], ...]  # per pack: units indexed under it


class Screen:
    """``screen(text)`` -> (detected language or None, packs whose rules may match).

    ``gates``: pack language -> its rule gate. A message of a known pack language is
    checked against that pack; any other message against every pack."""

    def __init__(self, gates: Mapping[str, RuleGate]) -> None:
        # Per pack: (pack, position, gate, shift of its groups, mask of its groups).
        self._gates: list[tuple[str, int, RuleGate, int, int]] = []
        shift = 0
        for k, (pack, gate) in enumerate(gates.items()):
            self._gates.append((pack, k, gate, shift, (1 << gate.width) - 1))
            shift += gate.width
        self._position = {pack: k for k, pack in enumerate(gates)}
        self._words: dict[str, _Word] = {}

    def _word(self, token: str) -> _Word:
        run = token.rstrip("'")
        bits = 0
        masks: list[tuple[int, ...]] = []
        for _, _, gate, shift, _ in self._gates:
            pack_bits, indexed = gate.entry(run)
            bits |= pack_bits << shift
            masks.append(indexed)
        word = _Word(lang.votes(token) if token[0].isalpha() else (), bits, tuple(masks))
        if len(self._words) >= _MAX_WORDS:
            self._words.clear()
        self._words[token] = word
        return word

    def screen(self, text: str) -> tuple[str | None, list[str]]:
        """``text`` is normalised (``normalize``): lowercase, folded."""
        words = self._words
        counts: dict[str, int] = {}
        satisfied = 0
        seen: list[_Word] = []
        for token in _TOKEN.findall(text):
            word = words.get(token) or self._word(token)
            for code in word.votes:
                counts[code] = counts.get(code, 0) + 1
            satisfied |= word.bits
            seen.append(word)
        detected = lang.decide(counts)
        position = self._position.get(detected) if detected is not None else None
        candidates = self._gates if position is None else (self._gates[position],)
        passing: list[str] = []
        for pack, k, gate, shift, mask in candidates:
            pack_bits, masks = gate.substrings(text)
            pack_bits |= (satisfied >> shift) & mask
            if pack_bits:  # else no unit can be complete: ``decide`` would say no
                masks.extend([word.masks[k] for word in seen])
                if gate.decide(pack_bits, masks):
                    passing.append(pack)
            elif gate.always_open:
                passing.append(pack)
        return detected, passing


@cache
def screen_for(packs: tuple[str, ...]) -> Screen:
    """The screen of these packs' pipelines (``build_nlp``), one per process."""
    return Screen({pack: signal_matcher(build_nlp(pack)).gate for pack in packs})
