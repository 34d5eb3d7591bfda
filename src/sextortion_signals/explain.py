"""Where the explanation is built: per-feature contributions with evidence spans, and the
plain-language text a moderator reads. Everything here is plain, serialisable data."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from .features import LearnedHit, evidence_map, feature_table
from .results import Contribution, Evidence, Indicator, SignalHit
from .text.normalize import normalize

if TYPE_CHECKING:
    from .model import Model
    from .results import ScoreResult


def pct(p: float) -> str:
    """A probability as a percentage that never rounds to a certainty it is not."""
    if 0.0 < p < 0.005:
        return "<1%"
    if 0.995 <= p < 1.0:
        return ">99%"
    return f"{p:.0%}"


def _learned_evidence(model: Model, learned: Sequence[LearnedHit],
                      texts: Mapping[int, str]) -> dict[str, tuple[Evidence, ...]]:
    """Per group: the words and word pairs that pushed its peak message (lexical.py)."""
    out: dict[str, tuple[Evidence, ...]] = {}
    if model.lexical is None:
        return out
    for hit in learned:
        text = texts.get(hit.message_index)
        if text is None:
            continue
        grams = model.lexical.evidence(normalize(text), hit.group)
        out[hit.group] = tuple(Evidence("learned", hit.group, hit.message_index, g.start,
                                        g.end, g.text) for g in grams)
    return out


def _evidence(feature: str, hits: Sequence[SignalHit], indicators: Sequence[Indicator],
              learned: Mapping[str, tuple[Evidence, ...]]) -> tuple[Evidence, ...]:
    spec = evidence_map().get(feature)
    if spec is None:
        return ()
    out = [Evidence("signal", h.name, h.message_index, h.start, h.end, h.text)
           for h in hits if h.name in spec.signals]
    out += [Evidence("indicator", i.kind, i.message_index, i.start, i.end, i.text)
            for i in indicators if i.kind in spec.indicators]
    out += [e for g in spec.groups for e in learned.get(g, ())]
    return tuple(out)


def build_contributions(model: Model, x: np.ndarray, hits: Sequence[SignalHit],
                        indicators: Sequence[Indicator], learned: Sequence[LearnedHit] = (),
                        texts: Mapping[int, str] | None = None,
                        ) -> dict[str, tuple[Contribution, ...]]:
    """Per label: each non-zero feature's contribution to the calibrated log-odds, with
    the spans it was computed from (a pure function of its inputs)."""
    table = feature_table()
    grams = _learned_evidence(model, learned, texts or {})
    out: dict[str, tuple[Contribution, ...]] = {}
    for label, head in model.heads.items():
        contrib = head.weights * x
        total = float(np.abs(contrib).sum()) or 1.0
        items = [Contribution(name, table[name], float(x[j]), float(contrib[j]),
                              float(contrib[j]) / total,
                              _evidence(name, hits, indicators, grams))
                 for j, name in enumerate(model.feature_names) if contrib[j] != 0.0]
        items.sort(key=lambda c: (-abs(c.contribution), c.feature))
        out[label] = tuple(items)
    return out


@cache
def wording(lang: str) -> dict[str, Any]:
    """The words of explanations in ``lang`` (``wording/<lang>.json``; English otherwise)."""
    folder = resources.files("sextortion_signals") / "wording"
    path = folder / f"{lang}.json"
    if not path.is_file():
        path = folder / "en.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# Reasons that lower a score and mean something to a person; other negative contributions
# (a feature's weight under calibration) are left to the technical breakdown.
_MEANINGFUL_LOWERING = ("age:both_sides_minor", "participants:group_chat")


def _clock(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"\u201c{text if len(text) <= limit else text[:limit - 1] + '…'}\u201d"


def timeline(result: ScoreResult, lang: str) -> list[tuple[int, float | None, list[str]]]:
    """Per message with evidence, in order: (index, time, what happened there)."""
    w = wording(lang)
    events: dict[int, list[str]] = {}
    seen: set[tuple[int, str]] = set()
    for h in result.signals:
        if h.category == "context" or (h.message_index, h.name) in seen:
            continue
        seen.add((h.message_index, h.name))
        events.setdefault(h.message_index, []).append(
            f"{w['signals'].get(h.name, h.name)} {_quote(h.text)}")
    for hit in result.learned:
        if any(e.startswith(w["groups"][hit.group]) for e in events.get(hit.message_index, [])):
            continue
        events.setdefault(hit.message_index, []).append(
            f"{w['groups'][hit.group]} ({pct(hit.probability)})")
    return [(i, result.times.get(i), events[i]) for i in sorted(events)]


def reasons(result: ScoreResult, label: str, lang: str, top: int = 4) -> tuple[list[str],
                                                                                list[str]]:
    """The main reasons raising ``label`` (ranked) and the meaningful ones lowering it."""
    w = wording(lang)
    raising: list[str] = []
    lowering: list[str] = []
    peaks = {h.group: h for h in result.learned}
    for c in result.contributions[label]:
        kind, _, name = c.feature.partition(":")
        if c.contribution > 0 and len(raising) < top:
            if kind == "signal":
                raising.append(w["reasons"]["signal"].format(what=w["signals"].get(name, name)))
            elif kind == "frame":
                raising.append(w["reasons"]["frame"].format(what=w["signals"].get(name, name)))
            elif kind == "learned" and name in peaks:
                hit = peaks[name]
                raising.append(w["reasons"]["learned"].format(
                    n=hit.message_index, what=w["groups"][name], p=pct(hit.probability)))
            elif c.feature in w["reasons"]:
                k = round(c.value * (4 if "sextortion" in c.feature else 3))
                raising.append(w["reasons"][c.feature].format(k=k))
        elif c.contribution < 0 and c.feature in _MEANINGFUL_LOWERING:
            lowering.append(w["reasons"][c.feature])
    return raising, lowering


def explain_text(result: ScoreResult, locale: str | None = None, *,
                 technical: bool = False) -> str:
    """What a moderator reads: the level and probability (once), what happened in order,
    the main reasons, context apart from tactics, and next steps, in the conversation's
    language (or ``locale``'s)."""
    from .guidance import guidance, locale_for

    locale = locale or locale_for(result.lang)
    lang = locale.split("-")[0]
    w = wording(lang)
    label = max(result.labels or result.scores, key=result.scores.__getitem__)
    shown = ", ".join(w["probability"].format(label=w["labels"][k], p=pct(v))
                    for k, v in result.scores.items())
    lines = [f"{w['levels'][result.level]} — {shown}"]
    events = timeline(result, lang)
    if events:
        lines.append(f"\n{w['headings']['what_happened']}:")
        for index, t, what in events:
            when = f" ({w['at'].format(time=_clock(t))})" if t is not None else ""
            lines.append(f"  {w['message'].format(n=index)}{when}: " + "; ".join(what))
    else:
        lines.append(w["headings"]["nothing"])
    if result.level != "low":
        raising, lowering = reasons(result, label, lang)
        if raising:
            lines.append(f"\n{w['headings']['why']} ({w['labels'][label]}):")
            lines.extend(f"  {k}. {r}" for k, r in enumerate(raising, 1))
        if lowering:
            lines.append("  " + w["lowered_by"].format(what="; ".join(lowering)))
    context = [h for h in result.signals if h.category == "context"
               and h.name != "age_disclosure"]
    if context:
        lines.append(f"\n{w['headings']['context']}:")
        quoted: set[tuple[int, str]] = set()
        for h in context:
            if (h.message_index, h.name) not in quoted and len(quoted) < 6:
                quoted.add((h.message_index, h.name))
                lines.append(f"  {w['message'].format(n=h.message_index)}: "
                             f"{w['signals'].get(h.name, h.name)} {_quote(h.text, 30)}")
    if result.level != "low":
        steps = guidance(label, result.level, locale)
        lines.append(f"\n{w['headings']['next_steps']}:")
        lines.extend(f"  - {s.text}" for s in steps.person)
        lines.append(f"\n{w['headings']['moderator']}:")
        lines.extend(f"  - {s.text}" for s in steps.moderator)
    if result.warnings:
        lines.append(f"\n{w['headings']['notes']}:")
        lines.extend(f"  - {x}" for x in result.warnings)
    if technical:
        lines.append("\n" + technical_breakdown(result))
    return "\n".join(lines)


def technical_breakdown(result: ScoreResult, top: int = 8) -> str:
    """The engineers' view: per label, the largest contributions in calibrated log-odds."""
    lines = []
    for label, items in result.contributions.items():
        lines.append(f"{label}: logit {result.logits[label]:+.3f} = intercept "
                     f"{result.intercepts[label]:+.3f} + contributions")
        for c in items[:top]:
            lines.append(f"  {c.contribution:+.3f}  {c.feature} = {c.value:.3f}")
    return "\n".join(lines)
