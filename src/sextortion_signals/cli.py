"""sextortion-signals: detect grooming and sextortion tactics in chat conversations.

Exit codes: 0 success; 2 bad usage or bad input (the message says what to fix); 3 some
input lines were skipped (more than --max-bad allows; each is named on stderr);
130 interrupted.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

from .errors import OutputExistsError, SextortionSignalsError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_SKIPPED = 3
EXIT_INTERRUPTED = 130
MAX_LINE_BYTES = 10_000_000

INPUT_HELP = """input: JSON Lines, one conversation per line, UTF-8 (with or without a BOM):
  {"id": "c1", "messages": [{"sender": "a", "text": "...", "timestamp": "2026-03-01T21:02:00Z"}]}
  {"id": "m7", "text": "one message"}      a single message (other keys are kept as metadata)
  ["first message", "second message"]     a list of messages
  "a message"                              a JSON string
or, with --format text, one plain-text message per line."""


class _Skips:
    """Lines left out, named on stderr as they happen and counted for the exit code."""

    def __init__(self, max_bad: int) -> None:
        self.max_bad = max_bad
        self.lines: list[int] = []

    def skip(self, lineno: int, reason: str) -> None:
        self.lines.append(lineno)
        print(f"skipped line {lineno}: {reason}", file=sys.stderr)

    def summary(self) -> int:
        if not self.lines:
            return EXIT_OK
        shown = ", ".join(map(str, self.lines[:20])) + (" ..." if len(self.lines) > 20 else "")
        print(f"{len(self.lines)} line(s) skipped: {shown}", file=sys.stderr)
        if len(self.lines) > self.max_bad:
            print(f"exit {EXIT_SKIPPED}: more lines skipped than --max-bad {self.max_bad} "
                  f"allows", file=sys.stderr)
            return EXIT_SKIPPED
        return EXIT_OK


def _decode(raw: bytes, encoding: str, lineno: int) -> str:
    if lineno == 1 and raw.startswith(codecs.BOM_UTF8) and encoding.lower() in (
            "utf-8", "utf8", "utf-8-sig"):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        hint = ("it looks like UTF-16: convert it, or pass --encoding utf-16"
                if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4]
                else "pass --encoding (e.g. latin-1, cp1252) or convert the file to UTF-8")
        raise SextortionSignalsError(
            f"line {lineno}: not {encoding} (byte {raw[err.start]:#04x} at column "
            f"{err.start + 1}); {hint}") from None


def _lines(fh: IO[bytes], encoding: str, skips: _Skips) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a binary stream; over-long lines are skipped, named."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise SextortionSignalsError(f"unknown --encoding {encoding!r}; e.g. utf-8, latin-1, "
                                     f"cp1252, utf-16") from None
    if codec.startswith(("utf-16", "utf-32")):  # newlines are not single bytes
        yield from _wide_lines(fh, encoding, skips)
        return
    lineno = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # drain the rest of the line
                raw = fh.readline(MAX_LINE_BYTES + 1)
            skips.skip(lineno, f"longer than {MAX_LINE_BYTES:,} bytes")
            continue
        if lineno == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff") and codec == "utf-8":
            raise SextortionSignalsError("the input is UTF-16 (it starts with a UTF-16 byte-"
                                         "order mark); pass --encoding utf-16 or convert it")
        yield lineno, _decode(raw, encoding, lineno)


def _wide_lines(fh: IO[bytes], encoding: str, skips: _Skips) -> Iterator[tuple[int, str]]:
    import io

    text = io.TextIOWrapper(fh, encoding=encoding, newline=None)
    lineno = 0
    try:
        while True:
            try:
                line = text.readline(MAX_LINE_BYTES + 1)
            except UnicodeDecodeError as err:
                raise SextortionSignalsError(f"line {lineno + 1}: not {encoding} ({err.reason})"
                                             ) from None
            if not line:
                return
            lineno += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
                while line and not line.endswith("\n"):
                    line = text.readline(MAX_LINE_BYTES + 1)
                skips.skip(lineno, f"longer than {MAX_LINE_BYTES:,} characters")
                continue
            yield lineno, line
    finally:
        text.detach()  # the caller closes the underlying stream


def conversation_of(raw: Any) -> tuple[Any, Any, dict[str, Any] | None]:
    """(id, conversation, metadata) from one parsed input line."""
    if isinstance(raw, dict) and "messages" in raw:
        extra = {k: v for k, v in raw.items() if k not in ("id", "messages")}
        return raw.get("id"), raw, extra or None
    if isinstance(raw, dict) and "text" in raw:
        message = {k: raw[k] for k in ("text", "sender", "timestamp") if k in raw}
        extra = {k: v for k, v in raw.items() if k not in ("id", "text", "sender", "timestamp")}
        return raw.get("id"), [message], extra or None
    if isinstance(raw, list | str):
        return None, raw, None
    raise ValueError("expected an object with 'messages', an object with 'text', a list of "
                     "messages or a string")


# One input line, read and checked: (line number, id, conversation, metadata).
Item = tuple[int, Any, Any, dict[str, Any] | None]


def _read(args: argparse.Namespace, fh: IO[bytes], skips: _Skips) -> Iterator[list[Item]]:
    """Batches of (line, id, conversation, metadata); bad lines skipped and named (or,
    with --strict, the run stops after writing what came before)."""
    from .inputs import Limits, coerce_conversation

    limits = Limits()
    batch: list[Item] = []
    try:
        for lineno, line in _lines(fh, args.encoding, skips):
            if not line.strip():
                continue
            try:
                if args.format == "text":
                    ident, conv, meta = None, line.rstrip("\r\n"), None
                else:
                    try:
                        parsed = json.loads(line)
                    except RecursionError:
                        raise ValueError("nested too deeply") from None
                    except json.JSONDecodeError as err:
                        hint = ("" if line.lstrip()[:1] in "{[\""
                                else "; for plain-text lines pass --format text")
                        raise ValueError(f"not JSON ({err.msg}){hint}") from None
                    ident, conv, meta = conversation_of(parsed)
                checked = coerce_conversation(conv, limits)
            except (ValueError, TypeError) as err:
                if args.strict:
                    if batch:
                        yield batch
                        batch = []
                    raise SextortionSignalsError(f"line {lineno}: {err} (stopped: --strict)"
                                                 ) from None
                skips.skip(lineno, str(err))
                continue
            batch.append((lineno, ident, checked, meta))
            if len(batch) >= args.batch_size:
                yield batch
                batch = []
    except SextortionSignalsError:
        if batch:  # what came before an unreadable line is written before the run stops
            yield batch
        raise
    if batch:
        yield batch


def _open_in(path: str) -> AbstractContextManager[IO[bytes]]:
    if path == "-":
        return nullcontext(sys.stdin.buffer)
    p = Path(path)
    if p.is_dir():
        raise SextortionSignalsError(f"{p} is a folder: name a file, or - for stdin")
    if not p.is_file():
        raise SextortionSignalsError(f"no such input file: {p}")
    return p.open("rb")


def _check_output(p: Path, force: bool, source: str | None) -> None:
    """Refuse to overwrite the input, or an existing file without ``--force``."""
    if source and source != "-" and p.exists() and Path(source).exists() and p.samefile(source):
        raise SextortionSignalsError(f"{p} is also the input: write the output elsewhere")
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; pass --force to overwrite")


def _open_out(path: str | None, force: bool, source: str | None = None,
              ) -> AbstractContextManager[IO[str]]:
    if path is None or path == "-":
        return nullcontext(sys.stdout)
    p = Path(path)
    _check_output(p, force, source)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        return p.open("w", encoding="utf-8", newline="\n")
    except OSError as err:
        raise SextortionSignalsError(f"cannot write {p}: {err.strerror or err}") from None


def _json(row: dict[str, Any]) -> str:
    text = json.dumps(row, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in an id or a metadata value
        text = json.dumps(row, ensure_ascii=True)
    return text


def _scorer(model: str | None) -> Any:
    from .api import Scorer
    from .model import load_model

    return Scorer(load_model(model) if model else None)


def _progress(args: argparse.Namespace, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, unit=" conv", file=sys.stderr,
                disable=not sys.stderr.isatty() if args.progress is None else not args.progress)


def _scored(scorer: Any, batch: list[Item], skips: _Skips) -> list[tuple[Item, Any]]:
    """(item, result) for each line of a batch. Should scoring the batch fail in a way no
    check foresaw, each line is scored alone so that one line cannot lose the others; a
    line that still fails is skipped and named."""
    try:
        results = scorer.score_many([conv for _, _, conv, _ in batch])
        return list(zip(batch, results, strict=True))
    except MemoryError:
        raise
    except Exception as batch_error:  # a library bug must not cost the other lines
        print(f"scoring lines {batch[0][0]}-{batch[-1][0]} together failed "
              f"({type(batch_error).__name__}: {batch_error}); scoring them one by one; "
              f"please report this", file=sys.stderr)
        out = []
        for item in batch:
            try:
                out.append((item, scorer.score(item[2])))
            except Exception as err:
                skips.skip(item[0], f"could not be scored ({type(err).__name__}: {err}); "
                                    "please report this line")
        return out


def cmd_score(args: argparse.Namespace) -> int:
    scorer = _scorer(args.model)
    skips = _Skips(args.max_bad)
    with _open_in(args.input) as fh, _open_out(args.output, args.force, args.input) as out, \
            _progress(args, "scoring") as bar:
        for batch in _read(args, fh, skips):
            for (lineno, ident, _, meta), result in _scored(scorer, batch, skips):
                row = {"id": ident if ident is not None else lineno, "line": lineno,
                       **({"metadata": meta} if meta else {}),
                       **result.to_dict(contributions=args.contributions,
                                        guidance=args.locale or True)}
                out.write(_json(row) + "\n")
            bar.update(len(batch))
    return skips.summary()


def cmd_explain(args: argparse.Namespace) -> int:
    scorer = _scorer(args.model)
    skips = _Skips(args.max_bad)
    with _open_in(args.input) as fh, _open_out(args.output, args.force, args.input) as out, \
            _progress(args, "explaining") as bar:
        for batch in _read(args, fh, skips):
            for (lineno, ident, _, _), result in _scored(scorer, batch, skips):
                title = f"== {ident if ident is not None else 'line ' + str(lineno)} "
                out.write(title + "=" * max(0, 70 - len(title)) + "\n")
                out.write(result.explain(args.locale, technical=args.technical) + "\n\n")
            bar.update(len(batch))
    return skips.summary()


def cmd_watch(args: argparse.Namespace) -> int:
    from .model import load_model
    from .monitor import Monitor

    monitor = Monitor(load_model(args.model) if args.model else None)
    if args.state and Path(args.state).is_file():
        monitor.loads(Path(args.state).read_text(encoding="utf-8"))
    skips = _Skips(args.max_bad)
    try:
        with _open_in(args.input) as fh, _open_out(args.output, args.force, args.input) as out:
            for lineno, line in _lines(fh, args.encoding, skips):
                if not line.strip():
                    continue
                try:
                    try:
                        raw = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise ValueError(f"not JSON ({err.msg})") from None
                    if not isinstance(raw, dict) or not isinstance(raw.get("conversation_id"), str):
                        raise ValueError("expected an object with 'conversation_id' (a string) and "
                                         "'text'")
                    cid = raw["conversation_id"]
                    message = {k: v for k, v in raw.items() if k != "conversation_id"}
                    update = monitor.update(cid, message)
                except (ValueError, TypeError, RecursionError) as err:
                    skips.skip(lineno, str(err) or type(err).__name__)
                    continue
                if update.alerts or args.all:
                    row = {"conversation_id": cid, "message_index": update.message_index,
                           "line": lineno, "alerts": [a.to_dict() for a in update.alerts],
                           "scores": dict(update.result.scores), "level": update.result.level}
                    out.write(_json(row) + "\n")
                    out.flush()
    finally:  # open conversations survive an interrupt or an unreadable line
        if args.state:
            Path(args.state).write_text(monitor.dumps(), encoding="utf-8")
    return skips.summary()


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    if not args.output or args.output == "-":
        raise SextortionSignalsError("the report is one HTML file: name it with -o, e.g. "
                                     "-o report.html")
    out = Path(args.output)
    _check_output(out, args.force, args.input)
    scorer = _scorer(args.model)
    skips = _Skips(args.max_bad)
    items = []
    with _open_in(args.input) as fh:
        for batch in _read(args, fh, skips):
            for (lineno, ident, conv, _), result in _scored(scorer, batch, skips):
                # The checked conversation: message numbers stay those of the result.
                items.append((str(ident if ident is not None else f"line {lineno}"), conv,
                              result))
    path = write_report(items, out, locale=args.locale)
    print(f"report of {len(items)} conversation(s) written to {path}", file=sys.stderr)
    return skips.summary()


def cmd_generate(args: argparse.Namespace) -> int:
    from .synth import GenerationConfig, build_corpus, generate, write_jsonl
    from .synth.banks import bank_languages

    langs = tuple(x.strip() for x in args.lang.split(",") if x.strip())
    if args.n is not None and args.n < 1:
        raise SextortionSignalsError(f"--n must be at least 1, got {args.n}")
    unknown = [x for x in langs if x not in bank_languages()]
    if unknown:
        raise SextortionSignalsError(f"no phrase bank for {unknown}; available: "
                                     f"{', '.join(bank_languages())}")
    if args.corpus:
        from .synth.splits import DEFAULT_N, DEFAULT_SEED

        target = Path(args.corpus)
        if (target / "MANIFEST.json").exists() and not args.force:
            raise OutputExistsError(f"{target} already holds a corpus; pass --force to "
                                    f"overwrite it")
        manifest = build_corpus(target, n=args.n or DEFAULT_N,
                                seed=DEFAULT_SEED if args.seed is None else args.seed,
                                langs=langs)
        print(json.dumps(manifest, indent=2))
        return EXIT_OK
    cfg = GenerationConfig(langs=langs, heldout=args.heldout)
    with _open_out(args.output, args.force) as out:
        count = write_jsonl(generate(1000 if args.n is None else args.n,
                                     seed=args.seed or 0, config=cfg), out)
    print(f"wrote {count} conversations", file=sys.stderr)
    return EXIT_OK


def _split_valid(items: list[Any], share: float = 0.15) -> tuple[list[Any], list[Any]]:
    import hashlib

    def bucket(it: Any) -> float:
        return int(hashlib.sha256(str(it.id).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return ([it for it in items if bucket(it) >= share],
            [it for it in items if bucket(it) < share])


def _refuse_test_split(paths: Sequence[str]) -> None:
    for path in paths:
        if str(path).rstrip("/").endswith(":test"):
            raise SextortionSignalsError(f"{path}: the test split is for evaluation only; train "
                                         f"on :train and validate on :validation")


def cmd_train(args: argparse.Namespace) -> int:
    import warnings

    from .data import read_labelled
    from .evaluate import evaluate
    from .train import TrainConfig, train_model

    out_dir = Path(args.output)
    if (out_dir / "model.json").exists() and not args.force:
        raise OutputExistsError(f"{out_dir}/model.json exists; pass --force to overwrite")
    _refuse_test_split([*args.data, *(args.valid or []), *(args.augment or [])])
    train = [it for data in args.data for it in read_labelled(data)]
    augment = [it for data in args.augment or [] for it in read_labelled(data)]
    if args.valid:
        valid = [it for data in args.valid for it in read_labelled(data)]
    else:
        train, valid = _split_valid(train)
    cfg = TrainConfig(seed=args.seed, C=args.C) if args.precision is None else TrainConfig(
        seed=args.seed, C=args.C, alert_precision={"grooming": args.precision,
                                                   "sextortion": args.precision})
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *a, **k: print(f"warning: {message}",
                                                              file=sys.stderr)
        model = train_model(train, valid, cfg, augment)
    for test in args.test or []:
        report = evaluate(model, read_labelled(test), early_warning=True)
        model.metrics.setdefault("tests", {})[Path(test).stem] = report
    path = model.save(out_dir)
    print(f"model written to {path}", file=sys.stderr)
    for label, head in model.heads.items():
        m = model.metrics["validation"][label]["valid"]
        print(f"  {label}: alert at p >= {head.alert:.3f}; validation PR-AUC "
              f"{m.get('pr_auc', float('nan')):.3f}, precision {m.get('precision', 0):.3f}, "
              f"recall {m.get('recall', 0):.3f}", file=sys.stderr)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_sources, print_report

    model = None if args.model == "shipped" else args.model
    reports = evaluate_sources(model, args.data, progress=args.progress,
                               early_warning=not args.no_early_warning,
                               perturb=args.perturb, plots=args.plots, peer=args.peer)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
    print_report(reports)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .serve import run
    except ImportError as err:
        raise SextortionSignalsError(f"the service needs the [serve] extra: pip install "
                                     f"'sextortion-signals[serve]' ({err})") from None
    run(host=args.host, port=args.port, model_path=args.model, max_batch=args.max_batch)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sextortion-signals",
        description="Detect grooming of minors and sextortion in chat conversations, and "
                    "explain why.",
        epilog="Exit codes: 0 success, 2 bad usage or input, 3 input lines skipped beyond "
               "--max-bad, 130 interrupted. 'sextortion-signals COMMAND --help' shows the "
               "input format and an example.")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    def lines_read(p: argparse.ArgumentParser) -> None:
        """How input lines are decoded and how many bad ones a run may skip."""
        p.add_argument("--encoding", default="utf-8",
                       help="input encoding (default: utf-8, with or without a BOM)")
        p.add_argument("--max-bad", type=int, default=0, metavar="N",
                       help="exit 0 even if up to N lines are skipped (default: 0)")

    def reading(p: argparse.ArgumentParser, force_help: str = "overwrite the output file") -> None:
        p.add_argument("input", nargs="?", default="-", help="input file, or - for stdin")
        p.add_argument("-o", "--output", help="output file (default: stdout)")
        p.add_argument("--model", help="model directory (default: the shipped model)")
        p.add_argument("--format", choices=("jsonl", "text"), default="jsonl",
                       help="input format (default: jsonl)")
        lines_read(p)
        p.add_argument("--strict", action="store_true",
                       help="stop at the first bad line (after writing the lines before it)")
        p.add_argument("--batch-size", type=int, default=256)
        p.add_argument("--locale", help="language and region of explanations and guidance, "
                                        "e.g. en-GB, fr-FR (default: from the conversation)")
        p.add_argument("--force", action="store_true", help=force_help)
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: only on a terminal)")

    p = sub.add_parser("score", help="score conversations (JSONL in, JSONL out)",
                       formatter_class=fmt, description="Score each input line; write one "
                       "JSON result per line (schema: schemas/score_result.schema.json).\n\n"
                       + INPUT_HELP + "\n\nexample:\n  echo '{\"id\": 1, \"text\": \"i have "
                       "your pics, pay 50$ now\"}' | sextortion-signals score")
    reading(p)
    p.add_argument("--contributions", action=argparse.BooleanOptionalAction, default=True,
                   help="write each feature's contribution (default); --no-contributions "
                        "for pipelines that only route")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("explain", help="plain-language explanations", formatter_class=fmt,
                       description="Explain each input line for a moderator, in the "
                       "conversation's language.\n\n" + INPUT_HELP + "\n\nexample:\n  "
                       "sextortion-signals explain datasets/examples/conversations.jsonl")
    reading(p)
    p.add_argument("--technical", action="store_true",
                   help="add the per-feature breakdown (calibrated log-odds)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("watch", help="follow a live stream of messages and print alerts",
                       formatter_class=fmt, description="Read a JSONL stream of messages, "
                       "one per line: {\"conversation_id\": \"c1\", \"sender\": \"a\", \"text\": "
                       "\"...\", \"timestamp\": \"...\"}; write an alert line when a "
                       "conversation first crosses a threshold or its level rises.\n\nexample:"
                       "\n  tail -f messages.jsonl | sextortion-signals watch")
    p.add_argument("input", nargs="?", default="-", help="input file, or - for stdin")
    p.add_argument("-o", "--output", help="output file (default: stdout)")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    lines_read(p)
    p.add_argument("--all", action="store_true", help="write every update, not only alerts")
    p.add_argument("--state", help="JSON file to restore open conversations from and save "
                                   "them to when the run ends (interrupted or not)")
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("report", help="self-contained HTML report for analysts",
                       formatter_class=fmt, description="Score the input and write one HTML "
                       "file (no network needed): a queue sorted by risk, each conversation "
                       "with its tactics highlighted, timeline, reasons and guidance.\n\n"
                       + INPUT_HELP + "\n\nexample:\n  sextortion-signals report "
                       "datasets/examples/conversations.jsonl -o report.html")
    reading(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("generate", help="generate synthetic conversations",
                       formatter_class=fmt, description="Template-generated synthetic "
                       "conversations (the augmentation corpus).\n\nexamples:\n  "
                       "sextortion-signals generate --n 100 -o synth.jsonl\n  "
                       "sextortion-signals generate --corpus datasets/full")
    p.add_argument("--n", type=int, help="conversations (default: 1000; corpus: 20000)")
    p.add_argument("--lang", default="en,fr")
    p.add_argument("--seed", type=int, help="default: 0; corpus: the shipped corpus seed")
    p.add_argument("--heldout", action="store_true", help="draw only held-out families")
    p.add_argument("-o", "--output", help="output JSONL (default: stdout)")
    p.add_argument("--corpus", help="write the full corpus (all splits + MANIFEST.json) here")
    p.add_argument("--force", action="store_true", help="overwrite an existing file or corpus")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="train a model on labelled data", formatter_class=fmt,
                       description="Train on labelled JSONL or CSV files, or splits of the "
                       "authored corpus (datasets/authored:train). JSONL: one conversation per "
                       "line with 'messages' and 'labels': {\"grooming\": 0|1, \"sextortion\": "
                       "0|1}, optional per-message 'tags'. CSV: conversation_id,text[,sender,"
                       "timestamp],grooming,sextortion, rows of a conversation next to each "
                       "other.\n\nexamples:\n  sextortion-signals train my_labelled.csv -o "
                       "my_model\n"
                       "  sextortion-signals train datasets/authored:train --augment "
                       "datasets/full/train.jsonl --valid datasets/authored:validation -o "
                       "my_model   (the shipped model)")
    p.add_argument("data", nargs="+", help="training files or authored splits")
    p.add_argument("--augment", action="append", metavar="DATA",
                   help="generated conversations added to the training data, down-weighted "
                        "(repeatable), e.g. the generator's corpus")
    p.add_argument("-o", "--output", required=True, help="model directory")
    p.add_argument("--valid", action="append",
                   help="validation data (repeatable; default: 15%% of DATA, by id hash)")
    p.add_argument("--test", action="append", help="also evaluate on this (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--C", type=float, default=0.3, help="inverse regularisation strength")
    p.add_argument("--precision", type=float, default=None,
                   help="validation precision target of the alert thresholds (default: "
                        "0.95 grooming, 0.98 sextortion)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a model on labelled data",
                       formatter_class=fmt, description="Ranking, operating point, "
                       "calibration and early warning, overall and per language and category; "
                       "optional robustness to evasions and plots.\n\nexample:\n  "
                       "sextortion-signals evaluate models/default datasets/authored:test "
                       "--peer datasets/authored:train --plots out/")
    p.add_argument("model", help="model directory, or 'shipped'")
    p.add_argument("data", nargs="+", help="JSONL/CSV files, folders of JSONL, or authored "
                                           "splits (datasets/authored:test)")
    p.add_argument("--json", help="also write the full report here")
    p.add_argument("--no-early-warning", action="store_true")
    p.add_argument("--perturb", action="store_true",
                   help="also measure recall under evasions (l33t, homoglyphs, zero-width, "
                        "spaced letters, punctuation inside words)")
    p.add_argument("--peer", action="append", metavar="TRAIN_DATA",
                   help="also train the TF-IDF word+char peer on this data (repeatable) and "
                        "show its PR-AUC side by side")
    p.add_argument("--plots", help="write PNG plots (reliability, PR curves, early warning) "
                                   "into this folder")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("serve", help="HTTP service (needs the [serve] extra)",
                       formatter_class=fmt, description="FastAPI service: POST /score, "
                       "POST and DELETE /monitor/{conversation_id}, GET /healthz, GET /version.\n\n"
                       "example:\n  sextortion-signals serve --port 8000")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--max-batch", type=int, default=256)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except SextortionSignalsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
