"""Throughput, latency, cold start, memory and growth of sextortion-signals.

    python benchmarks/run.py            # full run -> benchmarks/RESULTS.md (~10 min)
    python benchmarks/run.py --smoke    # tiny sizes, CI -> benchmarks/_work/RESULTS.md

Every speed figure is a ratio against baselines measured in the same run on the same
messages: the spaCy floor (blank pipeline + lookup lemmatizer, ``nlp.pipe`` alone) and the
peer a user would pick instead (scikit-learn TF-IDF + LogisticRegression). No timing is
asserted anywhere; the numbers are written down. ``instructions.py`` counts instructions
instead of seconds, for comparing two versions of the code on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _interleaved(fns: list[Callable[[], Any]], repeat: int) -> list[list[float]]:
    """Times of each function in each round, run in turns so that a slow spell of a shared
    machine hits every contender rather than one (ratios are what we report)."""
    rounds: list[list[float]] = []
    for _ in range(repeat):
        times = []
        for fn in fns:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        rounds.append(times)
    return rounds


def _best_interleaved(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Best time of each function over ``_interleaved`` rounds."""
    return [min(column) for column in zip(*_interleaved(fns, repeat), strict=True)]


def _round_ratios(rounds: list[list[float]], base: int, other: int) -> dict[str, float]:
    """Throughput of ``other`` over that of ``base``, within each round: how much the ratio
    moves on this machine (the best-of ratio may pair two different rounds)."""
    ratios = [r[base] / r[other] for r in rounds]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def corpus(n_convs: int, heldout: bool = False) -> list[dict[str, Any]]:
    from sextortion_signals.synth import GenerationConfig, generate
    return list(generate(n_convs, seed=99, config=GenerationConfig(heldout=heldout),
                         prefix="bench"))


def messages_of(rows: list[dict[str, Any]], n: int) -> list[tuple[str, str]]:
    out = [(r["lang"], m["text"]) for r in rows for m in r["messages"]]
    return out[:n]


def floor_runner(msgs: list[tuple[str, str]]) -> Callable[[], None]:
    """spaCy's own blank pipeline + lookup lemmatizer (full spacy-lookups-data table)."""
    import spacy
    by_lang: dict[str, list[str]] = {}
    for lang, text in msgs:
        by_lang.setdefault(lang, []).append(text)
    nlps = {}
    for lang in by_lang:
        nlp = spacy.blank(lang)
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        nlps[lang] = nlp

    def run() -> None:
        for lang, texts in by_lang.items():
            for _ in nlps[lang].pipe(texts, batch_size=512):
                pass
    return run


def peer_runner(train_rows: list[dict[str, Any]], msgs: list[str]) -> Callable[[], None]:
    """The peer a user would pick instead, trained on the same corpus; runs predict_proba."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    texts = ["\n".join(m["text"] for m in r["messages"]) for r in train_rows]
    y = [r["labels"]["sextortion"] for r in train_rows]
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(max_iter=2000, class_weight="balanced"))
    model.fit(texts, y)
    return lambda: model.predict_proba(msgs)


def cold_start() -> dict[str, float]:
    code = ("import time; t0 = time.perf_counter(); import sextortion_signals as ss; "
            "s = ss.Scorer(); t1 = time.perf_counter(); s.score('how old are you'); "
            "s.score(\"t'as quel âge\"); t2 = time.perf_counter(); "
            "print(t1 - t0, t2 - t0)")
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=tempfile.gettempdir()).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    return {"import_and_load_s": min(r[0] for r in runs),
            "first_scores_en_fr_s": min(r[1] for r in runs)}


def stream_memory(n_messages: int, texts: list[str], workdir: Path) -> dict[str, float]:
    path = workdir / f"stream_{n_messages}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n_messages):
            fh.write(json.dumps({"id": i, "text": texts[i % len(texts)]}) + "\n")
    code = ("import resource, sys; from sextortion_signals.cli import main; "
            "rc = main(['score', sys.argv[1], '-o', sys.argv[2], '--force', "
            "'--no-progress', '--batch-size', '512']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    t0 = time.perf_counter()
    scores = workdir / "stream_scores.jsonl"
    out = subprocess.run([sys.executable, "-c", code, str(path), str(scores)],
                         capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    with scores.open(encoding="utf-8") as fh:
        written = sum(1 for _ in fh)
    if written != n_messages:
        raise RuntimeError(f"CLI wrote {written} of {n_messages} results")
    path.unlink()
    scores.unlink()
    return {"messages": n_messages, "peak_rss_mb": int(out.stdout.split()[-1]) / 1024,
            "seconds": elapsed, "msgs_per_s": n_messages / elapsed}


def growth(texts: list[str], sizes: list[int]) -> list[dict[str, float]]:
    import sextortion_signals as ss
    scorer = ss.Scorer(limits=ss.Limits(max_messages=max(sizes)))
    out = []
    for n in sizes:
        conv = [{"sender": "ab"[i % 2], "text": texts[i % len(texts)],
                 "timestamp": 1_700_000_000 + 30 * i} for i in range(n)]
        t = _best(lambda c=conv: scorer.score(c), 3 if n <= 1000 else 1)  # type: ignore[misc]
        out.append({"messages": n, "seconds": t, "us_per_message": 1e6 * t / n})
    return out


def monitor_cost(texts: list[str], sizes: list[int]) -> list[dict[str, float]]:
    """Per-message cost of ``Monitor.update`` late in a conversation of each size, against
    its cost over the first 10 messages: flat if the state is bounded."""
    from sextortion_signals.monitor import Monitor

    out = []
    for n in sizes:
        monitor = Monitor()
        t_head = t_tail = 0.0
        tail = min(200, n)
        for i in range(n):
            message = {"sender": "ab"[i % 2], "text": texts[i % len(texts)],
                       "timestamp": 1_700_000_000 + 30 * i}
            t0 = time.perf_counter()
            monitor.update("c", message)
            dt = time.perf_counter() - t0
            if i < 10:
                t_head += dt
            if i >= n - tail:
                t_tail += dt
        out.append({"messages": n, "first10_us": 1e6 * t_head / 10,
                    "last_us": 1e6 * t_tail / tail})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    args = ap.parse_args()
    smoke = args.smoke
    n_msgs = 2_000 if smoke else 20_000
    repeat = 1 if smoke else 3
    import sextortion_signals as ss
    rows = corpus(600 if smoke else 6_000)
    msgs = messages_of(rows, n_msgs)
    texts = [t for _, t in msgs]
    scorer = ss.Scorer()
    scorer.score_many([[t] for t in texts[:300]])  # warm: pipelines built, caches filled

    res: dict[str, Any] = {"messages": len(texts)}
    singles = [[t] for t in texts]
    # Floor, peer and ours in turns, so that a slow spell of this shared machine hits all.
    convs = [texts[i:i + 20] for i in range(0, len(texts), 20)]
    rounds = _interleaved(
        [floor_runner(msgs), peer_runner(corpus(300 if smoke else 4_000), texts),
         lambda: scorer.score_many(singles), lambda: scorer.score_many(convs)],
        repeat if smoke else 7)
    t_floor, t_peer, t_single, t_conv = (min(c) for c in zip(*rounds, strict=True))
    res["floor_msgs_per_s"] = len(texts) / t_floor
    res["score_many_single_msgs_per_s"] = len(texts) / t_single
    res["score_many_conv20_msgs_per_s"] = len(texts) / t_conv
    res["peer_msgs_per_s"] = len(texts) / t_peer
    res["rounds"] = len(rounds)
    res["single_vs_floor_per_round"] = _round_ratios(rounds, 0, 2)
    res["conv20_vs_floor_per_round"] = _round_ratios(rounds, 0, 3)
    # Laziness: what reading every explanation would add (to_dict with contributions).
    lean, full = _best_interleaved(
        [lambda: [r.to_dict(contributions=False) for r in scorer.score_many(singles)],
         lambda: [r.to_dict() for r in scorer.score_many(singles)]], repeat)
    res["explanations_read_cost"] = full / lean
    lat = []
    for t in texts[: 300 if smoke else 3000]:
        t0 = time.perf_counter()
        scorer.score(t)
        lat.append(time.perf_counter() - t0)
    res["score_latency_ms"] = {"p50": 1e3 * statistics.median(lat),
                               "p99": 1e3 * float(np.percentile(lat, 99))}
    k = min(4, os.cpu_count() or 1)
    big = [[t] for t in texts] * (1 if smoke else 2)
    t1 = _best(lambda: scorer.score_many(big), 1)
    # First call starts the worker processes (each imports and builds its pipelines);
    # later calls reuse them, as a long-running service would.
    first = _best(lambda: scorer.score_many(big, n_jobs=k, batch_size=2_000), 1)
    tk = _best(lambda: scorer.score_many(big, n_jobs=k, batch_size=2_000), 1 if smoke else 2)
    res["n_jobs"] = {"k": k, "speedup": t1 / tk, "first_call_speedup": t1 / first}
    res["cold_start"] = cold_start()
    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    res["stream_memory"] = [stream_memory(n, texts, work)
                            for n in ([2_000, 20_000] if smoke else [100_000, 1_000_000])]
    res["growth"] = growth(texts, [10, 100, 1_000] if smoke else [10, 100, 1_000, 10_000])
    res["monitor"] = monitor_cost(texts, [100, 1_000] if smoke else [100, 1_000, 10_000])
    out = (work if smoke else HERE) / "RESULTS.md"
    out.write_text(render(res, smoke), encoding="utf-8")
    (out.with_suffix(".json")).write_text(json.dumps(res, indent=2) + "\n")
    print(out.read_text())


def _spread(ratios: dict[str, float]) -> str:
    return f"median {ratios['median']:.2f} ({ratios['min']:.2f}-{ratios['max']:.2f})"


def render(r: dict[str, Any], smoke: bool) -> str:
    import sklearn
    import spacy

    import sextortion_signals as ss
    floor, peer_ = r["floor_msgs_per_s"], r["peer_msgs_per_s"]
    one, conv = r["score_many_single_msgs_per_s"], r["score_many_conv20_msgs_per_s"]
    mem = r["stream_memory"]
    g = r["growth"]
    lines = [
        "# Benchmark results" + (" (SMOKE: tiny sizes, not meaningful)" if smoke else ""),
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}  ",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}  ",
        f"Python {platform.python_version()}, spaCy {spacy.about.__version__}, scikit-learn "
        f"{sklearn.__version__}, sextortion-signals {ss.__version__}  ",
        f"Messages: {r['messages']} short chat messages from the synthetic generator "
        "(EN+FR), one core unless stated.",
        "",
        "| measure | value | ratio |",
        "|---|---|---|",
        f"| spaCy floor (blank + lookup lemmatizer, `nlp.pipe`) | {floor:,.0f} msg/s | 1.00 |",
        f"| peer: TF-IDF + LogisticRegression `predict_proba` | {peer_:,.0f} msg/s | "
        f"{peer_ / floor:.2f} x floor |",
        f"| `score_many`, single messages | {one:,.0f} msg/s | **{one / floor:.2f} x floor**, "
        f"{one / peer_:.2f} x peer |",
        f"| same, ratio to the floor within each of {r['rounds']} rounds | | "
        f"{_spread(r['single_vs_floor_per_round'])} |",
        f"| `score_many`, 20-message conversations | {conv:,.0f} msg/s | "
        f"{conv / floor:.2f} x floor |",
        f"| same, ratio to the floor within each round | | "
        f"{_spread(r['conv20_vs_floor_per_round'])} |",
        f"| `score_many` + `to_dict()`: reading every explanation vs none | | "
        f"{r['explanations_read_cost']:.2f} x time |",
        f"| `score()` single message latency | p50 {r['score_latency_ms']['p50']:.2f} ms, "
        f"p99 {r['score_latency_ms']['p99']:.2f} ms | |",
        f"| `score_many(n_jobs={r['n_jobs']['k']})` vs `n_jobs=1`, workers warm | | "
        f"{r['n_jobs']['speedup']:.2f} x |",
        f"| same, first call (starts the worker processes) | | "
        f"{r['n_jobs']['first_call_speedup']:.2f} x |",
        f"| cold start: import + default model load | "
        f"{r['cold_start']['import_and_load_s']:.2f} s | |",
        f"| cold start + first EN and FR scores (builds both pipelines) | "
        f"{r['cold_start']['first_scores_en_fr_s']:.2f} s | |",
    ]
    for m in mem:
        lines.append(f"| CLI `score` streaming {m['messages']:,} messages: peak RSS | "
                     f"{m['peak_rss_mb']:.0f} MB ({m['msgs_per_s']:,.0f} msg/s end to end) | "
                     f"{m['peak_rss_mb'] / mem[0]['peak_rss_mb']:.2f} x smallest |")
    for x in g:
        lines.append(f"| one conversation of {x['messages']:,} messages | "
                     f"{x['seconds'] * 1e3:.1f} ms ({x['us_per_message']:.0f} us/msg) | "
                     f"{x['us_per_message'] / g[0]['us_per_message']:.2f} x per-message cost "
                     f"at {g[0]['messages']} |")
    for x in r["monitor"]:
        lines.append(f"| `Monitor.update`, last messages of a {x['messages']:,}-message "
                     f"conversation | {x['last_us']:.0f} us/msg | "
                     f"{x['last_us'] / x['first10_us']:.2f} x its first 10 messages |")
    lines += ["", "Raw numbers: `RESULTS.json` next to this file. Regenerate with "
              "`python benchmarks/run.py`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
