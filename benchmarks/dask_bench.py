"""Throughput of ``score_frame`` on Dask: a LocalCluster of 1 worker vs 2 workers.

    python benchmarks/dask_bench.py           # full run -> benchmarks/DASK_RESULTS.md (~5 min)
    python benchmarks/dask_bench.py --smoke   # tiny sizes -> benchmarks/_work/DASK_RESULTS.md

Both clusters (worker processes, one thread each) run in the same process and score the
same messages: short synthetic conversations (1 to 8 messages) whose rows are spread over
the partitions at random. The clusters take turns, round after round, so that a busy spell
of a shared machine hits both rather than one; the 2/1 ratio is given per round too. Two
workloads: the default path (rows tagged, shuffled on the conversation id, then scored) and
``partitioned=True`` on input already split by conversation (scoring alone). The same
conversations scored by ``Scorer.score_many`` in this process (one core, no Dask) are the
reference. Input is persisted on each cluster before timing; workers are warmed up first
(model and spaCy pipelines loaded). Nothing is asserted; numbers are written down.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import pandas as pd

import sextortion_signals as ss
from sextortion_signals.dataframes import score_frame
from sextortion_signals.synth.tables import Conversations, interleaved_rows, short_conversations

HERE = Path(__file__).resolve().parent


def blocks_frame(convs: Conversations, partitions: int) -> dd.DataFrame:
    """Partitions holding whole conversations, rows in order (input for partitioned=True)."""
    size = -(-len(convs) // partitions)
    parts = [pd.DataFrame([{"conversation_id": cid, **m} for cid, msgs in convs[i:i + size]
                           for m in msgs]) for i in range(0, len(convs), size)]
    out: dd.DataFrame = dd.from_map(_identity, parts)
    return out


def _identity(part: pd.DataFrame) -> pd.DataFrame:
    return part


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def _compute(client: distributed.Client, lazy: dd.DataFrame) -> tuple[float, pd.DataFrame]:
    """Seconds to compute ``lazy`` on ``client``'s cluster, and the result."""
    return _timed(lambda: client.compute(lazy).result())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    ap.add_argument("--messages", type=int, default=None, help="messages to score")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    smoke = args.smoke
    n_messages = args.messages or (3_000 if smoke else 100_000)
    rounds = args.rounds or (1 if smoke else 3)
    partitions = 8 if smoke else 32
    warnings.filterwarnings("ignore", message="Sending large graph")
    load_before = os.getloadavg()

    convs = short_conversations(n_messages, seed=7)
    spread = pd.DataFrame(interleaved_rows(convs, seed=8))
    assert len(spread) == n_messages
    warm = spread.head(400)  # EN and FR messages: builds both pipelines on each worker

    scorer = ss.Scorer()
    scorer.score_many([msgs for _, msgs in convs[:200]])  # warm: pipelines built

    clusters: dict[int, tuple[distributed.LocalCluster, distributed.Client]] = {}
    cold: dict[int, float] = {}
    inputs: dict[int, dict[str, dd.DataFrame]] = {}
    try:
        for k in (1, 2):
            cluster = distributed.LocalCluster(n_workers=k, threads_per_worker=1,
                                               processes=True, dashboard_address=":0",
                                               silence_logs=logging.ERROR)
            client = distributed.Client(cluster, set_as_default=False)
            clusters[k] = (cluster, client)
            cold[k], _ = _compute(client, score_frame(dd.from_pandas(warm, npartitions=2 * k,
                                                                     sort=False)))
            spread_dd = client.persist(dd.from_pandas(spread, npartitions=partitions,
                                                      sort=False))
            blocks_dd = client.persist(blocks_frame(convs, partitions))
            with client.as_current():
                distributed.wait([spread_dd, blocks_dd])
            inputs[k] = {"shuffle": spread_dd, "partitioned": blocks_dd}

        times: dict[str, list[float]] = {f"{w}_{k}": [] for w in ("shuffle", "partitioned")
                                         for k in (1, 2)}
        times["in_process"] = []
        n_out: dict[str, int] = {}
        for _ in range(rounds):
            t, _ = _timed(lambda: scorer.score_many([msgs for _, msgs in convs]))
            times["in_process"].append(t)
            for workload in ("shuffle", "partitioned"):
                for k in (1, 2):
                    client = clusters[k][1]
                    lazy = score_frame(inputs[k][workload],
                                       partitioned=workload == "partitioned")
                    t, out = _compute(client, lazy)
                    times[f"{workload}_{k}"].append(t)
                    n_out[f"{workload}_{k}"] = len(out)
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()

    res = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "smoke": smoke,
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("sextortion-signals", "pandas", "dask",
                                                      "distributed")},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "messages": n_messages,
        "conversations": len(convs),
        "partitions": partitions,
        "rounds": rounds,
        "rows_out": n_out,
        "cold_first_call_s": {str(k): v for k, v in cold.items()},
        "times_s": times,
    }
    thr = {key: n_messages / min(ts) for key, ts in times.items()}
    res["throughput_msg_per_s"] = thr
    res["ratio_2_over_1"] = {
        w: {"best": thr[f"{w}_2"] / thr[f"{w}_1"],
            "per_round": [a / b for a, b in zip(times[f"{w}_1"], times[f"{w}_2"],
                                                strict=True)]}
        for w in ("shuffle", "partitioned")}
    work = HERE / "_work" if smoke else HERE
    work.mkdir(exist_ok=True)
    (work / "DASK_RESULTS.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    (work / "DASK_RESULTS.md").write_text(render(res), encoding="utf-8")
    print(render(res))


def render(r: dict[str, Any]) -> str:
    thr = r["throughput_msg_per_s"]
    base = thr["in_process"]

    def row(label: str, key: str, ratio: str) -> str:
        return f"| {label} | {thr[key]:,.0f} msg/s | {thr[key] / base:.2f} x | {ratio} |"

    def rounds(w: str) -> str:
        per = r["ratio_2_over_1"][w]["per_round"]
        return (f"**{r['ratio_2_over_1'][w]['best']:.2f} x** (per round: median "
                f"{statistics.median(per):.2f}, {min(per):.2f}-{max(per):.2f})")

    lines = [
        "# Dask benchmark: 1 worker vs 2 workers" + (
            " (SMOKE: tiny sizes, not meaningful)" if r["smoke"] else ""),
        "",
        f"Date: {r['date']}  ",
        f"Machine: {r['machine']}; load average before {r['load_average_before']}, "
        f"after {r['load_average_after']}  ",
        f"Python {r['python']}, " + ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        + "  ",
        f"Input: {r['messages']:,} messages in {r['conversations']:,} short conversations "
        f"(1-8 messages), {r['partitions']} partitions; LocalCluster worker processes with "
        f"1 thread each; best of {r['rounds']} round(s), clusters taking turns.",
        "",
        "| measure | throughput | vs in-process `score_many` | 2 workers / 1 worker |",
        "|---|---|---|---|",
        row("in-process `Scorer.score_many` (1 core, no Dask)", "in_process", ""),
        row("`score_frame(ddf)`, 1 worker (tag + shuffle + score)", "shuffle_1", ""),
        row("`score_frame(ddf)`, 2 workers (tag + shuffle + score)", "shuffle_2",
            rounds("shuffle")),
        row("`score_frame(ddf, partitioned=True)`, 1 worker (score only)", "partitioned_1",
            ""),
        row("`score_frame(ddf, partitioned=True)`, 2 workers (score only)", "partitioned_2",
            rounds("partitioned")),
        "",
        f"Cold first call (worker loads model and spaCy pipelines; small input): "
        f"1 worker {r['cold_first_call_s']['1']:.1f} s, 2 workers "
        f"{r['cold_first_call_s']['2']:.1f} s.",
        "",
        "On a 2-CPU machine the scheduler, the client and both workers share two cores, so "
        "2/1 stays below 2 x unless other load slowed a 1-worker run (a per-round ratio "
        "above 2 is that). A busy machine (see the load average) lowers every figure; the "
        "per-round ratios show how much the ratio moved.",
        "",
        "Raw numbers: `DASK_RESULTS.json` next to this file. Regenerate with "
        "`python benchmarks/dask_bench.py`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
