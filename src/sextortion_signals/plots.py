"""PNG plots of an evaluation (the ``[plots]`` extra: matplotlib): reliability diagram,
precision-recall curves and early-warning delays, per source."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .api import Scorer
from .errors import SextortionSignalsError
from .evaluate import Scored


def _figure(size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure and its axes, drawn without pyplot: no backend is chosen for the process
    (a notebook's interactive plots stay as they are)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SextortionSignalsError("plots need the [plots] extra: pip install "
                                     "'sextortion-signals[plots]'") from None
    fig = Figure(figsize=size)
    return fig, fig.subplots()


def slug(source: str) -> str:
    """A file-name stem for a source: readable, and distinct for distinct sources."""
    readable = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[-60:] or "source"
    return f"{readable}_{hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def plot_source(scorer: Scorer, scored: Sequence[Scored], source: str,
                folder: str | Path,
                delays: Mapping[str, Sequence[int]] | None = None) -> list[str]:
    """Write ``<source>_reliability.png``, ``_pr.png`` and, given ``delays``
    (``evaluate.all_delays``) with some known first risky message, ``_early_warning.png``;
    return their paths."""
    from sklearn.metrics import precision_recall_curve

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = slug(source)
    written: list[str] = []
    labels = scorer.model.labels

    fig, ax = _figure((5, 5))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    edges = np.linspace(0, 1, 11)
    for label in labels:
        y = np.array([s.item.labels[label] for s in scored])
        p = np.array([s.probs[label] for s in scored])
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, 9)
        xs = [p[idx == b].mean() for b in range(10) if (idx == b).any()]
        ys = [y[idx == b].mean() for b in range(10) if (idx == b).any()]
        ax.plot(xs, ys, "o-", label=label)
    ax.set(xlabel="predicted probability", ylabel="observed frequency",
           title=f"Reliability: {source}", xlim=(0, 1), ylim=(0, 1))
    ax.legend()
    written.append(_save(fig, out / f"{name}_reliability.png"))

    fig, ax = _figure((5, 5))
    for label in labels:
        y = np.array([s.item.labels[label] for s in scored])
        if y.min() == y.max():
            continue
        p = np.array([s.probs[label] for s in scored])
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=label)
        alert = scorer.model.heads[label].alert
        flagged = p >= alert
        if flagged.any():
            ax.plot([y[flagged].sum() / y.sum()], [y[flagged].mean()], "k^")
    ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall: {source}",
           xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(title="▲ shipped alert threshold")
    written.append(_save(fig, out / f"{name}_pr.png"))

    if delays and any(delays.values()):
        fig, ax = _figure((6, 4))
        top = max(max(d) for d in delays.values() if d)
        bins = np.arange(0, min(top, 30) + 2) - 0.5
        for label, d in delays.items():
            if d:
                ax.hist(np.minimum(d, 30), bins=bins, alpha=0.6, label=f"{label} (n={len(d)})")
        ax.set(xlabel="messages after the first risky message (30 = 30 or more)",
               ylabel="conversations", title=f"Early warning: {source}")
        ax.legend()
        written.append(_save(fig, out / f"{name}_early_warning.png"))
    return written


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return str(path)
