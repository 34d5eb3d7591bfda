"""Labelled conversations for training and evaluation: JSONL or CSV, errors name the line.

JSONL, one conversation per line::

    {"id": "c1", "lang": "en", "labels": {"grooming": 0, "sextortion": 1},
     "category": "sextortion_financial", "first_risk_index": 2,
     "messages": [{"sender": "a", "text": "...", "timestamp": "2025-01-01T10:00:00Z"}]}

``labels`` may be replaced by ``kind`` (the external evaluation format): ``sextortion_scam``
means sextortion = 1, anything else 0. CSV, one message per row, rows of a conversation
consecutive: ``conversation_id,text[,sender,timestamp,lang,category],grooming,sextortion``.
Files are UTF-8, with or without a byte-order mark; anything else is an error that says
how to convert it. Extra JSONL keys and CSV columns are kept as metadata.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TrainingDataError
from .model import LABELS


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    messages: list[dict[str, Any]]
    labels: dict[str, int]
    lang: str | None = None
    category: str | None = None
    first_risk_index: int | None = None
    where: str = ""  # "file:line", for error messages
    # Per label: first message carrying a tactic of that label (from per-message "tags").
    first_risk_by_label: dict[str, int] | None = None
    tags: list[list[str]] | None = None  # per message: the tactics its writer meant
    metadata: dict[str, Any] = field(default_factory=dict)  # any other field (author...)

    def first_risk(self, label: str) -> int | None:
        if self.first_risk_by_label is not None:
            return self.first_risk_by_label.get(label)
        return self.first_risk_index


_JSONL_KEYS = frozenset({"id", "messages", "labels", "kind", "lang", "category",
                         "first_risk_index", "tags"})
# ``subtype``, ``author``, ``split`` and any other key stay in ``Labelled.metadata``.


_CSV_CONVERSATION_KEYS = frozenset({"conversation_id", "lang", "category", *LABELS})


def _labels(raw: dict[str, Any], where: str) -> dict[str, int]:
    if "labels" in raw:
        labels = raw["labels"]
        if not isinstance(labels, dict):
            raise TrainingDataError(f"{where}: 'labels' must be an object like "
                                    '{"grooming": 0, "sextortion": 1}')
    elif "kind" in raw:
        labels = {"grooming": 0, "sextortion": int(raw["kind"] == "sextortion_scam")}
    else:
        raise TrainingDataError(f"{where}: missing 'labels' (e.g. "
                                '{"grooming": 0, "sextortion": 1})')
    out: dict[str, int] = {}
    for label in LABELS:
        value = labels.get(label, 0)
        if value not in (0, 1, True, False):
            raise TrainingDataError(f"{where}: labels.{label} must be 0 or 1, got {value!r}")
        out[label] = int(value)
    return out


def first_risk_by_label(tags: Any) -> dict[str, int] | None:
    if not isinstance(tags, list):
        return None
    from .rules.registry import available

    category = {s.name: s.category for s in available()}
    out: dict[str, int] = {}
    for i, msg_tags in enumerate(tags):
        for tag in msg_tags if isinstance(msg_tags, list) else ():
            label = category.get(tag)
            if label in LABELS:
                out.setdefault(label, i)
    return out


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file (a byte-order mark is skipped)."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise TrainingDataError(
                    f"{path}:{lineno}: not UTF-8 (byte {raw[err.start]:#04x} at column "
                    f"{err.start + 1}); convert the file, e.g. `iconv -f latin1 -t utf-8`"
                ) from None


def _from_jsonl(path: Path) -> Iterator[Labelled]:
    for lineno, line in _lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            raw = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as err:
            reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
            raise TrainingDataError(f"{where}: invalid JSON ({reason})") from None
        yield _from_raw(raw, where, lineno)


def _from_raw(raw: Any, where: str, lineno: int) -> Labelled:
    if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
        raise TrainingDataError(f"{where}: each line must be an object with a 'messages' list")
    fri = raw.get("first_risk_index")
    tags = raw.get("tags")
    return Labelled(str(raw.get("id", lineno)), raw["messages"], _labels(raw, where),
                    raw.get("lang"), raw.get("category") or raw.get("kind"),
                    fri if isinstance(fri, int) else None, where, first_risk_by_label(tags),
                    tags if isinstance(tags, list) else None,
                    {k: v for k, v in raw.items() if k not in _JSONL_KEYS})


def _from_authored(root: Path, split: str) -> Iterator[Labelled]:
    from .synth.authored import read

    try:
        rows = read(root, split)
        for k, raw in enumerate(rows, 1):
            yield _from_raw(raw, f"{root}:{split}#{raw.get('id', k)}", k)
    except ValueError as err:
        raise TrainingDataError(f"{root}:{split}: {err}") from None


def _from_csv(path: Path) -> Iterator[Labelled]:
    reader = csv.DictReader(line for _, line in _lines(path))
    need = {"conversation_id", "text", *LABELS}
    missing = need - set(reader.fieldnames or [])
    if missing:
        raise TrainingDataError(f"{path}:1: CSV header lacks {sorted(missing)}; expected "
                                "conversation_id,text,sender,timestamp,grooming,sextortion")
    current: list[tuple[int, dict[str, str]]] = []
    ended: dict[str, int] = {}  # conversation id -> its last line
    for row in reader:
        lineno = reader.line_num
        cid = row["conversation_id"]
        if current and cid != current[0][1]["conversation_id"]:
            ended[current[0][1]["conversation_id"]] = current[-1][0]
            yield _csv_conversation(path, current)
            current = []
        if not current and cid in ended:
            raise TrainingDataError(
                f"{path}:{lineno}: conversation {cid!r} continues here but its rows ended "
                f"at line {ended[cid]}; put the rows of a conversation next to each other")
        current.append((lineno, row))
    if current:
        yield _csv_conversation(path, current)


def _csv_conversation(path: Path, rows: list[tuple[int, dict[str, str]]]) -> Labelled:
    first_line, first = rows[0]
    where = f"{path}:{first_line}"
    labels = _labels({"labels": {lb: _int(first[lb], f"{path}:{first_line}", lb)
                                 for lb in LABELS}}, where)
    for lineno, row in rows[1:]:
        for lb in LABELS:
            if _int(row[lb], f"{path}:{lineno}", lb) != labels[lb]:
                raise TrainingDataError(f"{path}:{lineno}: {lb} differs from the first row of "
                                        f"conversation {first['conversation_id']!r}")
    messages = [{**{k: v for k, v in row.items() if k not in _CSV_CONVERSATION_KEYS and v},
                 "text": row["text"], "sender": row.get("sender") or None,
                 "timestamp": row.get("timestamp") or None} for _, row in rows]
    return Labelled(first["conversation_id"], messages, labels, first.get("lang") or None,
                    first.get("category") or None, None, where)


def _int(value: str, where: str, column: str) -> int:
    if value.strip() not in ("0", "1"):
        raise TrainingDataError(f"{where}: column {column} must be 0 or 1, got {value!r}")
    return int(value)


def read_labelled(path: str | Path) -> Iterator[Labelled]:
    """Stream labelled conversations from a ``.jsonl`` or ``.csv`` file, a folder of
    ``.jsonl`` files, or one split of the authored corpus: ``datasets/authored:train`` (a
    folder with ``splits.json``)."""
    text = str(path)
    root, _, split = text.rpartition(":")
    if root and Path(root, "splits.json").is_file():
        return _from_authored(Path(root), split)
    p = Path(path)
    if p.is_dir() and (p / "splits.json").is_file():
        raise TrainingDataError(f"{p} is the authored corpus: name a split, e.g. {p}:train "
                                f"(splits: train, validation, test)")
    if p.is_dir():
        files = sorted(p.glob("*.jsonl"))
        if not files:
            raise TrainingDataError(f"{p}: a folder must hold .jsonl files")
        return (item for f in files for item in _from_jsonl(f))
    if not p.is_file():
        raise TrainingDataError(f"no such file: {p}")
    return _from_csv(p) if p.suffix.lower() == ".csv" else _from_jsonl(p)
