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

from ..indicators import finder
from ..inputs import Conversation
from ..results import Indicator, SignalHit
from ..rules.registry import get, rule_languages
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


class Analyzer:
    """Analyses messages with one ``SignalComponent`` per language (thread-safe)."""

    def __init__(self, languages: Sequence[str] | None = None) -> None:
        self.languages = tuple(languages or rule_languages())
        self.components = {lang: SignalComponent(None, lang=lang) for lang in self.languages}
        self.screen = Screen({lang: c.prefilter for lang, c in self.components.items()},
                             finder())
        self._categories = {r.signal: get(r.signal).category
                            for c in self.components.values() for r in c.rules.rules}

    def analyse(self, conversations: Sequence[Conversation]) -> list[tuple[MessageAnalysis, ...]]:
        """One tuple of analyses per conversation, one analysis per message."""
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
        for conv in conversations:
            analyses = []
            for index in range(conv.offset, conv.offset + len(conv.messages)):
                found_hits = self._hits(hits.get(flat, ()), norms[flat].original, index)
                seen = screened[flat]
                indicators = tuple(find(norms[flat], index, seen.gates)) if seen.gates else ()
                analyses.append(MessageAnalysis(index, seen.lang, found_hits, indicators))
                flat += 1
            out.append(tuple(analyses))
        return out

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
