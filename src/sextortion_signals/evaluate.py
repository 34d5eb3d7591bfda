"""Metrics for a model on labelled conversations: ranking, calibration, operating points,
early warning; overall, per language and per category."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .api import Scorer, learned_groups
from .data import Labelled
from .inputs import Conversation, coerce_conversation
from .match.analyze import MessageAnalysis
from .model import Model


@dataclass
class Scored:
    item: Labelled
    conversation: Conversation
    analyses: tuple[MessageAnalysis, ...]
    groups: np.ndarray | None  # learned group probabilities, one row per message
    probs: dict[str, float]


def score_labelled(scorer: Scorer, items: Iterable[Labelled], batch: int = 512,
                   progress: bool = False) -> list[Scored]:
    """Score labelled conversations, keeping their analyses (for early warning)."""
    from tqdm import tqdm

    out: list[Scored] = []
    buf: list[Labelled] = []

    def flush() -> None:
        convs = [coerce_conversation(it.messages, scorer.limits, it.where) for it in buf]
        analysed = scorer.analyzer.analyse(convs)
        groups = learned_groups(scorer.model.lexical, analysed)
        X = np.zeros((len(convs), len(scorer.vectorizer.feature_names)))
        for i, (conv, analyses) in enumerate(zip(convs, analysed, strict=True)):
            g = None if groups is None else groups[i]
            scorer.vectorizer.row(scorer.vectorizer.state(conv, analyses, g), X[i])
        P = scorer.model.probabilities(X)
        for i, (it, conv, analyses, p) in enumerate(zip(buf, convs, analysed, P, strict=True)):
            out.append(Scored(it, conv, analyses, None if groups is None else groups[i],
                              dict(zip(scorer.model.labels, map(float, p), strict=True))))
        buf.clear()

    with tqdm(desc="scoring", unit=" conv", disable=not progress, leave=False) as bar:
        for it in items:
            buf.append(it)
            if len(buf) >= batch:
                flush()
                bar.update(batch)
        if buf:
            n = len(buf)
            flush()
            bar.update(n)
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return float(ece)


def label_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        precision_recall_curve,
        roc_auc_score,
    )

    pred = p >= threshold
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    out: dict[str, Any] = {"n": int(y.size), "positives": pos,
                           "flagged_rate": float(pred.mean()) if y.size else 0.0,
                           "brier": float(brier_score_loss(y, p)) if y.size else None,
                           "ece": expected_calibration_error(y, p) if y.size else None}
    if pos:
        out["recall"] = tp / pos
    if tp + fp:
        out["precision"] = tp / (tp + fp)
    if neg:
        out["fpr"] = fp / neg
    if pos and neg:
        out["pr_auc"] = float(average_precision_score(y, p))
        out["roc_auc"] = float(roc_auc_score(y, p))
        _, recall, thr = precision_recall_curve(y, p)
        # Highest threshold that still reaches 90% recall -> its false-positive rate.
        ok = np.nonzero(recall[:-1] >= 0.9)[0]
        t90 = float(thr[ok[-1]]) if ok.size else float(p.min())
        out["fpr_at_90_recall"] = float(((p >= t90) & (y == 0)).sum() / neg)
    return out


def early_warning_delays(scorer: Scorer, scored: Sequence[Scored], label: str) -> list[int]:
    """Messages between the first risky message and the first alert when the conversation
    is followed message by message (only positives with a known first risky message)."""
    from .features import ConversationState

    head = scorer.model.heads[label]
    j = scorer.model.labels.index(label)
    delays: list[int] = []
    for s in scored:
        fri = s.item.first_risk(label)
        if not s.item.labels.get(label) or fri is None:
            continue
        state = ConversationState()
        n = len(s.analyses)
        for k, (msg, analysis) in enumerate(zip(s.conversation.messages, s.analyses,
                                                strict=True)):
            state.add(analysis, msg.sender, msg.timestamp,
                      None if s.groups is None else s.groups[k])
            if k < fri:
                continue
            x = scorer.vectorizer.row(state)
            if scorer.model.probabilities(x[None, :])[0, j] >= head.alert:
                delays.append(k - fri)
                break
        else:
            delays.append(n - fri)  # never alerted: counted as the whole rest of the chat
    return delays


def all_delays(scorer: Scorer, scored: Sequence[Scored]) -> dict[str, list[int]]:
    """``early_warning_delays`` per label (the costly part of a report: computed once)."""
    return {label: early_warning_delays(scorer, scored, label) for label in scorer.model.labels}


def evaluate(model: Model, items: Iterable[Labelled], *, progress: bool = False,
             early_warning: bool = True) -> dict[str, Any]:
    scorer = Scorer(model)
    scored = score_labelled(scorer, items, progress=progress)
    return report_scored(scorer, scored, all_delays(scorer, scored) if early_warning else None)


def report_scored(scorer: Scorer, scored: Sequence[Scored],
                  delays: Mapping[str, Sequence[int]] | None = None) -> dict[str, Any]:
    """Metrics of scored items; ``delays``: ``all_delays`` (no early warning without)."""
    model = scorer.model
    report: dict[str, Any] = {"n": len(scored), "labels": {}}
    groups: dict[str, dict[str, list[Scored]]] = {"lang": {}, "category": {}}
    for s in scored:
        groups["lang"].setdefault(s.item.lang or "unknown", []).append(s)
        groups["category"].setdefault(s.item.category or "unknown", []).append(s)
    for label, head in model.heads.items():
        y = np.array([s.item.labels[label] for s in scored])
        p = np.array([s.probs[label] for s in scored])
        entry = label_metrics(y, p, head.alert)
        entry["threshold"] = head.alert
        for key, by in groups.items():
            entry[f"by_{key}"] = {
                g: label_metrics(np.array([s.item.labels[label] for s in ss]),
                                 np.array([s.probs[label] for s in ss]), head.alert)
                for g, ss in sorted(by.items())}
        found = delays.get(label) if delays is not None else None
        if found:
            entry["early_warning"] = {"n": len(found),
                                      "median_delay": float(statistics.median(found)),
                                      "mean_delay": float(statistics.fmean(found))}
        report["labels"][label] = entry
    return report


def robustness(model: Model, items: Sequence[Labelled], seed: int = 0) -> dict[str, Any]:
    """Recall at the alert threshold on the positives, as written and under each evasion
    (applied to the messages their writer tagged with a tactic, or to every message of an
    untagged conversation)."""
    from dataclasses import replace

    from .synth.perturb import PERTURBATIONS, perturb_conversation

    scorer = Scorer(model)
    positives = [it for it in items if any(it.labels.values())]

    def recalls(batch: Sequence[Labelled]) -> dict[str, float]:
        scored = score_labelled(scorer, batch)
        out = {}
        for label, head in model.heads.items():
            hits = [s.probs[label] >= head.alert for s in scored if s.item.labels[label]]
            if hits:
                out[label] = sum(hits) / len(hits)
        return out

    report: dict[str, Any] = {"n": len(positives), "as_written": recalls(positives)}
    for name in PERTURBATIONS:
        changed = [replace(it, messages=perturb_conversation(
            {"id": it.id, "messages": it.messages, "tags": it.tags}, name, seed))
            for it in positives]
        report[name] = recalls(changed)
    return report


def peer_metrics(peer: Any, items: Sequence[Labelled]) -> dict[str, Any]:
    """Threshold-free metrics of the TF-IDF peer (it has no calibrated alert threshold)."""
    P = peer.predict_proba(items)
    out: dict[str, Any] = {}
    for label, p in P.items():
        y = np.array([it.labels[label] for it in items])
        m = label_metrics(y, p, 0.5)
        out[label] = {k: m[k] for k in ("pr_auc", "roc_auc", "fpr_at_90_recall") if k in m}
    return out


def evaluate_sources(model_path: str | None, sources: Sequence[str], *,
                     progress: bool | None = None, early_warning: bool = True,
                     perturb: bool = False, plots: str | None = None,
                     peer: Sequence[str] | None = None) -> dict[str, Any]:
    """Evaluate a model (a directory or model file; None: the shipped one) on each source,
    optionally with robustness to evasions, the TF-IDF peer trained on ``peer`` data, and
    PNG plots written into the folder ``plots``."""
    import sys

    from .data import read_labelled
    from .model import default_model, load_model
    from .peer import TfidfPeer

    model = default_model() if model_path is None else load_model(model_path)
    show = sys.stderr.isatty() if progress is None else progress
    fitted = None
    if peer:
        fitted = TfidfPeer().fit([it for src in peer for it in read_labelled(src)])
    reports: dict[str, Any] = {"model": model_path or "shipped", "sources": {}}
    if peer:
        reports["peer_trained_on"] = list(peer)
    for src in sources:
        items = list(read_labelled(src))
        scorer = Scorer(model)
        scored = score_labelled(scorer, items, progress=show)
        delays = all_delays(scorer, scored) if early_warning or plots else None
        report = report_scored(scorer, scored, delays if early_warning else None)
        if perturb:
            report["robustness"] = robustness(model, items)
        if fitted is not None:
            report["peer"] = peer_metrics(fitted, items)
        if plots:
            from .plots import plot_source

            report["plots"] = plot_source(scorer, scored, src, plots, delays)
        reports["sources"][src] = report
    return reports


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:5.1f}%" if pct else f"{value:.3f}"


def format_report(reports: dict[str, Any]) -> str:
    """A plain-text summary of ``evaluate_sources``; the JSON report has everything."""
    lines: list[str] = []
    for src, rep in reports["sources"].items():
        lines.append(f"{src}: {rep['n']} conversations")
        for label, m in rep["labels"].items():
            if not m.get("positives"):
                lines.append(f"  {label:<11} no positives; flagged {_fmt(m['flagged_rate'], True)}"
                             f" at p >= {m['threshold']:.3f}")
            else:
                lines.append(
                    f"  {label:<11} PR-AUC {_fmt(m.get('pr_auc'))}  recall "
                    f"{_fmt(m.get('recall'), True)}  precision {_fmt(m.get('precision'), True)}"
                    f"  FPR {_fmt(m.get('fpr'), True)}  ECE {_fmt(m.get('ece'))}"
                    f"  (alert at p >= {m['threshold']:.3f})")
            peer = rep.get("peer", {}).get(label)
            if peer and "pr_auc" in peer:
                lines.append(f"  {'':<11} peer TF-IDF PR-AUC {_fmt(peer['pr_auc'])}")
            if "early_warning" in m:
                ew = m["early_warning"]
                lines.append(f"  {'':<11} early warning: median {ew['median_delay']:.0f} "
                             f"message(s) after the first risky one (n={ew['n']})")
            for key in ("by_lang", "by_category"):
                parts = []
                for g, gm in m.get(key, {}).items():
                    shown = gm.get("recall") if gm.get("positives") else gm.get("flagged_rate")
                    kind = "recall" if gm.get("positives") else "flagged"
                    parts.append(f"{g} {kind} {_fmt(shown, True).strip()}")
                if parts:
                    lines.append(f"  {'':<11} {key[3:]}: " + ", ".join(parts))
        rob = rep.get("robustness")
        if rob:
            base = rob["as_written"]
            lines.append(f"  robustness (recall change on {rob['n']} positives):")
            for name, rec in rob.items():
                if name in ("n", "as_written"):
                    continue
                lines.append("    " + f"{name:<22}" + "  ".join(
                    f"{label} {100 * (rec[label] - base[label]):+5.1f}" for label in base))
        for path in rep.get("plots", []):
            lines.append(f"  plot: {path}")
    return "\n".join(lines)


def print_report(reports: dict[str, Any]) -> None:
    print(format_report(reports))
