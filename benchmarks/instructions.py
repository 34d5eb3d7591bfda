"""Instructions per message, counted by valgrind's callgrind: floor vs ``score_many``.

    python benchmarks/instructions.py               # -> benchmarks/INSTRUCTIONS.md (~30 min)
    python benchmarks/instructions.py --messages 500 --out /tmp/i.md   # shorter passes

Most of the time is set-up under valgrind (the floor imports spaCy's French module), so
fewer messages save little.

Timings on a shared machine move by a third from one minute to the next (see the
per-round ratios in RESULTS.md); instruction counts move far less: the same code and input
gave stage counts within ~4% of each other across runs (not equal, probably because some
hashing depends on memory addresses). That makes this the measure to compare two versions of the
code with, for changes larger than that. It is not the goal's measure (seconds): our
Python runs fewer instructions per cycle than spaCy's compiled tokenizer, so the ratio in
instructions is higher than the ratio in time.

Each contender runs in its own process under callgrind, once with ``--reps 0`` (imports,
set-up, one warm-up pass) and once with ``--reps 2``; the difference, divided by twice the
number of messages, is the cost per message of a warm pass. ``PYTHONHASHSEED`` is fixed
so that string hashing repeats. Needs valgrind on ``PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENDERS = ("floor", "single", "conv20")
_COLLECTED = re.compile(r"Collected : (\d+)")


def child(contender: str, messages_file: Path, reps: int) -> None:
    """One pass to warm up, then ``reps`` passes: what callgrind counts."""
    msgs = [(lang, text) for lang, text in json.loads(messages_file.read_text("utf-8"))]
    texts = [text for _, text in msgs]
    if contender == "floor":
        sys.path.insert(0, str(HERE))
        from run import floor_runner
        run = floor_runner(msgs)
    else:
        import sextortion_signals as ss
        scorer = ss.Scorer()
        items = ([[t] for t in texts] if contender == "single"
                 else [texts[i:i + 20] for i in range(0, len(texts), 20)])

        def run() -> None:
            scorer.score_many(items)
    for _ in range(reps + 1):
        run()


def count(contender: str, messages_file: Path, reps: int) -> int:
    """Instructions callgrind counts for one child process."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           __file__, "--child", contender, "--messages-file", str(messages_file),
           "--reps", str(reps)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run of {contender!r} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_message(contender: str, messages_file: Path, n: int) -> float:
    return (count(contender, messages_file, 2) - count(contender, messages_file, 0)) / (2 * n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5_000)
    ap.add_argument("--out", type=Path, default=HERE / "INSTRUCTIONS.md")
    ap.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--messages-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.messages_file, args.reps)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on PATH (Debian: apt-get install valgrind)")
    sys.path.insert(0, str(HERE))
    from run import corpus, messages_of  # the messages of benchmarks/run.py

    msgs = messages_of(corpus(6_000), args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        messages_file = Path(tmp) / "messages.json"
        messages_file.write_text(json.dumps(msgs), encoding="utf-8")
        res = {c: per_message(c, messages_file, len(msgs)) for c in CONTENDERS}
    args.out.write_text(render(res, len(msgs)), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))


def render(res: dict[str, float], n: int) -> str:
    import sextortion_signals as ss
    floor = res["floor"]
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    return "\n".join([
        "# Instructions per message (callgrind)",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}  ",
        f"Machine: {platform.platform()}, {platform.machine()}; {version}  ",
        f"Python {platform.python_version()}, sextortion-signals {ss.__version__}  ",
        f"Messages: the first {n:,} of `benchmarks/run.py`'s, warm passes, "
        "`PYTHONHASHSEED=0`.",
        "",
        "| contender | instructions per message | floor / contender |",
        "|---|---|---|",
        f"| spaCy floor (blank + lookup lemmatizer, `nlp.pipe`) | {floor:,.0f} | 1.00 |",
        f"| `score_many`, single messages | {res['single']:,.0f} | "
        f"{floor / res['single']:.2f} |",
        f"| `score_many`, 20-message conversations | {res['conv20']:,.0f} | "
        f"{floor / res['conv20']:.2f} |",
        "",
        "Counts of the same code and input vary by a few percent between runs. Regenerate "
        "with `python benchmarks/instructions.py`.",
    ]) + "\n"


if __name__ == "__main__":
    main()
