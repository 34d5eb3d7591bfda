"""Command line: ``sextortion-signals {generate,score,explain,train,evaluate}``.

Files are streamed line by line (memory stays flat); a bad input line is reported on
stderr with its line number and skipped, or stops the run with ``--strict``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

from .errors import OutputExistsError, SextortionSignalsError

EXIT_BAD_INPUT = 2


def _open_in(path: str) -> AbstractContextManager[IO[str]]:
    if path == "-":
        return nullcontext(sys.stdin)  # never close the process's own streams
    p = Path(path)
    if not p.is_file():
        raise SextortionSignalsError(f"no such input file: {p}")
    return p.open(encoding="utf-8", errors="surrogateescape")


def _open_out(path: str | None, force: bool) -> AbstractContextManager[IO[str]]:
    if path is None or path == "-":
        return nullcontext(sys.stdout)
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; pass --force to overwrite")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p.open("w", encoding="utf-8", newline="\n")


def conversation_of(raw: Any) -> tuple[Any, Any]:
    """(id, messages) from one input line: a conversation object with ``messages``, a
    list of messages, a single message object with ``text``, or a bare string."""
    if isinstance(raw, dict) and "messages" in raw:
        return raw.get("id"), raw["messages"]
    if isinstance(raw, dict) and "text" in raw:
        return raw.get("id"), [{k: v for k, v in raw.items() if k != "id"}]
    if isinstance(raw, list | str):
        return None, raw
    raise ValueError("expected an object with 'messages', an object with 'text', a list of "
                     "messages or a string")


def _batches(fh: IO[str], size: int, strict: bool,
             errors: list[int]) -> Iterator[list[tuple[int, Any, Any]]]:
    from .inputs import coerce_conversation

    batch: list[tuple[int, Any, Any]] = []
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            ident, messages = conversation_of(json.loads(line))
            conv = coerce_conversation(messages)
        except (ValueError, TypeError) as err:
            msg = f"line {lineno}: {err}"
            if strict:
                raise SextortionSignalsError(msg + " (stopped: --strict)") from None
            print(f"skipped {msg}", file=sys.stderr)
            errors.append(lineno)
            continue
        batch.append((lineno, ident, conv))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _scorer(model: str | None) -> Any:
    from .api import Scorer
    from .model import load_model

    return Scorer(load_model(model) if model else None)


def _progress(args: argparse.Namespace) -> Any:
    from tqdm import tqdm

    disable = None if args.progress is None else not args.progress  # None: only on a tty
    return tqdm(desc="scoring", unit=" conv", file=sys.stderr, disable=disable)


def cmd_score(args: argparse.Namespace) -> int:
    scorer = _scorer(args.model)
    errors: list[int] = []
    with _open_in(args.input) as fh, _open_out(args.output, args.force) as out, \
            _progress(args) as bar:
        for batch in _batches(fh, args.batch_size, args.strict, errors):
            results = scorer.score_many([conv for _, _, conv in batch])
            for (lineno, ident, _), result in zip(batch, results, strict=True):
                row = {"id": ident if ident is not None else lineno, "line": lineno,
                       **result.to_dict(contributions=args.contributions)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            bar.update(len(batch))
    if errors:
        print(f"{len(errors)} bad line(s) skipped: {errors[:20]}", file=sys.stderr)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    scorer = _scorer(args.model)
    errors: list[int] = []
    with _open_in(args.input) as fh, _open_out(args.output, args.force) as out:
        for batch in _batches(fh, args.batch_size, args.strict, errors):
            for (lineno, ident, _), result in zip(
                    batch, scorer.score_many([c for _, _, c in batch]), strict=True):
                title = f"== {ident if ident is not None else 'line ' + str(lineno)} "
                out.write(title + "=" * max(0, 60 - len(title)) + "\n")
                out.write(result.explain() + "\n\n")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .synth import GenerationConfig, build_corpus, generate, write_jsonl

    langs = tuple(x.strip() for x in args.lang.split(",") if x.strip())
    from .synth.banks import bank_languages

    unknown = [x for x in langs if x not in bank_languages()]
    if unknown:
        raise SextortionSignalsError(f"no phrase bank for {unknown}; available: "
                                     f"{', '.join(bank_languages())}")
    if args.corpus:
        from .synth.splits import DEFAULT_N, DEFAULT_SEED

        manifest = build_corpus(Path(args.corpus), n=args.n or DEFAULT_N,
                                seed=DEFAULT_SEED if args.seed is None else args.seed,
                                langs=langs)
        print(json.dumps(manifest, indent=2))
        return 0
    cfg = GenerationConfig(langs=langs, heldout=args.heldout)
    with _open_out(args.output, args.force) as out:
        count = write_jsonl(generate(1000 if args.n is None else args.n,
                                     seed=args.seed or 0, config=cfg), out)
    print(f"wrote {count} conversations", file=sys.stderr)
    return 0


def _split_valid(items: list[Any], share: float = 0.15) -> tuple[list[Any], list[Any]]:
    import hashlib

    def bucket(it: Any) -> float:
        return int(hashlib.sha256(str(it.id).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return ([it for it in items if bucket(it) >= share],
            [it for it in items if bucket(it) < share])


def cmd_train(args: argparse.Namespace) -> int:
    from .data import read_labelled
    from .evaluate import evaluate
    from .train import TrainConfig, train_model

    out_dir = Path(args.output)
    if (out_dir / "model.json").exists() and not args.force:
        raise OutputExistsError(f"{out_dir}/model.json exists; pass --force to overwrite")
    train = [it for data in args.data for it in read_labelled(data)]
    if args.valid:
        valid = [it for data in args.valid for it in read_labelled(data)]
    else:
        train, valid = _split_valid(train)
    cfg = TrainConfig(seed=args.seed, C=args.C) if args.precision is None else TrainConfig(
        seed=args.seed, C=args.C, alert_precision={"grooming": args.precision,
                                                   "sextortion": args.precision})
    model = train_model(train, valid, cfg)
    for test in args.test or []:
        report = evaluate(model, read_labelled(test), early_warning=True)
        model.metrics.setdefault("tests", {})[Path(test).stem] = report
    path = model.save(out_dir)
    print(f"model written to {path}", file=sys.stderr)
    return 0


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import read_labelled
    from .evaluate import evaluate
    from .model import load_model

    model = load_model(args.model)
    reports = {}
    for data in args.data:
        items: Iterator[Any]
        paths = sorted(Path(data).glob("*.jsonl")) if Path(data).is_dir() else [Path(data)]
        items = (it for p in paths for it in read_labelled(p))
        reports[data] = evaluate(model, items, progress=args.progress is not False,
                                 early_warning=not args.no_early_warning)
    text = json.dumps(reports, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    keys = ("n", "positives", "pr_auc", "roc_auc", "precision", "recall", "fpr",
            "fpr_at_90_recall", "ece", "brier", "flagged_rate")
    for data, report in reports.items():
        print(f"# {data}  ({report['n']} conversations)")
        for label, e in report["labels"].items():
            print(f"  {label}: " + "  ".join(f"{k}={_fmt(e[k])}" for k in keys if k in e))
            if "early_warning" in e:
                print(f"    early warning: median delay {e['early_warning']['median_delay']}"
                      f" messages (n={e['early_warning']['n']})")
            for key in ("by_lang", "by_category"):
                for g, m in e[key].items():
                    print(f"    {key[3:]}={g}: " + "  ".join(
                        f"{k}={_fmt(m[k])}" for k in ("n", "pr_auc", "recall", "fpr",
                                                      "flagged_rate") if k in m))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="sextortion-signals", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common_io(p: argparse.ArgumentParser) -> None:
        p.add_argument("input", nargs="?", default="-", help="JSONL file, or - for stdin")
        p.add_argument("-o", "--output", help="output file (default: stdout)")
        p.add_argument("--model", help="model directory (default: the shipped model)")
        p.add_argument("--strict", action="store_true", help="stop at the first bad line")
        p.add_argument("--batch-size", type=int, default=256)
        p.add_argument("--force", action="store_true", help="overwrite the output file")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: only on a terminal)")

    p = sub.add_parser("score", help="score conversations (JSONL in, JSONL out)")
    common_io(p)
    p.add_argument("--contributions", action=argparse.BooleanOptionalAction, default=True,
                   help="write each feature's contribution (default); --no-contributions "
                        "skips the explanation for pipelines that only route")
    p.set_defaults(func=cmd_score)
    p = sub.add_parser("explain", help="print plain-language explanations")
    common_io(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("generate", help="generate synthetic conversations")
    p.add_argument("--n", type=int, help="conversations (default: 1000; corpus: 20000)")
    p.add_argument("--lang", default="en,fr")
    p.add_argument("--seed", type=int, help="default: 0; corpus: the shipped corpus seed")
    p.add_argument("--heldout", action="store_true", help="draw only held-out families")
    p.add_argument("-o", "--output", help="output JSONL (default: stdout)")
    p.add_argument("--corpus", help="write the full corpus (all splits + MANIFEST.json) here")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="train a model on labelled JSONL or CSV")
    p.add_argument("data", nargs="+")
    p.add_argument("-o", "--output", required=True, help="model directory")
    p.add_argument("--valid", action="append",
                   help="validation data (repeatable; default: 15%% of DATA, by id hash)")
    p.add_argument("--test", action="append", help="also evaluate on this file (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--C", type=float, default=0.3, help="inverse regularisation strength")
    p.add_argument("--precision", type=float, default=None,
                   help="validation precision target of the alert thresholds (default: "
                        "0.95 grooming, 0.98 sextortion)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a model on labelled data")
    p.add_argument("model")
    p.add_argument("data", nargs="+", help="JSONL/CSV files or folders of JSONL")
    p.add_argument("--json", help="also write the full report here")
    p.add_argument("--no-early-warning", action="store_true")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except SextortionSignalsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. piped into head
        return 0


if __name__ == "__main__":
    sys.exit(main())
