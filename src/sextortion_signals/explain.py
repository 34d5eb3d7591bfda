"""Where the explanation is built: per-feature contributions with evidence spans, and the
plain-language text a moderator reads. Everything here is plain, serialisable data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .features import evidence_map, feature_table
from .results import Contribution, Evidence, Indicator, SignalHit
from .rules import registry

if TYPE_CHECKING:
    from .model import Model
    from .results import ScoreResult


def _evidence(feature: str, hits: Sequence[SignalHit],
              indicators: Sequence[Indicator]) -> tuple[Evidence, ...]:
    spec = evidence_map().get(feature)
    if spec is None:
        return ()
    out = [Evidence("signal", h.name, h.message_index, h.start, h.end, h.text)
           for h in hits if h.name in spec.signals]
    out += [Evidence("indicator", i.kind, i.message_index, i.start, i.end, i.text)
            for i in indicators if i.kind in spec.indicators]
    return tuple(out)


def build_contributions(model: Model, x: np.ndarray, hits: Sequence[SignalHit],
                        indicators: Sequence[Indicator]) -> dict[str, tuple[Contribution, ...]]:
    table = feature_table()
    out: dict[str, tuple[Contribution, ...]] = {}
    for label, head in model.heads.items():
        contrib = head.weights * x
        total = float(np.abs(contrib).sum()) or 1.0
        items = [Contribution(name, table[name], float(x[j]), float(contrib[j]),
                              float(contrib[j]) / total, _evidence(name, hits, indicators))
                 for j, name in enumerate(model.feature_names) if contrib[j] != 0.0]
        items.sort(key=lambda c: (-abs(c.contribution), c.feature))
        out[label] = tuple(items)
    return out


def explain_text(result: ScoreResult, top: int = 5) -> str:
    lines = [f"Risk level: {result.level.upper()}  ("
             + ", ".join(f"{k} {v:.0%}" for k, v in result.scores.items()) + ")"]
    if result.labels:
        lines.append("Flagged as: " + ", ".join(result.labels))
    for label, items in result.contributions.items():
        raising = [c for c in items if c.contribution > 0][:top]
        lowering = [c for c in items if c.contribution < 0][:2]
        head = result.model.heads[label]
        if result.scores[label] < min(head.review, 0.05) and label not in result.labels:
            continue
        lines.append(f"\n{label}: {result.scores[label]:.0%}")
        for c in raising:
            quote = "; ".join(f'msg {e.message_index}: "{e.text}"' for e in c.evidence[:3])
            lines.append(f"  + {c.share:5.0%}  {c.description}" + (f"  [{quote}]" if quote
                                                                    else ""))
        for c in lowering:
            lines.append(f"  - {abs(c.share):5.0%}  {c.description}")
    if result.signals:
        lines.append("\nTactics seen:")
        seen: dict[str, list[SignalHit]] = {}
        for h in result.signals:
            seen.setdefault(h.name, []).append(h)
        for name, hs in seen.items():
            spec = registry.get(name)
            lines.append(f"  - {name} ({spec.category}): {spec.description} "
                         f"e.g. msg {hs[0].message_index}: \"{hs[0].text}\"")
    if result.level != "low" and "sextortion" in result.labels:
        lines.append("\nVictim guidance: don't pay, stop answering, keep screenshots, block "
                     "and report; talk to a trusted adult.")
    for w in result.warnings:
        lines.append(f"Note: {w}")
    return "\n".join(lines)
