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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Literal, NamedTuple

from ..errors import RuleFormatError
from ..text.normalize import NormalizedText, normalize
from ..text.tokens import TOKEN

FRAME_PREFIX = "frame/"  # rule ids of frame hits: "frame/threat/spread_to_audience"
BURST_SECONDS = 180.0  # consecutive messages of one sender within this make a burst
BURST_MESSAGES = 6
Scope = Literal["clause", "message", "burst"]
_SCOPES = ("clause", "message", "burst")
_CLAUSE_END = re.compile(r"[.!?;\n]+|\s[-–—]\s")
_TOKEN = TOKEN


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

    def satisfied(self, concepts: set[str] | frozenset[str]) -> bool:
        return (concepts.issuperset(self.all)
                and (not self.any or not concepts.isdisjoint(self.any))
                and (not self.with_ or not concepts.isdisjoint(self.with_)))

    def masks(self, bit: dict[str, int]) -> tuple[int, int, int]:
        """(all, any, with) as bit masks of concepts (``bit``: concept -> its bit)."""
        def mask(names: tuple[str, ...]) -> int:
            return sum(bit[n] for n in names)
        return mask(self.all), mask(self.any), mask(self.with_)

    def parts(self, occurrences: Iterable[Occurrence]) -> list[Occurrence]:
        """The occurrences that make up the frame (its concepts only)."""
        wanted = {*self.all, *self.any, *self.with_}
        return [o for o in occurrences if o.concept in wanted]


class ConceptMatcher:
    """Concept occurrences of one language's lexicon (immutable)."""

    def __init__(self, lexicon: Mapping[str, Sequence[str]],
                 elisions: Sequence[str] = ()) -> None:
        """``elisions``: the language's elided words ("l'", "t'"), so that "l'envoyer"
        is the term "envoyer" (a token keeps an elision whole)."""
        words: dict[str, set[str]] = {}
        phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        prefixes = [e.replace("'", q) for e in elisions for q in "'’"]
        for concept, terms in lexicon.items():
            for term in terms:
                tokens = tuple(_TOKEN.findall(normalize(term).text))
                if not tokens:
                    raise RuleFormatError(f"concept {concept!r}: term {term!r} has no word")
                variants = [tokens]
                if tokens[0][0] in "aeiouyh" and "'" not in tokens[0]:
                    variants += [(p + tokens[0], *tokens[1:]) for p in prefixes]
                for form in variants:
                    if len(form) == 1:
                        words.setdefault(form[0], set()).add(concept)
                    else:
                        phrases.setdefault(form[0], []).append((form, concept))
        self._words = {w: tuple(sorted(c)) for w, c in words.items()}
        # Longest phrases first, so "tout le monde" is one occurrence.
        self._phrases = {w: sorted(p, key=lambda x: -len(x[0])) for w, p in phrases.items()}
        self.concepts = tuple(sorted(lexicon))
        # Per token: (concepts it is, phrases it starts): ``find`` skips other tokens.
        self._entries = {w: (self._words.get(w, ()), tuple(self._phrases.get(w, ())))
                         for w in {*self._words, *self._phrases}}
        # Per token: the bits of the concepts it is, or may start (``possible_bits``).
        bit = concept_bit()
        self._bits: dict[str, int] = {}
        for w, cs in self._words.items():
            self._bits[w] = self._bits.get(w, 0) | sum(bit[c] for c in cs)
        for w, ps in self._phrases.items():
            self._bits[w] = self._bits.get(w, 0) | sum({bit[c] for _, c in ps})

    def possible_bits(self, tokens: Sequence[str]) -> int:
        """``possible`` as concept bits (``concept_bit``) from a text's tokens
        (``text/tokens.py``), for gating without sets."""
        bits = 0
        get = self._bits.get
        for token in tokens:
            bits |= get(token, 0)
        return bits

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
        matches = list(_TOKEN.finditer(text))
        if not matches:
            return []
        words = [m.group() for m in matches]
        entries = self._entries
        clause_of: Callable[[int], int] | None = None
        out: list[Occurrence] = []
        covered: dict[str, int] = {}  # concept -> end of its last phrase (no word inside)
        n = len(words)
        for i, word in enumerate(words):
            entry = entries.get(word)
            if entry is None:  # most words are no concept's
                continue
            single, phrases = entry
            start = matches[i].start()
            if clause_of is None:
                clause_of = _clauses(text)
            clause = clause_of(start)
            for phrase, concept in phrases:
                k = len(phrase)
                if (i + k <= n and covered.get(concept, -1) <= start
                        and tuple(words[i:i + k]) == phrase):
                    end = matches[i + k - 1].end()
                    out.append(Occurrence(concept, start, end, clause))
                    covered[concept] = end
            for concept in single:
                if covered.get(concept, -1) <= start:
                    out.append(Occurrence(concept, start, matches[i].end(), clause))
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


class _Recent:
    """A message of the current burst (its concept occurrences found when first needed)."""

    __slots__ = ("bits", "found", "matcher", "message_index", "norm", "time")

    def __init__(self, message_index: int, time: float | None, norm: NormalizedText,
                 found: list[Occurrence] | None, matcher: ConceptMatcher | None,
                 bits: int) -> None:
        self.message_index = message_index
        self.time = time
        self.norm = norm
        self.found = found
        self.matcher = matcher
        self.bits = bits  # concepts it may hold (``ConceptMatcher.possible_bits``)

    def concepts(self) -> frozenset[str]:
        """The concepts this message holds, or may hold if not looked for yet."""
        if self.found is not None:
            return frozenset(o.concept for o in self.found)
        return concepts_of_bits(self.bits)

    @property
    def occurrences(self) -> list[Occurrence]:
        if self.found is None:
            assert self.matcher is not None
            self.found = self.matcher.find(self.norm.text)
        return self.found


class FrameState:
    """One conversation's frames, message by message (bounded: only the current burst)."""

    __slots__ = ("burst", "burst_sender", "frames", "plan")

    def __init__(self, plan: _FiringPlan | None = None) -> None:
        self.plan = plan or firing_plan()
        self.frames = self.plan.frames
        self.burst_sender: str | None = None
        self.burst: deque[_Recent] = deque()

    def add(self, message_index: int, sender: str | None, time: float | None,
            norm: NormalizedText, bits: int, matcher: ConceptMatcher) -> list[FrameHit]:
        """The frame hits this message completes. Every frame needs a concept of the
        completing message, and a clause or message frame two: concept positions are only
        looked for when the message may complete one. ``bits``: the concepts the message
        may hold (a superset is enough: ``ConceptMatcher.possible_bits``)."""
        recent = _Recent(message_index, time, norm, [] if not bits else None, matcher, bits)
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
        if not bits or not self._may_fire(bits):
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
                core = {*frame.all, *frame.any}
                if frame.satisfied(together) and mine & core:
                    # Only the messages carrying the frame's core: a message that merely
                    # mentions the images is not itself the deadline or the condition.
                    for r in self.burst:
                        if any(o.concept in core for o in r.occurrences):
                            out.extend(_hits(frame, r, r.occurrences))
        return out


    def _may_fire(self, bits: int) -> bool:
        """Whether some frame may complete with this message, from the concepts it and
        the burst may hold (positions not needed yet)."""
        plan = self.plan
        alone = plan.alone.get(bits)
        if alone is None:
            alone = plan.decide(bits)
        if alone:
            return True
        if len(self.burst) < 2:
            return False
        together = 0
        for r in self.burst:
            together |= r.bits
        return any(_fits(together, a, n, w) and bits & (a | n) for a, n, w in plan.burst)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready; a message's normalised text is made again from its text on load."""
        return {"burst_sender": self.burst_sender,
                "burst": [[r.message_index, r.time, r.norm.original,
                           [list(o) for o in r.occurrences]] for r in self.burst]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FrameState:
        bit = concept_bit()
        burst: deque[_Recent] = deque()
        for i, t, text, occ in raw["burst"]:
            found = [Occurrence(str(c), int(a), int(b), int(k)) for c, a, b, k in occ]
            burst.append(_Recent(int(i), t, normalize(text), found, None,
                                 sum({bit[o.concept] for o in found})))
        state = cls()
        state.burst_sender = raw["burst_sender"]
        state.burst = burst
        return state


def _fits(bits: int, all_: int, any_: int, with_: int) -> bool:
    return (bits & all_ == all_ and (not any_ or bool(bits & any_))
            and (not with_ or bool(bits & with_)))


class _FiringPlan:
    """The frames as bit masks; which concept combinations may complete a clause or
    message frame on their own is kept per combination (there are few)."""

    def __init__(self, frames_: tuple[Frame, ...]) -> None:
        self.frames = frames_
        bit = concept_bit()
        self.single = [f.masks(bit) for f in frames_ if f.scope != "burst"]
        self.burst = [f.masks(bit) for f in frames_ if f.scope == "burst"]
        self.alone: dict[int, bool] = {}

    def decide(self, bits: int) -> bool:
        answer = any(_fits(bits, a, n, w) for a, n, w in self.single)
        if len(self.alone) < 65536:
            self.alone[bits] = answer  # a pure function of the bits: no lock needed
        return answer


@cache
def firing_plan() -> _FiringPlan:
    """The shipped frames' plan (one per process: its cache is a pure function)."""
    return _FiringPlan(frames())


@lru_cache(maxsize=4096)
def concepts_of_bits(bits: int) -> frozenset[str]:
    """The concept names of a bit set (``concept_bit``)."""
    return frozenset(name for name, bit in concept_bit().items() if bits & bit)


@cache
def concept_bit() -> dict[str, int]:
    """Every concept of every language, one bit each (sorted by name)."""
    names: set[str] = set()
    for entry in _data().iterdir():
        if entry.name.endswith(".toml") and entry.name != "frames.toml":
            names.update(concepts_of(entry.name[:-5]))
    return {name: 1 << k for k, name in enumerate(sorted(names))}


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
def _lexicon(lang: str) -> dict[str, Any]:
    path = _data() / f"{lang}.toml"
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def concepts_of(lang: str) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in _lexicon(lang).get("concepts", {}).items()}


def elisions_of(lang: str) -> tuple[str, ...]:
    return tuple(_lexicon(lang).get("elisions", ()))


@cache
def matcher(lang: str | None, languages: tuple[str, ...]) -> ConceptMatcher:
    """The concept matcher of a language; of every language's terms for an undecided one."""
    if lang in languages:
        return ConceptMatcher(concepts_of(lang), elisions_of(lang))
    merged: dict[str, list[str]] = {}
    for code in languages:
        for concept, terms in concepts_of(code).items():
            merged.setdefault(concept, []).extend(terms)
    return ConceptMatcher(merged, sorted({e for code in languages for e in elisions_of(code)}))
