"""Score chat messages held in a pandas or Dask DataFrame, one row per message.

    from sextortion_signals.dataframes import score_frame
    out = score_frame(df)                      # pandas in, pandas out (eager)
    out = score_frame(ddf).compute()           # Dask in, lazy Dask out

Input: one row per message with a conversation id column, a text column and, optionally,
sender, timestamp (ISO-8601 string, datetime or epoch seconds) and an ``order`` column.
Rows of one conversation need not be consecutive: they are grouped by the conversation
column and keep their original row order within it (or ``order``'s, ties broken by row
order).

Output: one row per conversation with the columns ``<conversation>``, ``n_messages`` (its
rows; like ``score_many``, the core scores the last 2,000 messages of a longer
conversation and says so in the explanation's ``warnings``),
``score_<label>`` per model label (``score_grooming``, ``score_sextortion``), ``labels``
(alerting labels, comma-separated, ``""`` when none), ``level``, ``signals`` (distinct
signal names that fired, sorted, comma-separated) and, with ``contributions=True``,
``explanation`` (``ScoreResult.to_dict(contributions=True, guidance=False)`` as a JSON
string). Scores are exactly those of ``Scorer.score_many`` on the same conversations.

Bad rows (missing conversation id, missing or non-string text, a timestamp that is not a
date, a sender that is neither str nor int, a missing ``order`` value) are named by their
DataFrame index. ``on_bad_rows="raise"`` (default) raises ``BadRowsError`` listing every
one of them; ``on_bad_rows="skip"`` leaves them out and, for pandas, lists them in the
result's ``attrs["bad_rows"]`` (a list of ``BadRow``; empty when none). A conversation
whose rows are all bad has no output row. ``find_bad_rows`` returns the bad rows as a
DataFrame (lazy for Dask) without scoring anything.

Dask: a conversation's features are computed over all of its messages (per sender,
timeline, escalation), so one conversation split over two partitions would be scored as two
partial conversations with different, wrong, scores. ``score_frame`` therefore shuffles the
rows on the conversation column first (``DataFrame.shuffle(on=conversation)``, which keeps
the index, so bad rows are still named by the caller's index), after tagging each row with
its partition number and position so the original row order survives the shuffle (Dask
picks the shuffle method: P2P with a distributed Client). Pass ``partitioned=True`` only if
every conversation is already inside one partition (e.g. data written or grouped one
conversation per partition upstream): the shuffle is skipped and row order within a
partition (or ``order``) is message order. Output row order is unspecified (pandas: order
of first appearance). Each partition is scored with ``map_partitions`` and an explicit
``meta``. Tasks carry the model's *path*, never the model: each worker process loads the
model (and builds its spaCy pipelines) once, on its first partition, and keeps it in a
module-level cache keyed by path, modification time and size. The path must be readable by
the client (for the column names) and by every worker; ``model=None`` means each worker's
own shipped model. Bad rows raise (at compute time, in the first partition that has some)
or are skipped; ``find_bad_rows(ddf)`` lists them all.

pandas and Dask are optional dependencies: importing ``sextortion_signals`` never imports
them; this module imports pandas when loaded and never imports Dask itself (it recognises
a Dask DataFrame by its class's module).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeGuard, overload

import numpy as np
import pandas as pd

from .api import Scorer
from .errors import InvalidInputError
from .inputs import Message, parse_timestamp
from .model import Model, default_model_path, load_model
from .results import ScoreResult

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = ["BadRow", "BadRowsError", "find_bad_rows", "score_frame"]

OnBadRows = Literal["raise", "skip"]
ModelArg = Model | str | Path | None

_DEFAULTS = {"sender": "sender", "timestamp": "timestamp"}
_PART = "__sextortion_signals_partition__"  # added before a Dask shuffle, dropped after
_POS = "__sextortion_signals_position__"
_DEFAULT_REF = "<default>"  # each process's own shipped model
_SHOWN = 20  # bad rows named in an error message
_FIXED_OUTPUTS = frozenset({"n_messages", "labels", "level", "signals", "explanation"})
# The installed pandas's default string dtype (``str`` on pandas 3, ``object`` before), so
# that every partition and the Dask ``meta`` agree whether a partition is empty or not.
_STRING = pd.Series(["x"]).dtype


class BadRow(NamedTuple):
    """A row that cannot be scored: its DataFrame index label, the column at fault, why."""

    row: Hashable
    column: str
    reason: str


class BadRowsError(InvalidInputError):
    """Rows that cannot be scored; ``bad_rows`` lists every one (``BadRow``: row, column,
    reason)."""

    def __init__(self, message: str, bad_rows: Sequence[BadRow]) -> None:
        super().__init__(message)
        self.message = message
        self.bad_rows = list(bad_rows)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable: Dask sends it back from a worker
        return (type(self), (self.message, self.bad_rows))


@dataclass(frozen=True)
class _Spec:
    """Which column is what, and what to do (small: it travels with every Dask task)."""

    text: str
    conversation: str
    sender: str | None  # None: no such column
    timestamp: str | None
    order: str | None
    contributions: bool
    skip: bool
    tiebreak: tuple[str, ...]  # columns holding the original row order (Dask), else ()


# -- model cache: one model and one Scorer per process and model file -------------------

_LOCK = threading.Lock()
_SCORERS: dict[str, tuple[tuple[int, int] | None, Scorer]] = {}
_LOADS: dict[str, int] = {}  # model loads per reference in this process (for tests)


def _target(ref: str) -> Path:
    if ref == _DEFAULT_REF:
        return default_model_path()
    path = Path(ref)
    return path / "model.json" if path.is_dir() else path


def _stamp(ref: str) -> tuple[int, int] | None:
    try:
        st = _target(ref).stat()
    except OSError:
        return None  # load_model reports it
    return (st.st_mtime_ns, st.st_size)


def _cached_scorer(ref: str) -> Scorer:
    """This process's Scorer for a model file (``_DEFAULT_REF``: the shipped model), loaded
    on first use and again only if the file changed."""
    stamp = _stamp(ref)
    with _LOCK:  # once per partition: no read of the shared cache outside the lock
        entry = _SCORERS.get(ref)
        if entry is None or entry[0] != stamp:
            entry = (stamp, Scorer(load_model(_target(ref))))
            _SCORERS[ref] = entry
            _LOADS[ref] = _LOADS.get(ref, 0) + 1
        return entry[1]


def _cache_info() -> dict[str, int]:
    """How many times this process loaded each model reference (tests call it on workers
    to check that a model is loaded once per worker)."""
    with _LOCK:
        return dict(_LOADS)


def _model_ref(model: ModelArg) -> str:
    """What a Dask task carries instead of the model: a path, or the default marker."""
    if model is None:
        return _DEFAULT_REF
    if isinstance(model, Model):
        if not Path(model.source).is_file():
            raise InvalidInputError(
                "scoring a Dask DataFrame needs a model file every worker can read (the "
                "model is loaded once per worker, not sent with each task): save it with "
                "model.save(directory) and pass that directory")
        return str(Path(model.source).resolve())
    if isinstance(model, str | Path):
        return str(Path(model).resolve())
    raise TypeError(f"model must be None, a Model or a path, got {type(model).__name__}")


def _scorer_for(model: ModelArg) -> Scorer:
    if isinstance(model, Model):
        return Scorer(model)
    return _cached_scorer(_model_ref(model))


# -- checking columns and rows ----------------------------------------------------------

def _spec(columns: Sequence[Hashable], text: str, conversation: str, sender: str | None,
          timestamp: str | None, order: str | None, contributions: bool,
          on_bad_rows: str) -> _Spec:
    if on_bad_rows not in ("raise", "skip"):
        raise InvalidInputError(f"on_bad_rows must be 'raise' or 'skip', got {on_bad_rows!r}")
    present = set(columns)
    shown = ", ".join(map(repr, list(columns)[:30]))
    for role, name in (("text", text), ("conversation", conversation), ("order", order)):
        if name is not None and name not in present:
            raise InvalidInputError(f"no {role} column {name!r}; the columns are: {shown}")
    optional: dict[str, str | None] = {}
    for role, name in (("sender", sender), ("timestamp", timestamp)):
        if name is not None and name not in present and name != _DEFAULTS[role]:
            # A name the caller chose that is not there is a typo, not "no such data".
            raise InvalidInputError(f"no {role} column {name!r}; the columns are: {shown} "
                                    f"(pass {role}=None if there is none)")
        optional[role] = name if name in present else None
    if text == conversation:
        raise InvalidInputError("the text and conversation columns must differ")
    if conversation in _FIXED_OUTPUTS or conversation.startswith("score_"):
        raise InvalidInputError(f"a conversation column named {conversation!r} would clash "
                                f"with an output column; rename it")
    return _Spec(text, conversation, optional["sender"], optional["timestamp"], order,
                 contributions, on_bad_rows == "skip", ())


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (
        isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    """numpy scalars (from object columns) as Python values; datetime64 as a Timestamp."""
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sender(value: object) -> str | int | None:
    value = _plain(value)
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # an int column with gaps is read as float
    raise TypeError(f"sender must be a str or an int, got {type(value).__name__}")


def _timestamp(value: object) -> float | None:
    value = _plain(value)
    if _is_missing(value):
        return None
    return parse_timestamp(value, "")


class _Rows(NamedTuple):
    """The rows of one frame, checked: messages by position, bad rows found."""

    messages: list[Message | None]  # None: a bad row
    bad: list[BadRow]
    bad_positions: list[int]  # position of each bad row (an index may repeat labels)


def _check_rows(df: pd.DataFrame, spec: _Spec) -> _Rows:
    index = df.index.tolist()
    no_id = df[spec.conversation].isna().tolist()
    texts = df[spec.text].tolist()
    senders = df[spec.sender].tolist() if spec.sender else None
    times = df[spec.timestamp].tolist() if spec.timestamp else None
    no_order = df[spec.order].isna().tolist() if spec.order else None
    messages: list[Message | None] = []
    bad: list[BadRow] = []
    bad_positions: list[int] = []

    def report(i: int, column: str | None, reason: str) -> None:
        bad.append(BadRow(index[i], column or "", reason))
        bad_positions.append(i)

    for i, text in enumerate(texts):
        before = len(bad)
        if no_id[i]:
            report(i, spec.conversation, "missing conversation id")
        if not isinstance(text, str):
            report(i, spec.text, "missing text" if _is_missing(text)
                   else f"text must be a str, got {type(text).__name__}")
        sender: str | int | None = None
        if senders is not None:
            try:
                sender = _sender(senders[i])
            except TypeError as err:
                report(i, spec.sender, str(err))
        stamp: float | None = None
        if times is not None:
            try:
                stamp = _timestamp(times[i])
            except (InvalidInputError, TypeError) as err:
                report(i, spec.timestamp, str(err).removeprefix(": "))
        if no_order is not None and no_order[i]:
            report(i, spec.order, "missing order value")
        ok = len(bad) == before
        messages.append(Message(text, None if sender is None else str(sender), stamp)
                        if ok else None)
    return _Rows(messages, bad, bad_positions)


def _error(bad: Sequence[BadRow]) -> BadRowsError:
    rows = len({repr(b.row) for b in bad})
    lines = [f"  index {b.row!r}, column {b.column!r}: {b.reason}" for b in bad[:_SHOWN]]
    more = f"\n  ... and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    return BadRowsError(
        f"{rows} row(s) cannot be scored ({len(bad)} problem(s)); fix them or pass "
        f"on_bad_rows='skip' (find_bad_rows lists them all):\n" + "\n".join(lines) + more,
        bad)


def _bad_frame(rows: _Rows, index: pd.Index) -> pd.DataFrame:
    """Bad rows as a DataFrame indexed by the caller's index (its name and dtype kept)."""
    out = pd.DataFrame({"column": pd.Series([b.column for b in rows.bad], dtype=_STRING),
                        "reason": pd.Series([b.reason for b in rows.bad], dtype=_STRING)})
    out.index = index.take(rows.bad_positions)
    return out


# -- scoring one pandas frame -----------------------------------------------------------

def _groups(df: pd.DataFrame, spec: _Spec, keep: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the kept rows sorted by conversation (first appearance), then ``order``
    if any, then original row order; and where each conversation starts and ends in them."""
    codes, _ = pd.factorize(df[spec.conversation], use_na_sentinel=True)
    keys = [spec.order] if spec.order else []
    keys += list(spec.tiebreak)
    if keys:
        table = df[keys].reset_index(drop=True)
        table.columns = pd.Index([f"k{j}" for j in range(len(keys))])
        table.insert(0, "code", codes)
        table["pos"] = np.arange(len(df))
        table = table[keep]
        try:
            positions = table.sort_values(["code", *table.columns[1:]]).index.to_numpy()
        except TypeError as err:
            raise InvalidInputError(f"the order column {spec.order!r} holds values that "
                                    f"cannot be compared: {err}") from None
    else:
        kept = np.flatnonzero(keep)
        positions = kept[np.argsort(codes[kept], kind="stable")]
    sorted_codes = codes[positions]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    if not len(positions):
        starts = starts[:0]
    ends = np.r_[starts[1:], len(positions)].astype(np.intp)[:len(starts)]
    return positions, starts, ends


def _result_row_values(result: ScoreResult) -> tuple[str, str, str]:
    return (",".join(result.labels), result.level,
            ",".join(sorted({h.name for h in result.signals})))


def _score_pandas(df: pd.DataFrame, spec: _Spec, labels: Sequence[str],
                  scorer: Callable[[], Scorer]) -> pd.DataFrame:
    """Score one pandas frame (the whole input, or one Dask partition). ``scorer`` is
    called only if there is something to score (``meta`` needs ``labels`` alone)."""
    rows = _check_rows(df, spec)
    if rows.bad and not spec.skip:
        raise _error(rows.bad)
    keep = np.array([m is not None for m in rows.messages], dtype=bool)
    positions, starts, ends = _groups(df, spec, keep)
    conversations = [[rows.messages[p] for p in positions[s:e]]
                     for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    results: list[ScoreResult] = []
    if conversations:
        results = scorer().score_many(conversations)
    ids = df[spec.conversation].iloc[positions[starts]].reset_index(drop=True)
    values = [_result_row_values(r) for r in results]
    data: dict[str, Any] = {
        spec.conversation: ids,
        "n_messages": pd.Series((ends - starts).tolist(), dtype="int64"),
    }
    for label in labels:
        data[f"score_{label}"] = pd.Series([r.scores[label] for r in results],
                                           dtype="float64")
    for j, name in enumerate(("labels", "level", "signals")):
        data[name] = pd.Series([v[j] for v in values], dtype=_STRING)
    if spec.contributions:
        data["explanation"] = pd.Series(
            [json.dumps(r.to_dict(contributions=True, guidance=False), ensure_ascii=False)
             for r in results], dtype=_STRING)
    out = pd.DataFrame(data)
    out.attrs["bad_rows"] = rows.bad  # empty unless skipped (else we raised)
    return out


# -- Dask -------------------------------------------------------------------------------

def _is_dask(df: object) -> TypeGuard[dd.DataFrame]:
    return any(cls.__module__.split(".")[0] in ("dask", "dask_expr")
               for cls in type(df).__mro__)


def _map_partitions(ddf: dd.DataFrame, func: Callable[..., pd.DataFrame], *args: Any,
                    meta: pd.DataFrame) -> dd.DataFrame:
    """``ddf.map_partitions`` with an explicit ``meta`` (typed: dask's is not)."""
    out: dd.DataFrame = ddf.map_partitions(  # type: ignore[no-untyped-call, unused-ignore]
        func, *args, meta=meta)
    return out


def _add_position(part: pd.DataFrame, partition_info: dict[str, Any] | None = None,
                  ) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    return part.assign(**{_PART: np.full(len(part), number, dtype="int64"),
                          _POS: np.arange(len(part), dtype="int64")})


def _score_partition(part: pd.DataFrame, spec: _Spec, ref: str,
                     labels: tuple[str, ...]) -> pd.DataFrame:
    """One Dask partition, on a worker: the model comes from this process's cache."""
    out = _score_pandas(part, spec, labels, lambda: _cached_scorer(ref))
    out.attrs.clear()  # bad rows of a lazy result: find_bad_rows
    return out


def _bad_partition(part: pd.DataFrame, spec: _Spec) -> pd.DataFrame:
    return _bad_frame(_check_rows(part, spec), part.index)


def _no_scorer() -> Scorer:
    raise AssertionError("an empty frame needs no scorer")


# One entry per model reference (a changed file replaces its entry), under ``_LOCK``.
_LABELS: dict[str, tuple[tuple[int, int] | None, tuple[str, ...]]] = {}


def _dask_labels(ref: str) -> tuple[str, ...]:
    """The model's labels, read on the client for ``meta`` (the model file, not spaCy)."""
    stamp = _stamp(ref)
    with _LOCK:
        entry = _LABELS.get(ref)
        if entry is None or entry[0] != stamp:
            entry = (stamp, load_model(_target(ref)).labels)
            _LABELS[ref] = entry
        return entry[1]


def _needed(spec: _Spec) -> list[str]:
    names = [spec.conversation, spec.text, spec.sender, spec.timestamp, spec.order]
    return list(dict.fromkeys(n for n in names if n is not None))


def _score_dask(ddf: dd.DataFrame, spec: _Spec, model: ModelArg,
                partitioned: bool) -> dd.DataFrame:
    ref = _model_ref(model)
    labels = _dask_labels(ref)
    ddf = ddf[_needed(spec)]  # only these columns travel through the shuffle
    if not partitioned:
        # Tag rows with (partition, position): a shuffle does not keep row order, and the
        # tags restore it within each conversation. Then every row of a conversation goes
        # to the same partition (a split conversation would be scored as two partial ones).
        tagged = _map_partitions(ddf, _add_position, meta=_add_position(ddf._meta))
        ddf = tagged.shuffle(on=spec.conversation)
        spec = replace(spec, tiebreak=(_PART, _POS))
    meta = _score_pandas(ddf._meta, spec, labels, _no_scorer)
    meta.attrs.clear()
    return _map_partitions(ddf, _score_partition, spec, ref, labels, meta=meta)


# -- public API -------------------------------------------------------------------------

# Dask first: its constructors are untyped, so a Dask DataFrame often reaches here as
# Any. (The ignore: without pandas-stubs both are Any and the overloads overlap.)
@overload
def score_frame(
        df: dd.DataFrame, text: str = ..., conversation: str = ...,
        sender: str | None = ..., timestamp: str | None = ..., order: str | None = ...,
        contributions: bool = ..., model: ModelArg = ..., on_bad_rows: OnBadRows = ...,
        *, partitioned: bool = ...) -> dd.DataFrame: ...


@overload
def score_frame(  # type: ignore[overload-cannot-match, unused-ignore]
        df: pd.DataFrame, text: str = ..., conversation: str = ...,
        sender: str | None = ..., timestamp: str | None = ..., order: str | None = ...,
        contributions: bool = ..., model: ModelArg = ..., on_bad_rows: OnBadRows = ...,
        *, partitioned: bool = ...) -> pd.DataFrame: ...


def score_frame(df: pd.DataFrame | dd.DataFrame, text: str = "text",
                conversation: str = "conversation_id", sender: str | None = "sender",
                timestamp: str | None = "timestamp", order: str | None = None,
                contributions: bool = False, model: ModelArg = None,
                on_bad_rows: OnBadRows = "raise", *,
                partitioned: bool = False) -> pd.DataFrame | dd.DataFrame:
    """One row per conversation of a message-per-row DataFrame (see the module docstring).

    ``sender`` / ``timestamp``: column names, or None; the default names may be absent
    (no senders / no times), a name you pass must exist. ``order``: a column sorting the
    messages of a conversation (else row order). ``model``: None (shipped model), a model
    directory or ``model.json`` path, or a ``Model`` (Dask: one loaded from a file).
    ``on_bad_rows``: ``"raise"`` (``BadRowsError``) or ``"skip"`` (pandas: listed in
    ``result.attrs["bad_rows"]``). ``partitioned`` (Dask only): every conversation is
    already within one partition; skip the shuffle.
    """
    if _is_dask(df):
        spec = _spec(list(df.columns), text, conversation, sender, timestamp, order,
                     contributions, on_bad_rows)
        return _score_dask(df, spec, model, partitioned)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"score_frame takes a pandas or Dask DataFrame, got "
                        f"{type(df).__name__}")
    spec = _spec(list(df.columns), text, conversation, sender, timestamp, order,
                 contributions, on_bad_rows)
    scorer = _scorer_for(model)
    return _score_pandas(df, spec, scorer.model.labels, lambda: scorer)


@overload
def find_bad_rows(df: dd.DataFrame, text: str = ..., conversation: str = ...,
                  sender: str | None = ..., timestamp: str | None = ...,
                  order: str | None = ...) -> dd.DataFrame: ...


@overload
def find_bad_rows(  # type: ignore[overload-cannot-match, unused-ignore]
        df: pd.DataFrame, text: str = ..., conversation: str = ...,
        sender: str | None = ..., timestamp: str | None = ...,
        order: str | None = ...) -> pd.DataFrame: ...


def find_bad_rows(df: pd.DataFrame | dd.DataFrame, text: str = "text",
                  conversation: str = "conversation_id", sender: str | None = "sender",
                  timestamp: str | None = "timestamp",
                  order: str | None = None) -> pd.DataFrame | dd.DataFrame:
    """The rows ``score_frame`` would refuse, indexed by the input's index, with the
    columns ``column`` (at fault) and ``reason``; one row per problem. Nothing is scored
    (no model is loaded). Lazy for a Dask DataFrame."""
    spec = _spec(list(df.columns), text, conversation, sender, timestamp, order, False,
                 "skip")
    if _is_dask(df):
        return _map_partitions(df, _bad_partition, spec,
                               meta=_bad_frame(_Rows([], [], []), df._meta.index))
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"find_bad_rows takes a pandas or Dask DataFrame, got "
                        f"{type(df).__name__}")
    return _bad_frame(_check_rows(df, spec), df.index)
