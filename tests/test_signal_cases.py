"""Per signal and language: hand-written positives must fire, hard negatives must not."""

from __future__ import annotations

import pytest

from sextortion_signals import extract_signals, extract_signals_many

from .conftest import signal_cases


def _params(kind: str) -> list[tuple[str, str, str]]:
    return [(lang, sig, text) for lang in ("en", "fr")
            for sig, c in signal_cases(lang).items() for text in c[kind]]


@pytest.mark.parametrize(("lang", "signal", "text"), _params("positive"))
def test_positive_fires(lang: str, signal: str, text: str) -> None:
    hits = [h for h in extract_signals(text) if h.name == signal]
    assert hits, f"{signal} ({lang}) did not fire on {text!r}"
    for h in hits:
        assert text[h.start:h.end] == h.text and h.text.strip()


@pytest.mark.parametrize(("lang", "signal", "text"), _params("negative"))
def test_hard_negative_does_not_fire(lang: str, signal: str, text: str) -> None:
    """The rules' hard negatives (frames are weaker evidence, weighed by the model: their
    hard negatives are scored, in tests/test_frames.py)."""
    hits = [(h.text, h.rule_id) for h in extract_signals(text)
            if h.name == signal and not h.rule_id.startswith("frame/")]
    assert not hits, f"{signal} ({lang}) fired on hard negative {text!r}: {hits}"


def test_batch_equals_one_by_one() -> None:
    texts = [t for _, _, t in _params("positive")][:120]
    assert extract_signals_many(texts) == [extract_signals(t) for t in texts]


def test_hit_fields_and_message_index() -> None:
    conv = [{"text": "hey", "sender": "a"},
            {"text": "send $500 in bitcoin or I post everything to your family", "sender": "b"}]
    hits = extract_signals(conv)
    assert {h.message_index for h in hits} == {1}
    names = {h.name for h in hits}
    assert {"payment_demand", "threat_to_share"} <= names
    for h in hits:
        assert h.category in ("grooming", "sextortion", "context")
        assert h.lang == "en"
        assert set(h.to_dict()) >= {"name", "category", "message_index", "start", "end", "text"}
