"""``score_frame`` on pandas DataFrames: the same results as ``Scorer.score_many`` on the
same conversations, whatever the row layout; bad rows named by their index.

Test data comes from the synthetic generator only (tactics, never explicit content)."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

pd = pytest.importorskip("pandas")

from sextortion_signals import Scorer, load_model  # noqa: E402
from sextortion_signals.dataframes import (  # noqa: E402
    BadRow,
    BadRowsError,
    find_bad_rows,
    score_frame,
)
from sextortion_signals.model import default_model_path  # noqa: E402
from sextortion_signals.synth import generate  # noqa: E402

Conversation = list[dict[str, Any]]
COLUMNS = ["conversation_id", "n_messages", "score_grooming", "score_sextortion", "labels",
           "level", "signals"]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return list(generate(120, seed=1))


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


def records(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per message, conversation after conversation."""
    return [{"conversation_id": r["id"], **m} for r in rows for m in r["messages"]]


def interleaved(recs: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The records in a random order that keeps each conversation's messages in order
    (each message gets a random key; a conversation's keys are sorted)."""
    rng = random.Random(seed)
    by_conv: dict[str, list[dict[str, Any]]] = {}
    for rec in recs:
        by_conv.setdefault(rec["conversation_id"], []).append(rec)
    keyed: list[tuple[float, dict[str, Any]]] = []
    for msgs in by_conv.values():
        keyed += zip(sorted(rng.random() for _ in msgs), msgs, strict=True)
    return [rec for _, rec in sorted(keyed, key=lambda kv: kv[0])]


def expected(scorer: Scorer, ids: Sequence[str], convs: Sequence[Conversation],
             ) -> dict[str, dict[str, Any]]:
    """What each output row should hold, from ``score_many`` on the conversations."""
    out = {}
    for cid, conv, r in zip(ids, convs, scorer.score_many(convs), strict=True):
        out[cid] = {"n_messages": len(conv), "score_grooming": r.scores["grooming"],
                    "score_sextortion": r.scores["sextortion"], "labels": ",".join(r.labels),
                    "level": r.level, "signals": ",".join(sorted({s.name for s in r.signals}))}
    return out


def as_dict(frame: Any) -> dict[str, dict[str, Any]]:
    return {rec.pop("conversation_id"): rec for rec in frame.to_dict("records")}


def test_scores_equal_score_many(rows: list[dict[str, Any]], scorer: Scorer) -> None:
    out = score_frame(pd.DataFrame(records(rows)))
    assert list(out.columns) == COLUMNS
    assert out["conversation_id"].tolist() == [r["id"] for r in rows]  # first appearance
    want = expected(scorer, [r["id"] for r in rows], [r["messages"] for r in rows])
    assert as_dict(out) == want  # scores exactly equal (floats compared with ==)
    assert {row["level"] for row in want.values()} >= {"low", "high"}
    assert any(row["signals"] for row in want.values())


def test_rows_of_a_conversation_need_not_be_consecutive(rows: list[dict[str, Any]],
                                                        scorer: Scorer) -> None:
    recs = interleaved(records(rows), seed=3)
    assert recs[0]["conversation_id"] != recs[1]["conversation_id"] or \
        recs[1]["conversation_id"] != recs[2]["conversation_id"]
    out = score_frame(pd.DataFrame(recs))
    firsts = list(dict.fromkeys(rec["conversation_id"] for rec in recs))
    assert out["conversation_id"].tolist() == firsts
    assert as_dict(out) == expected(scorer, [r["id"] for r in rows],
                                    [r["messages"] for r in rows])


def test_order_column_sorts_messages(rows: list[dict[str, Any]], scorer: Scorer) -> None:
    recs = [{**rec, "seq": i} for r in rows
            for i, rec in enumerate(records([r]))]
    random.Random(5).shuffle(recs)  # row order now says nothing; "seq" does
    out = score_frame(pd.DataFrame(recs), order="seq")
    assert as_dict(out) == expected(scorer, [r["id"] for r in rows],
                                    [r["messages"] for r in rows])
    # Ties in the order column keep row order.
    conv = [{"conversation_id": "c", "seq": 0, "text": t, "sender": s}
            for t, s in (("first", "a"), ("second", "b"), ("third", "a"))]
    tied = score_frame(pd.DataFrame(conv), order="seq")
    assert tied["score_grooming"][0] == scorer.score_many(
        [[{"text": m["text"], "sender": m["sender"]} for m in conv]])[0].scores["grooming"]


def test_missing_optional_columns(rows: list[dict[str, Any]], scorer: Scorer) -> None:
    recs = [{"conversation_id": rec["conversation_id"], "text": rec["text"]}
            for rec in records(rows)]
    out = score_frame(pd.DataFrame(recs))  # no sender, no timestamp column
    texts_only = [[{"text": m["text"]} for m in r["messages"]] for r in rows]
    assert as_dict(out) == expected(scorer, [r["id"] for r in rows], texts_only)
    # Columns present but not used: sender=None, timestamp=None.
    full = score_frame(pd.DataFrame(records(rows)), sender=None, timestamp=None)
    assert as_dict(full) == as_dict(out)
    # A column name the caller chose that does not exist is an error, not "no data".
    with pytest.raises(ValueError, match="no sender column 'from'"):
        score_frame(pd.DataFrame(recs), sender="from")
    with pytest.raises(ValueError, match="no text column 'body'"):
        score_frame(pd.DataFrame(recs), text="body")


def test_timestamp_forms_and_int_senders(rows: list[dict[str, Any]], scorer: Scorer) -> None:
    """datetime64 and epoch-second columns score as the ISO strings they stand for; an int
    sender column with gaps (read as float) as the ints."""
    df = pd.DataFrame(records(rows))
    iso = score_frame(df)
    as_dt = df.assign(timestamp=pd.to_datetime(df["timestamp"], utc=True))
    epoch = df.assign(timestamp=as_dt["timestamp"].map(
        lambda t: None if pd.isna(t) else t.timestamp()))
    for other in (as_dt, epoch):
        assert as_dict(score_frame(other)) == as_dict(iso)
    codes = {s: i for i, s in enumerate(df["sender"].unique())}
    ints = df.assign(sender=[float(codes[s]) for s in df["sender"]])
    ints.loc[0, "sender"] = None
    convs: dict[str, Conversation] = {}
    for i, rec in enumerate(records(rows)):
        msg = {**rec, "sender": None if i == 0 else codes[rec["sender"]]}
        convs.setdefault(msg.pop("conversation_id"), []).append(msg)
    assert as_dict(score_frame(ints)) == expected(scorer, list(convs), list(convs.values()))


def break_rows(df: Any) -> Any:
    """Index labels 100, 101...; four bad rows (one with two problems)."""
    df = df.copy()
    df.index = df.index + 100
    df["text"] = df["text"].astype(object)  # to hold a non-string
    df.loc[103, "text"] = None
    df.loc[105, "text"] = 42
    df.loc[107, "timestamp"] = "yesterday evening"
    df.loc[109, "conversation_id"] = None
    df.loc[109, "text"] = float("nan")
    return df


BAD = {(103, "text"), (105, "text"), (107, "timestamp"), (109, "conversation_id"),
       (109, "text")}


def test_bad_rows_raise_with_their_index(rows: list[dict[str, Any]]) -> None:
    df = break_rows(pd.DataFrame(records(rows)))
    with pytest.raises(BadRowsError) as info:
        score_frame(df)
    err = info.value
    assert {(b.row, b.column) for b in err.bad_rows} == BAD
    message = str(err)
    assert "4 row(s)" in message
    for index in (103, 105, 107, 109):
        assert f"index {index}," in message
    assert "missing text" in message and "text must be a str, got int" in message
    assert "'yesterday evening' is not ISO-8601" in message
    assert isinstance(err, ValueError)  # an InvalidInputError
    again = pickle.loads(pickle.dumps(err))  # Dask sends it back from a worker
    assert str(again) == message and again.bad_rows == err.bad_rows


def test_bad_rows_skip_lists_them_in_attrs(rows: list[dict[str, Any]],
                                           scorer: Scorer) -> None:
    df = break_rows(pd.DataFrame(records(rows)))
    out = score_frame(df, on_bad_rows="skip")
    bad = out.attrs["bad_rows"]
    assert all(isinstance(b, BadRow) for b in bad)
    assert {(b.row, b.column) for b in bad} == BAD
    good = df.drop(index=[103, 105, 107, 109])
    convs: dict[str, Conversation] = {}
    for rec in good.to_dict("records"):
        rec["timestamp"] = None if pd.isna(rec["timestamp"]) else rec["timestamp"]
        convs.setdefault(rec.pop("conversation_id"), []).append(rec)
    assert as_dict(out) == expected(scorer, list(convs), list(convs.values()))
    # The same rows, as a DataFrame indexed by the input's index.
    found = find_bad_rows(df)
    assert set(zip(found.index, found["column"], strict=True)) == BAD
    assert list(found.columns) == ["column", "reason"]
    assert find_bad_rows(pd.DataFrame(records(rows))).empty
    assert score_frame(pd.DataFrame(records(rows[:3])), on_bad_rows="skip"
                       ).attrs["bad_rows"] == []
    assert score_frame(pd.DataFrame(records(rows[:3]))).attrs["bad_rows"] == []


def test_bad_rows_with_repeated_index_labels() -> None:
    df = pd.DataFrame({"conversation_id": ["a", "a", "b"], "text": ["hi", None, "hey"]},
                      index=["x", "x", "y"])
    found = find_bad_rows(df)
    assert found.index.tolist() == ["x"] and found["column"].tolist() == ["text"]
    out = score_frame(df, on_bad_rows="skip")
    assert out["n_messages"].tolist() == [1, 1]


def test_contributions_json(rows: list[dict[str, Any]], scorer: Scorer) -> None:
    some = rows[:25]
    out = score_frame(pd.DataFrame(records(some)), contributions=True)
    assert list(out.columns) == [*COLUMNS, "explanation"]
    results = scorer.score_many([r["messages"] for r in some])
    for text, result in zip(out["explanation"], results, strict=True):
        parsed = json.loads(text)
        want = json.loads(json.dumps(result.to_dict(contributions=True, guidance=False)))
        assert parsed == want
        assert "contributions" in parsed and "guidance" not in parsed
    assert "explanation" not in score_frame(pd.DataFrame(records(some))).columns


def test_model_argument(rows: list[dict[str, Any]]) -> None:
    """A model path (directory or model.json) or a Model scores as the shipped model does."""
    df = pd.DataFrame(records(rows[:20]))
    default = as_dict(score_frame(df))
    path = default_model_path()
    for model in (path, str(path.parent), load_model(path)):
        assert as_dict(score_frame(df, model=model)) == default
    with pytest.raises(TypeError, match="model must be"):
        score_frame(df, model=3)  # type: ignore[call-overload]


def test_empty_frame_and_bad_arguments() -> None:
    empty = pd.DataFrame({"conversation_id": pd.Series([], dtype=str),
                          "text": pd.Series([], dtype=str)})
    out = score_frame(empty)
    assert list(out.columns) == COLUMNS and out.empty
    with pytest.raises(ValueError, match="on_bad_rows"):
        score_frame(empty, on_bad_rows="ignore")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="pandas or Dask DataFrame"):
        score_frame([{"conversation_id": "a", "text": "hi"}])  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="clash"):
        score_frame(empty.rename(columns={"conversation_id": "level"}), conversation="level")


def test_importing_the_package_does_not_import_pandas() -> None:
    code = ("import sys, sextortion_signals as ss; ss.Scorer; "
            "assert 'pandas' not in sys.modules and 'dask' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
