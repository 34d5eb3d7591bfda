"""Compositional tactic frames: a threat is what is held + who would see it + how it
spreads + a condition, whatever the words.

Concept lexicons are data per language (``frames/<lang>.toml``); frames are data
(``frames/frames.toml``). ``ConceptMatcher`` finds concept occurrences on a normalised
message; ``FrameState`` follows one conversation message by message and reports the
frames each new message completes, in a clause, in the message, or in a burst of the same
sender's consecutive messages (a threat split over three short messages). A frame's hits
are signal hits with ``rule_id`` "frame/...", one per part, each span in the caller's text.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Literal, NamedTuple

from ..errors import RuleFormatError
from ..text.normalize import NormalizedText, normalize

FRAME_PREFIX = "frame/"  # rule ids of frame hits: "frame/threat/spread_to_audience"
BURST_SECONDS = 180.0  # consecutive messages of one sender within this make a burst
BURST_MESSAGES = 6
Scope = Literal["clause", "message", "burst"]
_SCOPES = ("clause", "message", "burst")
_CLAUSE_END = re.compile(r"[.!?;\n]+|\s[-–—]\s")
_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[@€$][a-z0-9]*|[\U0001F300-\U0001FAFF\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF]")


class Occurrence(NamedTuple):
    """A concept found in a message: offsets into the normalised text, clause number."""

    concept: str
    start: int
    end: int
    clause: int


@dataclass(frozen=True, slots=True)
class Frame:
    id: str
    signal: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    with_: tuple[str, ...]  # burst frames: also one of these somewhere in the burst
    scope: Scope

    def satisfied(self, concepts: set[str]) -> bool:
        return (all(c in concepts for c in self.all)
                and (not self.any or any(c in concepts for c in self.any))
                and (not self.with_ or any(c in concepts for c in self.with_)))

    def parts(self, occurrences: Iterable[Occurrence]) -> list[Occurrence]:
        """The occurrences that make up the frame (its concepts only)."""
        wanted = {*self.all, *self.any, *self.with_}
        return [o for o in occurrences if o.concept in wanted]


class ConceptMatcher:
    """Concept occurrences of one language's lexicon (immutable)."""

    def __init__(self, lexicon: dict[str, Sequence[str]]) -> None:
        words: dict[str, set[str]] = {}
        phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for concept, terms in lexicon.items():
            for term in terms:
                tokens = tuple(_TOKEN.findall(normalize(term).text))
                if not tokens:
                    raise RuleFormatError(f"concept {concept!r}: term {term!r} has no word")
                if len(tokens) == 1:
                    words.setdefault(tokens[0], set()).add(concept)
                else:
                    phrases.setdefault(tokens[0], []).append((tokens, concept))
        self._words = {w: tuple(sorted(c)) for w, c in words.items()}
        # Longest phrases first, so "tout le monde" is one occurrence.
        self._phrases = {w: sorted(p, key=lambda x: -len(x[0])) for w, p in phrases.items()}
        self.concepts = tuple(sorted(lexicon))

    def possible(self, text: str) -> frozenset[str]:
        """The concepts a normalised text may hold (its words' concepts, and those of the
        phrases its words may start): a superset of ``find``'s, without positions."""
        found: set[str] = set()
        words, phrases = self._words, self._phrases
        for token in _TOKEN.findall(text):
            concepts = words.get(token)
            if concepts:
                found.update(concepts)
            starts = phrases.get(token)
            if starts:
                found.update(concept for _, concept in starts)
        return frozenset(found)

    def find(self, text: str) -> list[Occurrence]:
        """Concept occurrences in a normalised text, in order."""
        tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        if not tokens:
            return []
        clause_of = _clauses(text)
        out: list[Occurrence] = []
        covered: dict[str, int] = {}  # concept -> end of its last phrase (no word inside)
        n = len(tokens)
        for i, (word, start, end) in enumerate(tokens):
            clause = clause_of(start)
            for phrase, concept in self._phrases.get(word, ()):
                k = len(phrase)
                if (covered.get(concept, -1) <= start and i + k <= n
                        and all(tokens[i + j][0] == phrase[j] for j in range(1, k))):
                    out.append(Occurrence(concept, start, tokens[i + k - 1][2], clause))
                    covered[concept] = tokens[i + k - 1][2]
            for concept in self._words.get(word, ()):
                if covered.get(concept, -1) <= start:
                    out.append(Occurrence(concept, start, end, clause))
        return out


def _clauses(text: str) -> Callable[[int], int]:
    """Position -> clause number (clauses end at sentence marks)."""
    ends = [m.end() for m in _CLAUSE_END.finditer(text)]
    return lambda pos: bisect_right(ends, pos)


class FrameHit(NamedTuple):
    """One part of a fired frame: which message and where (original-text offsets)."""

    signal: str
    frame_id: str
    message_index: int
    start: int
    end: int
    text: str


@dataclass(slots=True)
class _Recent:
    message_index: int
    time: float | None
    norm: NormalizedText
    found: list[Occurrence] | None  # None: not looked for yet (found when first needed)
    matcher: ConceptMatcher | None = None

    def concepts(self) -> frozenset[str]:
        """The concepts this message holds, or may hold if not looked for yet."""
        if self.found is not None:
            return frozenset(o.concept for o in self.found)
        assert self.matcher is not None
        return self.matcher.possible(self.norm.text)

    @property
    def occurrences(self) -> list[Occurrence]:
        if self.found is None:
            assert self.matcher is not None
            self.found = self.matcher.find(self.norm.text)
        return self.found


@dataclass(slots=True)
class FrameState:
    """One conversation's frames, message by message (bounded: only the current burst)."""

    frames: tuple[Frame, ...]
    burst_sender: str | None = None
    burst: deque[_Recent] = field(default_factory=deque)

    def add(self, message_index: int, sender: str | None, time: float | None,
            norm: NormalizedText, matcher: ConceptMatcher) -> list[FrameHit]:
        """The frame hits this message completes. Every frame needs a concept of the
        completing message, and a clause or message frame two: concept positions are only
        looked for when the message may complete one."""
        possible = matcher.possible(norm.text)
        recent = _Recent(message_index, time, norm, [] if not possible else None, matcher)
        last = self.burst[-1] if self.burst else None
        if (sender != self.burst_sender or last is None
                or (time is not None and last.time is not None
                    and not 0 <= time - last.time <= BURST_SECONDS)):
            self.burst.clear()
            self.burst_sender = sender
        self.burst.append(recent)
        while len(self.burst) > BURST_MESSAGES:
            self.burst.popleft()
        out: list[FrameHit] = []
        if not possible or (len(possible) < 2 and len(self.burst) < 2):
            return out
        occurrences = recent.occurrences
        mine = {o.concept for o in occurrences}
        clauses: dict[int, set[str]] = {}
        for o in occurrences:
            clauses.setdefault(o.clause, set()).add(o.concept)
        for frame in self.frames:
            if frame.scope == "clause":
                for clause, concepts in clauses.items():
                    if frame.satisfied(concepts):
                        out.extend(_hits(frame, recent, [o for o in occurrences
                                                         if o.clause == clause]))
                        break
            elif frame.scope == "message":
                if frame.satisfied(mine):
                    out.extend(_hits(frame, recent, occurrences))
            elif len(self.burst) > 1 and not frame.satisfied(mine):
                together = {o.concept for r in self.burst for o in r.occurrences}
                if frame.satisfied(together) and mine & {*frame.all, *frame.any}:
                    for r in self.burst:
                        out.extend(_hits(frame, r, r.occurrences))
        return out


    def to_dict(self) -> dict[str, object]:
        """JSON-ready; a message's normalised text is made again from its text on load."""
        return {"burst_sender": self.burst_sender,
                "burst": [[r.message_index, r.time, r.norm.original,
                           [list(o) for o in r.occurrences]] for r in self.burst]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], frames_: tuple[Frame, ...]) -> FrameState:
        burst = deque(_Recent(int(i), t, normalize(text),
                              [Occurrence(str(c), int(a), int(b), int(k)) for c, a, b, k in occ])
                      for i, t, text, occ in raw["burst"])  # occurrences stored found
        return cls(frames_, raw["burst_sender"], burst)


def _hits(frame: Frame, recent: _Recent, occurrences: list[Occurrence]) -> list[FrameHit]:
    """One hit per message: the span from the frame's first part to its last."""
    parts = frame.parts(occurrences)
    if not parts:
        return []
    start, _ = recent.norm.to_original(min(o.start for o in parts), min(o.start for o in parts))
    _, end = recent.norm.to_original(max(o.end for o in parts) - 1, max(o.end for o in parts))
    return [FrameHit(frame.signal, frame.id, recent.message_index, start, end,
                     recent.norm.original[start:end])]


def _data() -> Traversable:
    return resources.files("sextortion_signals") / "frames"


@cache
def frames() -> tuple[Frame, ...]:
    """The shipped frames, checked against the registry and the concept lexicons."""
    from ..rules.registry import get

    raw = tomllib.loads((_data() / "frames.toml").read_text(encoding="utf-8"))
    known = set(concepts_of("en"))
    out: list[Frame] = []
    for i, entry in enumerate(raw.get("frame", [])):
        where = f"frames/frames.toml: frame #{i + 1}"
        extra = set(entry) - {"id", "signal", "all", "any", "with", "scope"}
        if extra:
            raise RuleFormatError(f"{where}: unknown key(s) {sorted(extra)}")
        get(entry["signal"])  # raises for an unknown signal
        if entry.get("scope") not in _SCOPES:
            raise RuleFormatError(f"{where}: scope must be one of {_SCOPES}")
        frame = Frame(entry["id"], entry["signal"], tuple(entry["all"]),
                      tuple(entry.get("any", ())), tuple(entry.get("with", ())),
                      entry["scope"])
        unknown = {*frame.all, *frame.any, *frame.with_} - known
        if unknown:
            raise RuleFormatError(f"{where} ({frame.id}): unknown concept(s) {sorted(unknown)}")
        out.append(frame)
    return tuple(out)


@cache
def concepts_of(lang: str) -> dict[str, tuple[str, ...]]:
    path = _data() / f"{lang}.toml"
    if not path.is_file():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in raw.get("concepts", {}).items()}


@cache
def matcher(lang: str | None, languages: tuple[str, ...]) -> ConceptMatcher:
    """The concept matcher of a language; of every language's terms for an undecided one."""
    if lang in languages:
        return ConceptMatcher(concepts_of(lang))
    merged: dict[str, list[str]] = {}
    for code in languages:
        for concept, terms in concepts_of(code).items():
            merged.setdefault(concept, []).extend(terms)
    return ConceptMatcher(merged)
