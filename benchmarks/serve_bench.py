"""Load test of the HTTP service (``sextortion_signals.serve``) over loopback.

    python benchmarks/serve_bench.py            # full run -> benchmarks/SERVE_RESULTS.md
    python benchmarks/serve_bench.py --smoke    # tiny sizes -> benchmarks/_work/

Starts uvicorn (``serve.run``) on 127.0.0.1 on a free port in a subprocess, then sends
``--requests`` POST /score requests of one synthetic conversation each from
``--clients`` concurrent clients (threads, one keep-alive ``http.client`` connection
each) on the same machine, and reports throughput and latency percentiles. The same
conversations are also scored in this process without HTTP, for the cost of the service
layer. Nothing leaves the machine; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only
SCENARIOS = {"score": "/score", "score_contributions": "/score?contributions=true"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def bodies(n: int) -> list[bytes]:
    """``n`` request bodies, one synthetic conversation each (EN+FR, as in ``run.py``)."""
    from sextortion_signals.synth import generate

    return [json.dumps({"id": r["id"], "messages": r["messages"]}, ensure_ascii=False).encode()
            for r in generate(n, seed=99, prefix="bench")]


@contextmanager
def server(port: int, workers: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """uvicorn in a subprocess, stopped (by its own pid) on exit."""
    code = ("from sextortion_signals.serve import run; "
            f"run(host={HOST!r}, port={port}, workers={workers}, log_level='warning')")
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=fh, stderr=fh)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path,
               timeout: float = 180.0) -> float:
    """Seconds until ``/healthz`` answers (the lifespan warm-up loads both pipelines)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return time.perf_counter() - t0
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def load(port: int, path: str, payloads: list[bytes], n: int, clients: int) -> dict[str, Any]:
    """``n`` requests from ``clients`` threads; each keeps one connection open."""
    lock = threading.Lock()
    next_k = 0
    latencies: list[float] = []
    errors: list[str] = []

    def client() -> None:
        nonlocal next_k
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine: list[float] = []
        try:
            while True:
                with lock:
                    k = next_k
                    next_k += 1
                if k >= n:
                    break
                body = payloads[k % len(payloads)]
                t0 = time.perf_counter()
                conn.request("POST", path, body=body,
                             headers={"content-type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                mine.append(time.perf_counter() - t0)
                if resp.status != 200:
                    errors.append(f"{resp.status}: {data[:200]!r}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = [x * 1e3 for x in latencies]
    return {"requests": len(ms), "clients": clients, "seconds": wall,
            "req_per_s": len(ms) / wall, "errors": len(errors), "first_errors": errors[:3],
            "latency_ms": {"p50": percentile(ms, 50), "p90": percentile(ms, 90),
                           "p99": percentile(ms, 99), "max": max(ms),
                           "mean": statistics.fmean(ms)}}


def in_process(payloads: list[bytes], contributions: bool) -> dict[str, Any]:
    """The same work without HTTP: parse, score one conversation, ``to_dict``, dump."""
    import sextortion_signals as ss

    scorer = ss.Scorer()
    for body in payloads:  # warm-up: the same pass, untimed
        scorer.score(json.loads(body)["messages"]).to_dict(contributions=contributions)
    times = []
    for body in payloads:
        t0 = time.perf_counter()
        raw = json.loads(body)
        json.dumps(scorer.score(raw["messages"]).to_dict(contributions=contributions))
        times.append(time.perf_counter() - t0)
    ms = [x * 1e3 for x in times]
    return {"conversations": len(ms), "conv_per_s": len(ms) / sum(times),
            "latency_ms": {"p50": percentile(ms, 50), "p99": percentile(ms, 99)}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    ap.add_argument("--requests", type=int, help="requests per scenario (default 3000; "
                                                 "smoke: 40)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--out", type=Path, help="output folder (default: benchmarks/, smoke: "
                                             "benchmarks/_work/)")
    args = ap.parse_args(argv)
    n = args.requests or (40 if args.smoke else 3_000)
    payloads = bodies(50 if args.smoke else 1_000)
    out = args.out or (HERE / "_work" if args.smoke else HERE)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    scratch = args.out or HERE / "_work"  # the server's log: not a result
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "serve_bench_server.log"
    res: dict[str, Any] = {"smoke": args.smoke, "requests": n, "clients": args.clients,
                           "workers": args.workers, "conversations": len(payloads),
                           "mean_messages": statistics.fmean(
                               len(json.loads(b)["messages"]) for b in payloads),
                           "mean_body_bytes": statistics.fmean(len(b) for b in payloads),
                           "scenarios": {}}
    res["loadavg_start"] = os.getloadavg()[0]
    with server(port, args.workers, log) as proc:
        res["ready_s"] = wait_ready(port, proc, log)
        for name, path in SCENARIOS.items():
            load(port, path, payloads, 10 if args.smoke else 200, args.clients)  # warm-up
            res["scenarios"][name] = load(port, path, payloads, n, args.clients)
    res["in_process"] = {name: in_process(payloads, "contributions" in name)
                         for name in SCENARIOS}
    res["loadavg_end"] = os.getloadavg()[0]
    res["environment"] = environment()
    (out / "SERVE_RESULTS.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    (out / "SERVE_RESULTS.md").write_text(render(res), encoding="utf-8")
    print(render(res))
    return res


def environment() -> dict[str, Any]:
    from importlib.metadata import version

    import sextortion_signals as ss

    return {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
            "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, "
                       f"{platform.processor() or platform.machine()}",
            "python": platform.python_version(), "sextortion_signals": ss.__version__,
            "fastapi": version("fastapi"), "uvicorn": version("uvicorn"),
            "starlette": version("starlette"), "pydantic": version("pydantic")}


def render(r: dict[str, Any]) -> str:
    env = r["environment"]
    lines = [
        "# HTTP service benchmark" + (" (SMOKE: tiny sizes, not meaningful)" if r["smoke"]
                                      else ""),
        "",
        f"Date: {env['date']}  ",
        f"Machine: {env['machine']}  ",
        f"Python {env['python']}, sextortion-signals {env['sextortion_signals']}, FastAPI "
        f"{env['fastapi']}, Starlette {env['starlette']}, uvicorn {env['uvicorn']}, pydantic "
        f"{env['pydantic']}  ",
        f"Load: {r['requests']:,} POST /score requests per scenario, one synthetic "
        f"conversation each ({r['conversations']} distinct, {r['mean_messages']:.1f} messages "
        f"and {r['mean_body_bytes']:,.0f} bytes on average), {r['clients']} concurrent "
        f"keep-alive clients on the same machine over 127.0.0.1, uvicorn with "
        f"{r['workers']} worker process(es). The clients share the machine's CPUs with the "
        f"server. Server ready (warm-up included) after {r['ready_s']:.1f} s. Load average "
        f"(1 min) before and after: {r['loadavg_start']:.1f}, {r['loadavg_end']:.1f}"
        + (" (other work was running: the numbers are noisy)."
           if max(r["loadavg_start"], r["loadavg_end"]) > (os.cpu_count() or 1) / 2 else "."),
        "",
        "| scenario | throughput | p50 | p90 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in r["scenarios"].items():
        lat = s["latency_ms"]
        lines.append(f"| `{SCENARIOS[name]}` | {s['req_per_s']:,.0f} req/s | "
                     f"{lat['p50']:.1f} ms | {lat['p90']:.1f} ms | {lat['p99']:.1f} ms | "
                     f"{lat['max']:.1f} ms | {s['errors']} |")
    lines += ["", "Same conversations without HTTP (one thread: parse, `score`, `to_dict`, "
              "dump):", "", "| scenario | throughput | p50 | p99 | HTTP throughput / this |",
              "|---|---|---|---|---|"]
    for name, s in r["in_process"].items():
        lat = s["latency_ms"]
        ratio = r["scenarios"][name]["req_per_s"] / s["conv_per_s"]
        lines.append(f"| {name} | {s['conv_per_s']:,.0f} conv/s | {lat['p50']:.1f} ms | "
                     f"{lat['p99']:.1f} ms | {ratio:.2f} |")
    lines += ["", "Scoring holds the GIL: with one worker, concurrent requests queue for one "
              "core, so latency under load is roughly clients x service time. More worker "
              "processes (`run(workers=k)`) use more cores.", "",
              "Raw numbers: `SERVE_RESULTS.json` next to this file. Regenerate with "
              "`python benchmarks/serve_bench.py`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
