"""Where a raw message is read once, by whitespace-free chunk, for everything that reads
chunks: normalisation, the screen and the indicators' gates.

Each distinct chunk of the raw text gets one kept record (bounded): the indicator regexes
it may open (``indicators.chunk_gates``), whether normalisation may change it
(``normalize.read_chunk``) and, when it may not, the screen's record of its folded form
(votes and gate groups, ``Screen.record``). A message none of whose chunks normalisation
may change is normalised by folding alone, so the screen's answer comes from these same
records, and the normalised text is only made when a pack passes (for its tokenizer).
Any other message is normalised and screened as before. Same answers either way
(tested); before, a message was split three times (normalisation's marks, the screen, the
indicators' gates) and its marks scanned by an automaton.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from ._store import keep_text
from .indicators import chunk_gates
from .normalize import CHANGES, SINGLE, NormalizedText, fold_only, normalize, read_chunk
from .normalize import spaced_run_possible as _spaced_run_possible
from .signals.screen import Screen, screen_for

_MAX_CHUNKS = 100_000  # records kept (``_store``)
# One ``Scan`` per message: made by ``tuple.__new__`` at half the cost of its ``__new__``.
_new = tuple.__new__


class _Raw(NamedTuple):
    """What one chunk of a raw text brings."""

    votes: int  # the screen's record of the folded chunk (0 when ``shape`` has CHANGES)
    bits: int
    gates: int  # indicator gate bits
    shape: int  # ``normalize.read_chunk``'s bits


class Scan(NamedTuple):
    """One message, read: ``norm`` is its normalised text when a pack passes (else None),
    ``passing`` the packs that pass and their complete units (as ``Screen.screen`` gives
    them, as pairs), ``gates`` for ``indicators.find_gated``."""

    norm: NormalizedText | None
    detected: str | None
    passing: tuple[tuple[str, tuple[int, ...]], ...]
    gates: int


class Scanner:
    """``scan(text)`` for one screen (its packs); thread-safe as the screen is."""

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._raws: dict[str, _Raw] = {}

    def _raw(self, chunk: str) -> _Raw:
        folded, shape = read_chunk(chunk)
        votes = bits = 0
        if not shape & CHANGES:
            record = self._screen.record(folded)
            votes, bits = record.votes, record.bits
        return keep_text(self._raws, chunk, _Raw(votes, bits, chunk_gates(chunk), shape),
                         _MAX_CHUNKS)

    def scan(self, text: str) -> Scan:
        raws = self._raws
        votes = satisfied = gates = shapes = 0
        for chunk in text.split():
            raw = raws.get(chunk) or self._raw(chunk)
            votes += raw.votes
            satisfied |= raw.bits
            gates |= raw.gates
            shapes |= raw.shape
        if shapes & CHANGES or (shapes & SINGLE and self._spaced_run_possible(text)):
            normalized = normalize(text)
            detected, passing = self._screen.screen(normalized.text)
            return _new(Scan, (normalized if passing else None, detected,
                               tuple(passing.items()), gates))
        # Normalised by folding alone: the screen's answer from the chunks' records, the
        # text folded only if the answer is new or a pack passes.
        screen = self._screen
        detected, answer = screen.known(votes, satisfied)
        norm: NormalizedText | None = None
        if answer is None:
            norm = fold_only(text)
            answer = screen.answer(norm.text, detected, satisfied)
        if not answer:
            return _new(Scan, (None, detected, answer, gates))
        return _new(Scan, (norm or fold_only(text), detected, answer, gates))

    def _spaced_run_possible(self, text: str) -> bool:
        raws = self._raws
        return _spaced_run_possible([(raws.get(chunk) or self._raw(chunk)).shape
                                     for chunk in text.split()])


@cache
def scanner_for(packs: tuple[str, ...]) -> Scanner:
    """The scanner of these packs' screen (``screen_for``), one per process."""
    return Scanner(screen_for(packs))
