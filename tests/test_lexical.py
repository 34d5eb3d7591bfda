"""The learned lexical evidence: the per-word fast path equals the plain bucket-by-bucket
path, a message reads as its likeliest clause, evidence spans point into the caller's
text, and the model round-trips through its file format and pickling."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sextortion_signals import lexical as lx
from sextortion_signals.estimators import LexicalClassifier
from sextortion_signals.model import default_model
from sextortion_signals.synth import generate
from sextortion_signals.synth.authored import read
from sextortion_signals.text.normalize import normalize

from .conftest import ROOT


@pytest.fixture(scope="module")
def model() -> lx.LexicalModel:
    found = default_model().lexical
    assert found is not None
    return found


def corpus_texts() -> list[str]:
    texts = [m["text"] for c in generate(80, seed=2) for m in c["messages"]]
    rows = list(read(ROOT / "datasets" / "authored", "train"))[:60]
    texts += [m["text"] for r in rows for m in r["messages"]]
    return [normalize(t).text for t in texts]


def test_fast_logits_equal_the_reference_path(model: lx.LexicalModel) -> None:
    texts = [*corpus_texts(), "", "   ", "😂😂", "a" * 300, "$50 @everyone"]
    assert np.allclose(model.logits(texts), model.reference_logits(texts), atol=1e-9)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=60), min_size=1, max_size=5))
def test_fast_logits_equal_the_reference_path_on_any_text(texts: list[str]) -> None:
    found = default_model().lexical
    assert found is not None
    norm = [normalize(t).text for t in texts]
    assert np.allclose(found.logits(norm), found.reference_logits(norm), atol=1e-9)


def test_bounded_word_tables_give_the_same_numbers(model: lx.LexicalModel,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    texts = corpus_texts()
    expected = model.logits(texts)
    monkeypatch.setattr(lx, "MAX_WORDS_KEPT", 10)  # tables replaced again and again
    fresh = lx.LexicalModel(model.groups, model.bits, model.weights, model.bias)
    assert np.allclose(fresh.logits(texts), expected, atol=1e-12)
    assert np.allclose(fresh.logits(texts), expected, atol=1e-12)


def _reference_message_probabilities(model: lx.LexicalModel, text: str) -> np.ndarray:
    """The rule spelled out: the whole message if short, else 0; then every clause, or
    every window of a long clause, if higher."""
    tokens = lx.TOKEN.findall(text)
    best = model.probabilities([text])[0] if len(tokens) <= lx.WINDOW else np.zeros(
        len(model.groups))
    clauses = [c for c in re.split(r"[.!?;\n]+", text) if c.strip()]
    if len(clauses) > 1 or len(tokens) > lx.WINDOW:
        for clause in clauses:
            words = lx.TOKEN.findall(clause)
            starts = range(0, max(len(words) - lx.WINDOW, 0) + 1)
            for i in starts:  # every window: the kept ones overlap by half, the max is equal
                if i % (lx.WINDOW // 2) == 0 or i == starts[-1]:
                    window = " ".join(words[i:i + lx.WINDOW])
                    best = np.maximum(best, model.probabilities([window])[0])
    return best


def test_a_message_reads_as_its_likeliest_clause(model: lx.LexicalModel) -> None:
    texts = [normalize(t).text for t in [
        "i have your pics. pay 200 dollars or your friends see them",
        "hello there", "ok! see you tomorrow; bring the ball\nbye",
        "we went to the park and " * 12, "a long day. " + "and then we walked " * 20]]
    got = model.message_probabilities(texts)
    for k, text in enumerate(texts):
        assert np.allclose(got[k], _reference_message_probabilities(model, text)), text
    claim = model.groups.index("claim")
    assert got[0, claim] > model.probabilities(texts[:1])[0, claim]


@pytest.mark.parametrize("text", ["hello friend", "lol", "the weather is nice today",
                                  "i have your pics", "ok see you"])
def test_saying_it_again_never_raises_the_score(model: lx.LexicalModel, text: str) -> None:
    # Twice already holds every distinct word and pair that more copies hold.
    twice = model.message_probabilities([f"{text} {text}"])[0]
    for times in (3, 10, 1000):
        again = model.message_probabilities([" ".join([text] * times)])[0]
        assert np.allclose(again, twice, atol=1e-12), times


def test_windows_cover_a_long_clause_overlapping_by_half() -> None:
    words = [f"w{i}" for i in range(100)]
    found = lx.windows(words)
    assert all(len(w) == lx.WINDOW for w in found)
    assert found[0][0] == "w0" and found[-1][-1] == "w99"
    assert lx.windows(words[:5]) == [words[:5]] and lx.windows([]) == []
    covered = {w for window in found for w in window}
    assert covered == set(words)


def test_evidence_spans_point_into_the_original_text(model: lx.LexicalModel) -> None:
    original = "I HAVE your p1cs... PAY 200 $ or your FRIENDS see them"
    grams = model.evidence(normalize(original), "threat")
    assert grams
    for gram in grams:
        assert original[gram.start:gram.end] == gram.text and gram.weight > 0


def test_file_format_and_pickle_round_trip(model: lx.LexicalModel) -> None:
    texts = corpus_texts()[:50]
    again = lx.LexicalModel.from_dict(model.to_dict())
    assert np.allclose(again.logits(texts), model.logits(texts), atol=1e-12)
    unpickled = pickle.loads(pickle.dumps(model))
    assert np.array_equal(unpickled.logits(texts), model.logits(texts))


def test_classifier_learns_and_is_deterministic() -> None:
    texts = ["pay me now", "send 50 dollars", "see you at practice", "lol ok",
             "pay 20 euros", "good night"] * 5
    demand = np.array([1, 1, 0, 0, 1, 0] * 5)
    Y = np.zeros((len(texts), 7), dtype=int)
    Y[:, 2] = demand  # the 'demand' group
    Y[:5, 0] = 1  # every group needs both classes
    Y[:5, 1] = Y[:5, 3] = Y[:5, 4] = Y[:5, 5] = Y[:5, 6] = 1
    a = LexicalClassifier(bits=12, C=1.0).fit(texts, Y)
    b = LexicalClassifier(bits=12, C=1.0).fit(texts, Y)
    pa = a.predict_proba(["pay now", "see you"])
    assert np.array_equal(pa, b.predict_proba(["pay now", "see you"]))
    assert pa[0, 2] > 0.5 > pa[1, 2]
