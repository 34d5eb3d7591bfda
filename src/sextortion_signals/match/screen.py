"""Where a message is read once, word by word, before anything is tokenized.

One pass over a normalised message's whitespace-free chunks gives everything later steps
need to decide what to run: the language (``text/language.py``'s votes), for each
language's rules the prefilter groups met and units to check (``prefilter.py``), which
indicator lexicons may match (``indicators.IndicatorGate``), the message's tokens
(``text/tokens.py``) and the concepts it may hold (``frames/``). Nothing these read crosses
whitespace, so each distinct chunk is read once per screen and its record kept (bounded):
a message then costs a ``str.split``, one dictionary lookup per chunk and a few integer
operations.

Two counts are kept in one integer each, so that a word adds to them with one ``+`` or
``|``: ``LanguageVotes`` (a field of ``VOTE_BITS`` bits per language) and ``PackGroups``
(each language's prefilter groups shifted to their own bits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from ..frames import ConceptMatcher
from ..indicators import IndicatorFinder
from ..locks import owned_lock
from ..text import language
from ..text.normalize import NormalizedText
from ..text.tokens import TOKEN
from .prefilter import Candidates, Prefilter

# A word of the language lists (letters, an elision's apostrophe kept) or a digit run;
# without the apostrophe, a run of the prefilter (``prefilter.RUN``).
WORD = re.compile(rf"{language.TOKEN.pattern}|[0-9]+")
MAX_WORDS = 100_000  # word records kept per screen (then the store starts afresh)
MAX_ANSWERS = 20_000  # answers kept per screen (~7,000 distinct in 20,000 chat messages)
VOTE_BITS = 32  # a message would need 2**32 words for one count to spill into the next


class LanguageVotes:
    """Per-language vote counts packed in one int: language ``k``'s count is the field
    ``(total >> (VOTE_BITS * k)) & (2**VOTE_BITS - 1)``; adding two totals adds counts."""

    def __init__(self, codes: tuple[str, ...]) -> None:
        self.codes = codes
        self._one = {code: 1 << (VOTE_BITS * k) for k, code in enumerate(codes)}

    def pack(self, codes: tuple[str, ...]) -> int:
        return sum(self._one[c] for c in codes)

    def unpack(self, total: int) -> dict[str, int]:
        field = (1 << VOTE_BITS) - 1
        counts = {code: (total >> (VOTE_BITS * k)) & field for k, code in enumerate(self.codes)}
        return {code: n for code, n in counts.items() if n}


class PackGroups:
    """Every language's prefilter groups in one int: pack ``k``'s groups are shifted by
    the total width of the packs before it."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        self.shifts = tuple(sum(widths[:k]) for k in range(len(widths)))
        self.masks = tuple((1 << w) - 1 for w in widths)

    def pack(self, groups: tuple[int, ...]) -> int:
        return sum(g << s for g, s in zip(groups, self.shifts, strict=True))

    def of(self, total: int, k: int) -> int:
        return (total >> self.shifts[k]) & self.masks[k]


class _Word(NamedTuple):
    """What one word brings to a message's screen."""

    votes: int  # LanguageVotes
    groups: int  # PackGroups
    anchored: tuple[tuple[int, tuple[int, ...]], ...]  # (pack position, unit masks)
    gates: int  # IndicatorGate bits


class _Chunk(NamedTuple):
    """What one whitespace-free chunk of a normalised text brings (its words' records
    merged; no word, token or concept term crosses whitespace)."""

    votes: int
    groups: int
    anchored: tuple[tuple[int, tuple[int, ...]], ...]
    gates: int
    tokens: tuple[str, ...]  # text/tokens.py
    concepts: int  # concept bits it may hold (frames.ConceptMatcher.possible_bits)


class Screened(NamedTuple):
    """A message's screen: its language, the rules worth trying per language (only
    languages where some may match), the indicator lexicons that may match, its tokens
    and the concepts it may hold."""

    lang: str | None
    candidates: tuple[tuple[str, Candidates], ...]
    gates: int  # indicators.IndicatorGate bits
    tokens: tuple[str, ...]
    concepts: int


class Screen:
    """``screen(text)`` for a set of language packs (their prefilters) and the indicator
    lexicons. Thread-safe: records are immutable, the store is replaced, never mutated
    while it may be read."""

    def __init__(self, prefilters: Mapping[str, Prefilter], indicators: IndicatorFinder,
                 concepts: ConceptMatcher) -> None:
        self.packs = tuple(prefilters)
        self._prefilters = tuple(prefilters.values())
        self._votes = LanguageVotes(language.languages())
        self._groups = PackGroups(tuple(p.width for p in self._prefilters))
        self._indicators = indicators
        self._position = {pack: k for k, pack in enumerate(self.packs)}
        self._always_open = any(p.always_open for p in self._prefilters)
        self._spanning = any(p.spanning for p in self._prefilters)
        self._concepts = concepts
        self._words: dict[str, _Word] = {}
        self._chunks: dict[str, _Chunk] = {}
        self._decided: dict[int, str | None] = {}  # vote total -> language
        # (pack, groups met) -> candidates: the answer follows from the groups met alone
        # (``Prefilter.complete``).
        self._answers: dict[tuple[int, int], Candidates] = {}
        self._lock = owned_lock(self)

    def _word(self, token: str) -> _Word:
        run = token.rstrip("'")
        groups: list[int] = []
        anchored: list[tuple[int, tuple[int, ...]]] = []
        for k, prefilter in enumerate(self._prefilters):
            met, masks = prefilter.word(run)
            groups.append(met)
            if masks:
                anchored.append((k, masks))
        votes = self._votes.pack(language.votes(token)) if token[0].isalpha() else 0
        record = _Word(votes, self._groups.pack(tuple(groups)), tuple(anchored),
                       self._indicators.word_gates(run))
        if len(token) <= 64:
            with self._lock:
                words = self._words if len(self._words) < MAX_WORDS else {}
                words[token] = record
                self._words = words
        return record

    def _chunk(self, chunk: str) -> _Chunk:
        words = self._words
        votes = gates = 0
        anchored: list[tuple[int, tuple[int, ...]]] = []
        met: list[int] = []
        for k, prefilter in enumerate(self._prefilters):
            substrings, masks = prefilter.chunk_substrings(chunk)
            met.append(substrings)
            anchored.extend((k, m) for m in masks)
        groups = self._groups.pack(tuple(met))
        for token in WORD.findall(chunk):
            record = words.get(token) or self._word(token)
            votes += record.votes
            groups |= record.groups
            gates |= record.gates
            if record.anchored:
                anchored.extend(record.anchored)
        toks = tuple(TOKEN.findall(chunk))
        found = _Chunk(votes, groups, tuple(anchored), gates, toks,
                       self._concepts.possible_bits(toks))
        if len(chunk) <= 64:
            with self._lock:
                chunks = self._chunks if len(self._chunks) < MAX_WORDS else {}
                chunks[chunk] = found
                self._chunks = chunks
        return found

    def _keep_answer(self, k: int, met: int, candidates: Candidates) -> Candidates:
        with self._lock:
            answers = self._answers if len(self._answers) < MAX_ANSWERS else {}
            answers[(k, met)] = candidates
            self._answers = answers
        return candidates

    def _decide(self, votes: int) -> str | None:
        lang = language.decide(self._votes.unpack(votes))
        with self._lock:
            decided = self._decided if len(self._decided) < MAX_WORDS else {}
            decided[votes] = lang
            self._decided = decided
        return lang

    def screen(self, norm: NormalizedText) -> Screened:
        """Screen a normalised message (``text/normalize.py``)."""
        text = norm.text
        chunks = self._chunks
        votes = met = gates = concepts = 0
        anchored: list[tuple[int, tuple[int, ...]]] = []
        toks: list[str] = []
        for chunk in text.split():
            record = chunks.get(chunk) or self._chunk(chunk)
            votes += record.votes
            met |= record.groups
            gates |= record.gates
            concepts |= record.concepts
            toks.extend(record.tokens)
            if record.anchored:
                anchored.extend(record.anchored)
        tokens = tuple(toks)
        lang = self._decided.get(votes, "?") if votes else None
        if lang == "?":
            lang = self._decide(votes)
        gates = self._indicators.text_gates(norm.original, gates)
        if not met and not self._always_open and not self._spanning:
            return Screened(lang, (), gates, tokens, concepts)
        position = self._position.get(lang) if lang is not None else None
        tried = range(len(self.packs)) if position is None else (position,)
        found: list[tuple[str, Candidates]] = []
        for k in tried:
            prefilter = self._prefilters[k]
            if prefilter.always_open:
                candidates = prefilter.candidates(text)
            else:
                extra, more = (prefilter.spanning_substrings(text) if prefilter.spanning
                               else (0, []))
                pack_met = self._groups.of(met, k) | extra
                kept = self._answers.get((k, pack_met))
                if kept is None:
                    mine = [masks for j, masks in anchored if j == k]
                    kept = self._keep_answer(k, pack_met,
                                             prefilter.complete(pack_met, mine + more))
                candidates = kept
            if candidates:
                found.append((self.packs[k], candidates))
        return Screened(lang, tuple(found), gates, tokens, concepts)
