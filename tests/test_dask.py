"""``score_frame`` on a Dask DataFrame, on a real 2-process ``LocalCluster``: the same
results as ``Scorer.score_many``, conversations spread over partitions on purpose, the model
loaded once per worker. No timing is asserted.

Test data comes from the synthetic generator only (tactics, never explicit content)."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest

pd = pytest.importorskip("pandas")
dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from sextortion_signals import Scorer  # noqa: E402
from sextortion_signals import dataframes as ss_frame  # noqa: E402
from sextortion_signals.dataframes import BadRowsError, find_bad_rows, score_frame  # noqa: E402
from sextortion_signals.synth.tables import interleaved_rows, short_conversations  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")]

MIN_MESSAGES = 50_000
PARTITIONS = 48


def expected(convs: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    results = Scorer().score_many([msgs for _, msgs in convs])
    return {cid: {"n_messages": len(msgs), "score_grooming": r.scores["grooming"],
                  "score_sextortion": r.scores["sextortion"], "labels": ",".join(r.labels),
                  "level": r.level, "signals": ",".join(sorted({s.name for s in r.signals}))}
            for (cid, msgs), r in zip(convs, results, strict=True)}


def as_dict(out: Any) -> dict[str, dict[str, Any]]:
    return {rec.pop("conversation_id"): rec for rec in out.to_dict("records")}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_scores_equal_score_many(client: Any) -> None:
    convs = short_conversations(MIN_MESSAGES, seed=11)
    recs = interleaved_rows(convs, seed=12)
    assert len(recs) >= MIN_MESSAGES
    assert sum(len(m) == 1 for _, m in convs) > 1000 and sum(len(m) > 1 for _, m in convs) > 1000
    pdf = pd.DataFrame(recs)
    ddf = dd.from_pandas(pdf, npartitions=PARTITIONS, sort=False)
    # The layout does what this test is about: many conversations span partitions.
    parts = ddf.map_partitions(lambda p: p[["conversation_id"]].drop_duplicates(),
                               meta=pdf[["conversation_id"]].head(0)).compute()
    spanning = int((parts["conversation_id"].value_counts() > 1).sum())
    assert ddf.npartitions == PARTITIONS and spanning > 1000

    lazy = score_frame(ddf)
    assert list(lazy.columns) == ["conversation_id", "n_messages", "score_grooming",
                                  "score_sextortion", "labels", "level", "signals"]
    out = lazy.compute()
    assert len(out) == len(convs)  # one row per conversation: none was split
    got = as_dict(out)
    want = expected(convs)
    assert got.keys() == want.keys()
    mismatched = [cid for cid in want if got[cid] != want[cid]]
    assert mismatched == []  # scores exactly equal
    assert {row["level"] for row in got.values()} >= {"low", "high"}
    # Each worker process loaded the model once, however many partitions it scored.
    loads = client.run(ss_frame._cache_info)
    assert len(loads) == 2 and all(v == {"<default>": 1} for v in loads.values())


def test_dask_order_bad_rows_and_partitioned(client: Any) -> None:
    convs = short_conversations(3_000, seed=21)
    recs = [{**rec, "seq": i} for cid, msgs in convs
            for i, rec in enumerate({"conversation_id": cid, **m} for m in msgs)]
    random.Random(22).shuffle(recs)  # row order says nothing; "seq" does
    pdf = pd.DataFrame(recs)
    pdf.index = pdf.index * 10  # an index of our own, to be named in reports
    pdf["text"] = pdf["text"].astype(object)
    want = expected(convs)
    ddf = dd.from_pandas(pdf, npartitions=8, sort=False)
    assert as_dict(score_frame(ddf, order="seq").compute()) == want

    bad = pdf.copy()
    bad.loc[30, "text"] = None
    bad.loc[70, "timestamp"] = "last week"
    bad_ddf = dd.from_pandas(bad, npartitions=8, sort=False)
    found = find_bad_rows(bad_ddf, order="seq").compute()
    assert sorted(zip(found.index, found["column"], strict=True)) == [
        (30, "text"), (70, "timestamp")]
    with pytest.raises(BadRowsError) as info:
        score_frame(bad_ddf, order="seq").compute()
    assert info.value.bad_rows and {b.row for b in info.value.bad_rows} <= {30, 70}
    skipped = as_dict(score_frame(bad_ddf, order="seq", on_bad_rows="skip").compute())
    hit = {pdf.loc[i, "conversation_id"] for i in (30, 70)}
    assert {k: v for k, v in skipped.items() if k not in hit} == {
        k: v for k, v in want.items() if k not in hit}
    assert sum(skipped[k]["n_messages"] for k in hit if k in skipped) == sum(
        want[k]["n_messages"] for k in hit) - 2

    # Already partitioned by conversation (here: one partition per block of
    # conversations, rows in order): no shuffle, same results.
    blocks = [convs[i:i + 200] for i in range(0, len(convs), 200)]

    def block(k: int) -> Any:
        return pd.DataFrame([{"conversation_id": cid, **m} for cid, msgs in blocks[k]
                             for m in msgs])

    by_conv = dd.from_map(block, range(len(blocks)))
    assert as_dict(score_frame(by_conv, partitioned=True).compute()) == want


def test_dask_without_a_cluster() -> None:
    """The local (threaded) scheduler: same results, the shuffle done in this process.
    (The shuffle method is set: with a distributed Client alive, as the other tests leave
    one, Dask would otherwise pick its P2P shuffle, which needs that cluster.)"""
    convs = short_conversations(600, seed=31)
    ddf = dd.from_pandas(pd.DataFrame(interleaved_rows(convs, seed=32)), npartitions=5, sort=False)
    with dask.config.set({"scheduler": "threads", "dataframe.shuffle.method": "tasks"}):
        assert as_dict(score_frame(ddf, contributions=True).compute().drop(
            columns="explanation")) == expected(convs)
