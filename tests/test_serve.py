"""The HTTP service (``serve.py``, extra ``[serve]``), through FastAPI's TestClient."""

from __future__ import annotations

import inspect
import json
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import pytest

_SKIP = "the HTTP service needs the [serve] extra: pip install 'sextortion-signals[serve]'"
pytest.importorskip("fastapi", reason=_SKIP)
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")

with warnings.catch_warnings():
    # Starlette >= 1.x suggests httpx2 for its TestClient; httpx still works.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

import sextortion_signals as ss  # noqa: E402
from sextortion_signals import serve  # noqa: E402
from sextortion_signals.model import default_model  # noqa: E402
from sextortion_signals.monitor import MonitorLimits  # noqa: E402

THREAT = [{"text": "i have your pics", "sender": "a"},
          {"text": "send 150$ or everyone sees them", "sender": "a"}]
BENIGN = [{"text": "hi, how was school?", "sender": "a"},
          {"text": "good, we had a math test", "sender": "b"}]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = serve.create_app(max_body_bytes=20_000, max_batch=4,
                           monitor_limits=MonitorLimits(max_conversations=100))
    with TestClient(app) as c:  # runs the lifespan (warm-up)
        yield c


def _texts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(m) for m in messages]


# --- /healthz and /version ----------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_version_names_library_model_format_and_training_hash(client: TestClient) -> None:
    body = client.get("/version").json()
    serve.VersionResponse.model_validate(body)
    assert body["library_version"] == ss.__version__
    assert body["model_format"] == "sextortion-signals/model"
    assert body["model_format_version"] >= 1
    assert body["model_train_sha256"] == default_model().training["train_sha256"]
    assert body["labels"] == list(default_model().labels)


# --- /score -----------------------------------------------------------------------------


def test_score_one_conversation_matches_the_library(client: TestClient) -> None:
    r = client.post("/score", json={"id": "c1", "messages": THREAT})
    assert r.status_code == 200
    body = r.json()
    serve.ScoreResponse.model_validate(body)
    expected = ss.Scorer().score(_texts(THREAT)).to_dict(contributions=False)
    assert body["id"] == "c1"
    assert body["scores"] == pytest.approx(expected["scores"])
    assert body["level"] == expected["level"] == "high"
    assert "sextortion" in body["labels"]
    assert {s["name"] for s in body["signals"]} >= {"possession_claim", "payment_demand"}
    assert any(i["kind"] == "amount" for i in body["indicators"])
    assert "contributions" not in body  # default off
    assert body["guidance"]["label"] == "sextortion"  # default on above level low


def test_score_batch_keeps_order_and_ids(client: TestClient) -> None:
    convs: list[dict[str, Any]] = [{"id": 7, "messages": BENIGN}, {"messages": THREAT},
                                   {"id": "x", "messages": BENIGN}]
    r = client.post("/score", json={"conversations": convs})
    assert r.status_code == 200
    results = r.json()["results"]
    serve.BatchScoreResponse.model_validate(r.json())
    assert [x["id"] for x in results] == [7, None, "x"]
    expected = ss.Scorer().score_many([_texts(c["messages"]) for c in convs])
    for got, want in zip(results, expected, strict=True):
        assert got["scores"] == pytest.approx(dict(want.scores))
        assert got["level"] == want.level
    assert [x["level"] for x in results] == ["low", "high", "low"]
    assert client.post("/score", json={"conversations": []}).json() == {"results": []}


def test_contributions_off_by_default_on_by_query_or_body(client: TestClient) -> None:
    one = {"messages": THREAT}
    assert "contributions" not in client.post("/score", json=one).json()
    by_query = client.post("/score", params={"contributions": "true"}, json=one).json()
    by_body = client.post("/score", json={**one, "contributions": True}).json()
    for body in (by_query, by_body):
        serve.ScoreResponse.model_validate(body)
        assert set(body["contributions"]) == set(body["scores"])
        top = body["contributions"]["sextortion"][0]
        assert {"feature", "description", "value", "contribution", "share", "evidence"} <= set(top)
    # The body wins over the query.
    both = client.post("/score", params={"contributions": "true"},
                       json={**one, "contributions": False}).json()
    assert "contributions" not in both
    batch = client.post("/score?contributions=true", json={"conversations": [one, one]}).json()
    assert all("contributions" in x for x in batch["results"])


def test_guidance_can_be_turned_off_or_localised(client: TestClient) -> None:
    one = {"messages": THREAT}
    assert "guidance" not in client.post("/score?guidance=false", json=one).json()
    fr = client.post("/score", json={**one, "locale": "fr-FR"}).json()
    assert fr["guidance"]["locale"] == "fr-FR"
    bad = client.post("/score", json={"messages": BENIGN, "locale": "xx-YY"})
    assert bad.status_code == 422 and "locale" in bad.json()["detail"]


# --- Limits and errors ------------------------------------------------------------------


def test_oversized_body_is_413_by_content_length(client: TestClient) -> None:
    big = {"messages": [{"text": "hello " * 5_000}]}  # ~30 kB > 20 kB
    r = client.post("/score", json=big)
    assert r.status_code == 413
    assert "20,000 bytes" in r.json()["detail"]


def test_oversized_streamed_body_is_413_without_content_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"messages": [{"text": "'
        for _ in range(30):
            yield b"a" * 1_000
        yield b'"}]}'

    r = client.post("/score", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers  # sent chunked
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_body_under_the_limit_streamed_is_accepted(client: TestClient) -> None:
    payload = json.dumps({"messages": THREAT}).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 7):
            yield payload[i:i + 7]

    r = client.post("/score", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["level"] == "high"


def test_bad_messages_are_422_with_the_reason(client: TestClient) -> None:
    # A wrongly typed field: pydantic's error list.
    r = client.post("/score", json={"messages": [{"text": 5}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "text"
    # The library's own checks: its message, naming the conversation and message.
    r = client.post("/score", json={"messages": [{"text": "hi", "timestamp": "yesterday"}]})
    assert r.status_code == 422 and "message 0: timestamp 'yesterday' is not ISO-8601" in (
        r.json()["detail"])
    r = client.post("/score", json={"conversations": [{"messages": BENIGN},
                                                      {"messages": []}]})
    assert r.status_code == 422 and r.json()["detail"].startswith("conversation 1")
    assert "empty" in r.json()["detail"]
    # Neither or both forms.
    for body in ({}, {"messages": THREAT, "conversations": []}):
        r = client.post("/score", json=body)
        assert r.status_code == 422 and "either 'messages'" in r.json()["detail"][0]["msg"]
    r = client.post("/score", content=b'{"messages": [', headers={
        "content-type": "application/json"})
    assert r.status_code == 422


def test_batch_over_max_batch_is_422_with_the_limit(client: TestClient) -> None:
    r = client.post("/score", json={"conversations": [{"messages": BENIGN}] * 5})
    assert r.status_code == 422
    assert "batch of 5 conversations" in r.json()["detail"]
    assert "limit of 4" in r.json()["detail"]


def test_long_input_is_windowed_with_a_warning() -> None:
    app = serve.create_app(limits=ss.Limits(max_chars=50, max_messages=3))
    with TestClient(app) as c:
        r = c.post("/score", json={"messages": [*BENIGN, *BENIGN, {"text": "x" * 80}]})
    assert r.status_code == 200
    warnings_ = r.json()["warnings"]
    assert any("scored the last 3" in w for w in warnings_)
    assert any("truncated" in w for w in warnings_)


def test_settings_are_checked() -> None:
    for bad in ({"max_batch": 0}, {"max_body_bytes": -1}, {"max_batch": True}):
        with pytest.raises(ss.InvalidInputError):
            serve.create_app(**bad)


# --- /monitor ---------------------------------------------------------------------------


def test_monitor_alerts_when_a_threat_arrives(client: TestClient) -> None:
    cid = "monitor-threat"
    first = client.post(f"/monitor/{cid}", json={"text": "hey, you play that game too?",
                                                 "sender": "a"}).json()
    serve.MonitorResponse.model_validate(first)
    assert first["message_index"] == 0 and first["alerts"] == []
    assert first["result"]["level"] == "low"
    client.post(f"/monitor/{cid}", json={"text": "i have your pics", "sender": "a"})
    r = client.post(f"/monitor/{cid}", json={
        "text": "send 150$ in 1 hour or everyone sees them", "sender": "a",
        "timestamp": "2024-05-01T21:14:00Z"})
    assert r.status_code == 200
    body = r.json()
    serve.MonitorResponse.model_validate(body)
    assert body["conversation_id"] == cid and body["message_index"] == 2
    assert body["result"]["level"] == "high"
    kinds = {(a["kind"], a["label"]) for a in body["alerts"]}
    assert ("label", "sextortion") in kinds and ("level", None) in kinds
    assert all(a["conversation_id"] == cid and a["message_index"] == 2 for a in body["alerts"])
    # A label alerts once per conversation.
    again = client.post(f"/monitor/{cid}", json={"text": "send 150$ or everyone sees them",
                                                 "sender": "a"}).json()
    assert again["message_index"] == 3
    assert not [a for a in again["alerts"] if a["kind"] == "label"]


def test_monitor_matches_scoring_the_same_messages(client: TestClient) -> None:
    cid = "monitor-equal"
    for m in THREAT:
        last = client.post(f"/monitor/{cid}?contributions=true", json=m).json()
    expected = ss.Scorer().score(_texts(THREAT))
    assert last["result"]["scores"] == pytest.approx(dict(expected.scores))
    assert "contributions" in last["result"]


def test_monitor_bad_message_is_422_and_leaves_the_conversation_alone(
        client: TestClient) -> None:
    cid = "monitor-bad"
    client.post(f"/monitor/{cid}", json={"text": "hi"})
    r = client.post(f"/monitor/{cid}", json={"text": "hi", "timestamp": "yesterday"})
    assert r.status_code == 422 and "not ISO-8601" in r.json()["detail"]
    assert client.post(f"/monitor/{cid}", json={"sender": "a"}).status_code == 422
    assert client.post(f"/monitor/{cid}", json={"text": "ok"}).json()["message_index"] == 1


def test_monitor_close_forgets_the_conversation(client: TestClient) -> None:
    cid = "monitor-close"
    client.post(f"/monitor/{cid}", json={"text": "hi"})
    assert client.delete(f"/monitor/{cid}").status_code == 204
    assert client.post(f"/monitor/{cid}", json={"text": "hi"}).json()["message_index"] == 0
    assert client.post("/monitor/" + "x" * 300, json={"text": "hi"}).status_code == 422


# --- Concurrency ------------------------------------------------------------------------


def test_concurrent_requests_give_the_serial_results(client: TestClient) -> None:
    bodies = [{"id": k, "messages": THREAT if k % 2 else BENIGN} for k in range(24)]
    serial = [client.post("/score", json=b).json() for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda b: client.post("/score", json=b).json(), bodies))
    assert parallel == serial


# --- OpenAPI ----------------------------------------------------------------------------


def test_openapi_lists_the_endpoints_and_the_result_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/score", "/monitor/{conversation_id}", "/healthz", "/version"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/score"]
    assert "post" in spec["paths"]["/monitor/{conversation_id}"]
    schemas = spec["components"]["schemas"]
    result = schemas["ScoreResultOut"]["properties"]
    for field in ("scores", "labels", "level", "signals", "indicators", "learned",
                  "contributions", "intercepts", "logits", "warnings", "lang", "guidance"):
        assert field in result, field
    assert set(schemas["SignalHitOut"]["properties"]) >= {"name", "category", "message_index",
                                                          "start", "end", "text", "rule_id"}
    assert "results" in schemas["BatchScoreResponse"]["properties"]
    assert "alerts" in schemas["MonitorResponse"]["properties"]
    responses = spec["paths"]["/score"]["post"]["responses"]
    assert {"200", "413", "422"} <= set(responses)


def test_response_models_mirror_the_result_schema_and_to_dict() -> None:
    """Fails when the library's result gains a field the service does not describe."""
    schema = json.loads((resources.files("sextortion_signals") / "schemas"
                         / "score_result.schema.json").read_text(encoding="utf-8"))
    fields = set(serve.ScoreResultOut.model_fields)
    library = {name for name, spec in schema["properties"].items()
               if not spec.get("description", "").startswith("command line only")}
    assert library <= fields
    full = ss.Scorer().score(_texts(THREAT)).to_dict(contributions=True, guidance=True)
    assert set(full) <= fields
    serve.ScoreResultOut.model_validate(full)


# --- run() ------------------------------------------------------------------------------


def test_run_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inspect.signature(serve.run).parameters["host"].default == "127.0.0.1"
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    serve.run()  # no server starts: uvicorn.run is replaced
    (app, kw), = calls
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000
    assert app.title == "sextortion-signals"


def test_run_with_workers_hands_an_app_factory_to_uvicorn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: list[tuple[Any, dict[str, Any], int]] = []

    def fake_run(app: Any, **kw: Any) -> None:  # what a worker process would build
        with TestClient(serve.app_from_env()) as c:
            r = c.post("/score", json={"conversations": [{"messages": BENIGN}] * 10})
        seen.append((app, kw, r.status_code))
        assert "limit of 9" in r.json()["detail"]

    monkeypatch.setattr(uvicorn, "run", fake_run)
    for name in (serve.ENV_MODEL, serve.ENV_MAX_BATCH, serve.ENV_MAX_BODY_BYTES):
        monkeypatch.setenv(name, "before")
    serve.run(workers=2, max_batch=9)
    (app, kw, status), = seen
    assert app == "sextortion_signals.serve:app_from_env" and status == 422
    assert kw["factory"] is True and kw["workers"] == 2 and kw["host"] == "127.0.0.1"
    assert os.environ[serve.ENV_MAX_BATCH] == "before"  # the caller's environment is back
    with pytest.raises(ss.InvalidInputError):
        serve.run(workers=0)


# --- benchmarks/serve_bench.py ----------------------------------------------------------


def _bench() -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "serve_bench.py"
    spec = importlib.util.spec_from_file_location("_bench_serve", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_percentile_is_nearest_rank() -> None:
    bench = _bench()
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile([3.0], 99) == 3.0


@pytest.mark.slow
def test_bench_smoke_run_writes_its_report(tmp_path: Any) -> None:
    bench = _bench()
    res = bench.main(["--smoke", "--requests", "16", "--out", str(tmp_path)])
    assert all(s["errors"] == 0 and s["requests"] == 16 for s in res["scenarios"].values())
    assert "| `/score` |" in (tmp_path / "SERVE_RESULTS.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "SERVE_RESULTS.json").read_text())["clients"] == 8
