"""Where messages become evidence: normalised text, language, signal hits, indicators.

Per message: normalise once (``text/normalize.py``), detect the language, ask each
candidate language's component which rules may match (its prefilter) and, for the
messages where some may, tokenize and match them in one batch per language
(``SignalComponent.find_many``: the same path as the spaCy component). A message of no
known language tries every language; the same span found twice counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

from .. import frames
from ..frames import FRAME_PREFIX
from ..indicators import finder
from ..inputs import Conversation
from ..results import Indicator, SignalHit
from ..rules.registry import available, rule_languages
from ..text.normalize import NormalizedText, normalize
from .component import Match, SignalComponent
from .prefilter import Candidates
from .screen import Screen, Screened


class MessageAnalysis(NamedTuple):
    """Everything later stages need about one message."""

    message_index: int  # the caller's message index
    lang: str | None  # detected language, None if unknown or mixed
    hits: tuple[SignalHit, ...]
    indicators: tuple[Indicator, ...]
    text: str = ""  # the normalised text (what learned evidence reads)
    concepts: frozenset[str] = frozenset()  # concepts it may hold (frames/<lang>.toml)
    tokens: tuple[str, ...] = ()  # its tokens (text/tokens.py)


class Analyzer:
    """Analyses messages with one ``SignalComponent`` per language (thread-safe)."""

    def __init__(self, languages: Sequence[str] | None = None) -> None:
        self.languages = tuple(languages or rule_languages())
        self.components = {lang: SignalComponent(None, lang=lang) for lang in self.languages}
        self.screen = Screen({lang: c.prefilter for lang, c in self.components.items()},
                             finder(), frames.matcher(None, self.languages))
        self._categories = {s.name: s.category for s in available()}
        self._plan = frames.firing_plan()

    def analyse(self, conversations: Sequence[Conversation],
                frame_states: Sequence[frames.FrameState] | None = None,
                ) -> list[tuple[MessageAnalysis, ...]]:
        """One tuple of analyses per conversation, one analysis per message.
        ``frame_states``: one per conversation, to continue a conversation followed message
        by message (``Monitor``); by default each conversation starts afresh."""
        norms: list[NormalizedText] = []
        screened: list[Screened] = []
        # Per language: (flat message position, candidates) of the messages it may match.
        jobs: dict[str, list[tuple[int, Candidates]]] = {lang: [] for lang in self.languages}
        screen = self.screen.screen
        for conv in conversations:
            for msg in conv.messages:
                norm = normalize(msg.text)
                seen = screen(norm)
                for pack, candidates in seen.candidates:
                    jobs[pack].append((len(norms), candidates))
                norms.append(norm)
                screened.append(seen)
        hits: dict[int, list[tuple[str, Match]]] = {}
        for pack, todo in jobs.items():
            if not todo:
                continue
            found = self.components[pack].find_many([norms[k] for k, _ in todo],
                                                    [c for _, c in todo])
            for (flat, _), matches in zip(todo, found, strict=True):
                hits.setdefault(flat, []).extend((pack, m) for m in matches)
        find = finder().find
        out: list[tuple[MessageAnalysis, ...]] = []
        flat = 0
        for k, conv in enumerate(conversations):
            state = frame_states[k] if frame_states is not None else self.frame_state()
            analyses = []
            for index, msg in enumerate(conv.messages, start=conv.offset):
                seen, norm = screened[flat], norms[flat]
                found_hits = self._hits(hits.get(flat, ()), norm.original, index)
                indicators = tuple(find(norm, index, seen.gates)) if seen.gates else ()
                concepts = frames.matcher(seen.lang, self.languages)
                framed = self.frame_hits(state.add(index, msg.sender, msg.timestamp, norm,
                                                   seen.concepts, concepts), seen.lang)
                analyses.append(MessageAnalysis(index, seen.lang, found_hits + framed,
                                                indicators, norm.text,
                                                state.burst[-1].concepts(), seen.tokens))
                flat += 1
            out.append(tuple(analyses))
        return out

    def frame_state(self) -> frames.FrameState:
        """A new conversation's frame state (the monitor keeps one per conversation)."""
        return frames.FrameState(self._plan)

    def frame_hits(self, found: Sequence[frames.FrameHit],
                   lang: str | None) -> tuple[SignalHit, ...]:
        """Frame parts as signal hits (a part may lie in an earlier message of the burst:
        its span is in that message, the hit is reported with this one)."""
        return tuple(SignalHit(h.signal, self._categories[h.signal], h.message_index, h.start,
                               h.end, h.text, lang or "und", FRAME_PREFIX + h.frame_id)
                     for h in found)

    def _hits(self, found: Sequence[tuple[str, Match]], text: str,
              index: int) -> tuple[SignalHit, ...]:
        """The hits of one message; the same span found by two languages (an undecided
        message) counts once."""
        if not found:
            return ()
        seen: set[tuple[str, int, int]] = set()
        unique: list[SignalHit] = []
        for pack, m in sorted(found, key=lambda f: (f[1].start, f[1].end, f[1].signal, f[0])):
            if (m.signal, m.start, m.end) not in seen:
                seen.add((m.signal, m.start, m.end))
                unique.append(SignalHit(m.signal, self._categories[m.signal], index, m.start,
                                        m.end, text[m.start:m.end], pack, m.rule_id))
        return tuple(unique)


@cache
def default_analyzer() -> Analyzer:
    """The analyzer of the shipped rules (one per process: its components are shared)."""
    return Analyzer()
