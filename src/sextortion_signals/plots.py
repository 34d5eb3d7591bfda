"""PNG plots of an evaluation (the ``[plots]`` extra: matplotlib): reliability diagram,
precision-recall curves and early-warning delays, per source."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .api import Scorer
from .errors import SextortionSignalsError
from .evaluate import Scored, early_warning_delays


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SextortionSignalsError("plots need the [plots] extra: pip install "
                                     "'sextortion-signals[plots]'") from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[-60:] or "source"


def plot_source(scorer: Scorer, scored: Sequence[Scored], source: str,
                folder: str | Path) -> list[str]:
    """Write ``<source>_reliability.png``, ``_pr.png`` and ``_early_warning.png`` (the last
    only if some positive has a known first risky message); return their paths."""
    from sklearn.metrics import precision_recall_curve

    plt = _pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = slug(source)
    written: list[str] = []
    labels = scorer.model.labels

    fig, ax = plt.subplots(figsize=(5, 5))
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
    written.append(_save(fig, plt, out / f"{name}_reliability.png"))

    fig, ax = plt.subplots(figsize=(5, 5))
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
    written.append(_save(fig, plt, out / f"{name}_pr.png"))

    delays = {label: early_warning_delays(scorer, scored, label) for label in labels}
    if any(delays.values()):
        fig, ax = plt.subplots(figsize=(6, 4))
        top = max(max(d) for d in delays.values() if d)
        bins = np.arange(0, min(top, 30) + 2) - 0.5
        for label, d in delays.items():
            if d:
                ax.hist(np.minimum(d, 30), bins=bins, alpha=0.6, label=f"{label} (n={len(d)})")
        ax.set(xlabel="messages after the first risky message (30 = 30 or more)",
               ylabel="conversations", title=f"Early warning: {source}")
        ax.legend()
        written.append(_save(fig, plt, out / f"{name}_early_warning.png"))
    return written


def _save(fig: Any, plt: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
