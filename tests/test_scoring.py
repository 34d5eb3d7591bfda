"""score(): calibrated, explainable, exact contributions, batch == single."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sextortion_signals as ss

ROOT = Path(__file__).resolve().parents[1]
SEXTORTION = [
    {"sender": "x", "text": "i have your pics and i recorded the video call",
     "timestamp": "2026-03-01T21:02:00Z"},
    {"sender": "x", "text": "send 200$ in bitcoin or i send everything to your family",
     "timestamp": "2026-03-01T21:03:00Z"},
    {"sender": "x", "text": "you have 10 minutes", "timestamp": "2026-03-01T21:03:30Z"},
]
GROOMING = ["you're so mature for your age", "how old are you", "im 13",
            "i'm the only one who gets you", "don't tell your parents about us",
            "are your parents home? add me on snap"]
HARD_NEGATIVES = [
    "i'll destroy you at fortnite lol",
    "you still owe me 20 for the pizza",
    "if someone threatens to post your pics, don't pay, block and report",
    "hurry the bus leaves in 5 min",
    "don't tell mom about the surprise party",
    "send me the photos from the trip",
]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sample_conversations(n: int = 150) -> list[list[dict[str, object]]]:
    lines = (ROOT / "datasets" / "sample" / "test_heldout.jsonl").read_text().splitlines()
    return [json.loads(x)["messages"] for x in lines[:n]]


def test_result_fields() -> None:
    r = ss.score(SEXTORTION)
    assert set(r.scores) == {"grooming", "sextortion"}
    assert all(0.0 <= p <= 1.0 for p in r.scores.values())
    assert r.labels == ("sextortion",) and r.level == "high"
    assert {"possession_claim", "threat_to_share", "payment_demand",
            "deadline_urgency"} <= {h.name for h in r.signals}
    assert {i.kind for i in r.indicators} >= {"amount", "deadline"}


def test_results_are_read_only_values() -> None:
    r = ss.score(SEXTORTION)
    for name in ("scores", "labels", "level", "signals", "indicators", "warnings",
                 "features", "model", "metadata", "contributions"):
        with pytest.raises(AttributeError):
            setattr(r, name, None)
    assert isinstance(r.signals, tuple) and isinstance(r.labels, tuple)
    row = r.features
    row[:] = 99.0  # a copy: the result's own row is untouched
    assert not (r.features == 99.0).all()
    assert r.to_dict() == ss.score(SEXTORTION).to_dict()
    assert repr(r).startswith("ScoreResult(scores={")


def test_a_result_owns_its_row_and_pickles_without_the_batch() -> None:
    import pickle

    results = ss.Scorer().score_many([SEXTORTION] + ["hello"] * 999)
    assert results[0].features.shape == (len(results[0].model.feature_names),)
    blob = pickle.dumps(results[0])
    # The model's parameters travel with it, the batch's 1,000 rows do not.
    assert len(blob) < len(pickle.dumps(results[0].model)) + 50_000
    back = pickle.loads(blob)
    assert back.to_dict() == results[0].to_dict()


def test_grooming_conversation_is_flagged() -> None:
    r = ss.score(GROOMING)
    assert "grooming" in r.labels and r.level == "high"


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_not_flagged(text: str) -> None:
    r = ss.score(text)
    assert r.labels == (), (text, r.scores)


def test_contributions_are_exact_in_log_odds() -> None:
    results = ss.score_many(_sample_conversations())
    for r in results:
        for label, p in r.scores.items():
            total = r.intercepts[label] + sum(c.contribution for c in r.contributions[label])
            assert total == pytest.approx(r.logits[label], abs=1e-9)
            assert p == pytest.approx(1 / (1 + math.exp(-r.logits[label])), abs=1e-12)
            if 1e-6 < p < 1 - 1e-6:
                assert _logit(p) == pytest.approx(r.logits[label], abs=1e-6)


@given(st.lists(st.text(max_size=120), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_contributions_exact_on_any_input(texts: list[str]) -> None:
    r = ss.score(texts)
    for label in r.scores:
        total = r.intercepts[label] + sum(c.contribution for c in r.contributions[label])
        assert abs(total - r.logits[label]) < 1e-9


def test_contributions_carry_evidence_spans() -> None:
    r = ss.score(SEXTORTION)
    top = r.contributions["sextortion"]
    assert list(top) == sorted(top, key=lambda c: -abs(c.contribution))
    spans = [e for c in top for e in c.evidence if e.kind == "signal"]
    assert spans
    texts = [m["text"] for m in SEXTORTION]
    for e in spans:
        assert texts[e.message_index][e.start:e.end] == e.text  # type: ignore[index]


def test_score_many_equals_score() -> None:
    convs = _sample_conversations(60) + [[t] for t in HARD_NEGATIVES]
    batch = ss.score_many(convs)
    for conv, r in zip(convs, batch, strict=True):
        assert r.to_dict() == ss.score(conv).to_dict()


def test_same_input_same_score() -> None:
    assert ss.score(SEXTORTION).to_dict() == ss.score(SEXTORTION).to_dict()


def test_to_dict_is_json_and_matches_the_documented_schema() -> None:
    schema = json.loads((resources.files("sextortion_signals") / "schemas"
                         / "score_result.schema.json").read_text())
    for conv in [SEXTORTION, GROOMING, "", "hello"]:
        d = json.loads(json.dumps(ss.score(conv).to_dict()))
        jsonschema.validate(d, schema)
    lean = ss.score(SEXTORTION).to_dict(contributions=False)
    jsonschema.validate(lean, schema)
    assert "contributions" not in lean
    assert lean == {k: v for k, v in ss.score(SEXTORTION).to_dict().items()
                    if k != "contributions"}
    bad = ss.score("x").to_dict()
    bad["level"] = "extreme"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_contributions_are_not_computed_unless_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals import explain

    calls = []
    real = explain.build_contributions
    monkeypatch.setattr(explain, "build_contributions",
                        lambda *a: calls.append(1) or real(*a))
    r = ss.score(SEXTORTION)
    r.to_dict(contributions=False)
    assert calls == []
    assert r.contributions and r.contributions is r.contributions and calls == [1]


def test_explain_names_tactics_and_quotes_evidence() -> None:
    text = ss.score(SEXTORTION).explain()
    assert "HIGH RISK" in text and "threatens to share images" in text
    assert "Do not pay" in text and "i have your pics" in text
    assert "threat_to_share" in ss.score(SEXTORTION).explain(technical=True)
    low = ss.score("see you at practice").explain()
    assert "LOW" in low and "Do not pay" not in low


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ss.InvalidInputError, match="message 1"):
        ss.score([{"text": "a"}, {"txt": "b"}])  # 'txt' is metadata; 'text' is missing
    with pytest.raises(TypeError):
        ss.score(12)


def test_truncation_is_reported_in_the_result() -> None:
    r = ss.Scorer(limits=ss.Limits(max_chars=50)).score("pay now " * 20)
    assert r.warnings and "truncated" in r.warnings[0]


def test_french_and_unknown_language() -> None:
    r = ss.score(["j'ai tes photos", "paye 150€ en PCS sinon je les envoie à tes parents",
                  "t'as 10 min"])
    assert r.labels == ("sextortion",)
    assert {h.lang for h in r.signals} == {"fr"}


@pytest.mark.slow
def test_n_jobs_gives_identical_results() -> None:
    convs = _sample_conversations(120)
    scorer = ss.Scorer()
    one = scorer.score_many(convs)
    many = scorer.score_many(convs, n_jobs=2, batch_size=40)
    assert [r.to_dict() for r in one] == [r.to_dict() for r in many]
    # Bad input found in a worker process reaches the caller as the same error.
    with pytest.raises(ss.InvalidInputError, match="missing required key 'text'"):
        scorer.score_many([*convs[:50], [{"sender": "a"}]], n_jobs=2, batch_size=40)


def test_the_notebook_runs() -> None:
    """notebooks/reading_a_score.ipynb: every code cell executes against the shipped model."""
    nb = json.loads((ROOT / "notebooks" / "reading_a_score.ipynb").read_text())
    namespace: dict[str, object] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)  # our own notebook


@pytest.mark.parametrize(("kwargs", "match"), [({"batch_size": 0}, "batch_size"),
                                               ({"batch_size": 2.5}, "batch_size"),
                                               ({"n_jobs": 0}, "n_jobs"),
                                               ({"n_jobs": "2"}, "n_jobs")])
def test_score_many_options_are_checked(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ss.InvalidInputError, match=match):
        ss.Scorer().score_many(["hello"], **kwargs)  # type: ignore[arg-type]


def test_batches_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals import api

    convs = _sample_conversations(30)
    scorer = ss.Scorer()
    whole = [r.to_dict() for r in scorer.score_many(convs)]
    batches: list[int] = []
    real_extract = api.extract

    def counting_extract(model: Any, vectorizer: Any, analyzer: Any, batch: Any) -> Any:
        batches.append(len(batch))
        return real_extract(model, vectorizer, analyzer, batch)

    monkeypatch.setattr(api, "extract", counting_extract)
    assert [r.to_dict() for r in scorer.score_many(convs, batch_size=7)] == whole
    assert batches == [7, 7, 7, 7, 2]
    batches.clear()
    monkeypatch.setattr(api, "BATCH_SIZE", 11)  # the default batch size is read per call
    assert [r.to_dict() for r in scorer.score_many(convs)] == whole
    assert batches == [11, 11, 8]
