"""Caller input: accepted shapes, metadata passed through, errors that say where and how to
fix, limits, broken Unicode and out-of-range values (each a fuzz finding)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sextortion_signals as ss
from sextortion_signals import InvalidInputError, Limits, Message, extract_signals
from sextortion_signals.inputs import Conversation, coerce_conversation, coerce_many


def test_accepted_shapes() -> None:
    assert coerce_conversation("hi").messages == (Message("hi"),)
    assert len(coerce_conversation(["a", "b"]).messages) == 2
    conv = coerce_conversation([{"text": "a", "sender": 7, "timestamp": 10},
                                {"text": "b", "timestamp": "2024-01-01T00:00:10Z"}])
    assert conv.messages[0].sender == "7"
    assert conv.messages[1].timestamp == 1704067210.0
    whole = coerce_conversation({"messages": ["x", "y"], "id": "c1", "channel": "dm"})
    assert [m.text for m in whole.messages] == ["x", "y"]
    assert whole.metadata == {"id": "c1", "channel": "dm"}


def test_unknown_keys_are_kept_as_metadata_never_a_reason_to_refuse() -> None:
    conv = coerce_conversation([{"text": "pay 50 euros tonight or everyone sees the pics",
                                 "channel": "dm", "id": "f"}])
    assert conv.messages[0].metadata == {"channel": "dm", "id": "f"}
    conversation = [{"text": "i have your pics", "channel": "dm"},
                    {"text": "pay 50 euros tonight or everyone sees them", "channel": "dm"}]
    r = ss.score({"messages": conversation, "id": "f", "platform": "x"})
    assert r.metadata == {"id": "f", "platform": "x"}
    plain = ss.score([m["text"] for m in conversation])
    assert r.scores == plain.scores and r.level == plain.level == "high"


@pytest.mark.parametrize(("bad", "exc", "where"), [
    (42, TypeError, "a conversation must be"),
    (b"bytes", TypeError, "a conversation must be"),
    ([], InvalidInputError, "empty"),
    (["ok", 3], TypeError, "message 1"),
    ([{"sender": "a"}], InvalidInputError, "message 0: missing required key 'text'"),
    ([{"text": "a", "timestamp": "yesterday"}], InvalidInputError, "message 0"),
    ([{"text": "a", "timestamp": float("nan")}], InvalidInputError, "message 0"),
    ([{"text": "a", "timestamp": 10**400}], InvalidInputError, "not a date"),
    ([{"text": "a", "timestamp": 1e300}], InvalidInputError, "not a date"),
    ([{"text": "a", "timestamp": True}], TypeError, "timestamp"),
    ([{"text": None}], TypeError, "message 0"),
    ([{"text": "a", "sender": ["x"]}], TypeError, "'sender' must be"),
    ([Message("a", ["x"])], TypeError, "'sender' must be"),  # type: ignore[arg-type]
    ([Message("a", None, "soon")], InvalidInputError, "ISO-8601"),  # type: ignore[arg-type]
    ({"messages": "hi"}, TypeError, "'messages' must be a list"),
])
def test_bad_input_names_what_to_fix(bad: Any, exc: type[Exception], where: str) -> None:
    with pytest.raises(exc, match=where):
        coerce_conversation(bad)


def test_batch_errors_name_the_conversation_and_the_message() -> None:
    with pytest.raises(InvalidInputError, match=r"conversation 1, message 0: missing"):
        ss.score_many([["ok"], [{"sender": "a"}]])
    with pytest.raises(TypeError, match="conversation 2, message 1"):
        coerce_many(["a", "b", ["c", 4]])


@pytest.mark.parametrize("bad", ["ab", b"ab", {"text": "a"}, Message("a")])
def test_a_single_conversation_passed_as_a_batch_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="use score"):
        ss.score_many(bad)


def test_invalid_input_error_is_a_value_error() -> None:
    assert issubclass(InvalidInputError, ValueError)


def test_empty_text_is_valid_and_silent() -> None:
    assert extract_signals("") == []
    assert extract_signals(["", "   "]) == []


def test_oversized_input_is_truncated_and_says_so() -> None:
    conv = coerce_conversation(["x" * 50, "short"], Limits(max_chars=10))
    assert conv.messages[0].text == "x" * 10
    assert any("truncated" in w and "[0]" in w for w in conv.warnings)
    conv = coerce_conversation("x" * 50, Limits(max_chars=10))
    assert conv.messages[0].text == "x" * 10 and conv.warnings


def test_long_conversation_keeps_latest_and_says_so() -> None:
    conv = coerce_conversation([str(i) for i in range(10)], Limits(max_messages=3))
    assert [m.text for m in conv.messages] == ["7", "8", "9"]
    assert conv.offset == 7
    assert any("left out" in w for w in conv.warnings)
    hits = extract_signals(["how old are you"] * 5, limits=Limits(max_messages=2))
    assert {h.message_index for h in hits} == {3, 4}


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_limits_validate(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="positive int"):
        Limits(max_chars=value)


def test_lone_surrogates_are_replaced_one_for_one_and_reported() -> None:
    conv = coerce_conversation(["ok", "pay \ud800 now or i post \udc00 it"])
    assert conv.messages[1].text == "pay \ufffd now or i post \ufffd it"
    assert len(conv.messages[1].text) == len("pay \ud800 now or i post \udc00 it")
    assert any("lone surrogates" in w and "[1]" in w for w in conv.warnings)
    assert not coerce_conversation(["pay now"]).warnings
    conv = coerce_conversation("pay \ud800 now")
    assert conv.messages[0].text == "pay \ufffd now" and conv.warnings


@pytest.mark.parametrize("item", ["hello", "quel âge as-tu", {"text": "hi", "sender": 7},
                                  {"text": "hi", "timestamp": "2024-05-01T21:14:00Z"},
                                  Message("yo", "a", 3.0)])
def test_one_message_coerces_as_in_a_longer_conversation(item: Any) -> None:
    alone = coerce_conversation([item])
    longer = coerce_conversation([item, "next"])
    assert alone.messages == longer.messages[:1]
    assert (alone.offset, alone.warnings) == (0, ())
    assert coerce_conversation(item).messages == alone.messages


def test_inputs_are_immutable_values() -> None:
    conv = coerce_conversation("hello")
    assert conv == Conversation((Message("hello"),)) and hash(conv) == hash(conv)
    with pytest.raises(AttributeError):
        conv.messages[0].text = "changed"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["text", "sender", "timestamp", "x",
                                                       "messages"]), inner, max_size=4),
                    max_leaves=10))
def test_any_value_is_coerced_or_refused_with_a_documented_error(value: Any) -> None:
    try:
        conv = coerce_conversation(value)
    except (TypeError, InvalidInputError):
        return
    assert conv.messages and all(isinstance(m.text, str) for m in conv.messages)
