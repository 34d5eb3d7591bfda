from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sextortion_signals import InvalidInputError, Limits, Message, extract_signals
from sextortion_signals.messages import Conversation, coerce_conversation


def test_accepted_shapes() -> None:
    assert coerce_conversation("hi").messages == (Message("hi"),)
    assert len(coerce_conversation(["a", "b"]).messages) == 2
    conv = coerce_conversation([{"text": "a", "sender": 7, "timestamp": 10},
                                {"text": "b", "timestamp": "2024-01-01T00:00:10Z"}])
    assert conv.messages[0].sender == "7"
    assert conv.messages[1].timestamp == 1704067210.0


@pytest.mark.parametrize(("bad", "exc", "where"), [
    (42, TypeError, "messages must be"),
    (b"bytes", TypeError, "messages must be"),
    ([], InvalidInputError, "empty"),
    (["ok", 3], TypeError, "message 1"),
    ([{"txt": "x"}], InvalidInputError, "message 0: unknown key"),
    ([{"sender": "a"}], InvalidInputError, "missing required key 'text'"),
    ([{"text": "a", "timestamp": "yesterday"}], InvalidInputError, "message 0"),
    ([{"text": "a", "timestamp": float("nan")}], InvalidInputError, "message 0"),
    ([{"text": "a", "timestamp": True}], TypeError, "timestamp"),
    ([{"text": None}], TypeError, "message 0"),
])
def test_bad_input_names_what_to_fix(bad: Any, exc: type[Exception], where: str) -> None:
    with pytest.raises(exc, match=where):
        coerce_conversation(bad)


def test_invalid_input_error_is_a_value_error() -> None:
    assert issubclass(InvalidInputError, ValueError)


def test_empty_text_is_valid_and_silent() -> None:
    assert extract_signals("") == []
    assert extract_signals(["", "   "]) == []


def test_oversized_input_is_truncated_and_says_so() -> None:
    conv = coerce_conversation(["x" * 50, "short"], Limits(max_chars=10))
    assert conv.messages[0].text == "x" * 10
    assert conv.truncated_messages == (0,)
    assert any("truncated" in w for w in conv.warnings)


def test_long_conversation_keeps_latest_and_says_so() -> None:
    conv = coerce_conversation([str(i) for i in range(10)], Limits(max_messages=3))
    assert [m.text for m in conv.messages] == ["7", "8", "9"]
    assert conv.offset == 7 and conv.dropped_messages == 7
    assert any("left out" in w for w in conv.warnings)
    hits = extract_signals(["how old are you"] * 5, limits=Limits(max_messages=2))
    assert {h.message_index for h in hits} == {3, 4}


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_limits_validate(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="positive int"):
        Limits(max_chars=value)


def test_lone_surrogates_do_not_crash() -> None:
    assert isinstance(extract_signals("pay \ud800 now"), list)


def test_lone_surrogates_are_replaced_one_for_one_and_reported() -> None:
    conv = coerce_conversation(["ok", "pay \ud800 now or i post \udc00 it"])
    assert conv.messages[1].text == "pay \ufffd now or i post \ufffd it"
    assert len(conv.messages[1].text) == len("pay \ud800 now or i post \udc00 it")
    assert any("lone surrogates" in w and "[1]" in w for w in conv.warnings)
    assert not coerce_conversation(["pay now"]).warnings


@pytest.mark.parametrize("item", ["hello", "quel âge as-tu", {"text": "hi", "sender": 7},
                                  {"text": "hi", "timestamp": "2024-05-01T21:14:00Z"},
                                  Message("yo", "a", 3.0)])
def test_one_message_coerces_as_in_a_longer_conversation(item: Any) -> None:
    alone = coerce_conversation([item])
    longer = coerce_conversation([item, "next"])
    assert alone.messages == longer.messages[:1]
    assert (alone.offset, alone.truncated_messages, alone.warnings) == (0, (), ())


def test_one_message_is_still_truncated_and_repaired_with_warnings() -> None:
    conv = coerce_conversation(["x" * 50], Limits(max_chars=10))
    assert conv.messages[0].text == "x" * 10 and conv.truncated_messages == (0,)
    assert any("truncated" in w for w in conv.warnings)
    conv = coerce_conversation("pay \ud800 now")
    assert conv.messages[0].text == "pay \ufffd now"
    assert any("lone surrogates" in w for w in conv.warnings)


@pytest.mark.parametrize("text", ["hello", "", "pay 150$ now", "x" * 20_000,
                                  "paye 150€ 😂 ce soir"])
def test_one_plain_message_is_the_same_conversation_as_built_by_its_class(text: str) -> None:
    # Plain ASCII messages are built slot by slot (faster than the dataclass __init__):
    # the result must be indistinguishable, and still frozen.
    built = Conversation((Message(text),))
    for conv in (coerce_conversation(text), coerce_conversation([text])):
        assert conv == built and hash(conv) == hash(built) and repr(conv) == repr(built)
        assert type(conv) is Conversation and type(conv.messages[0]) is Message
        with pytest.raises(dataclasses.FrozenInstanceError):
            conv.messages[0].text = "changed"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            conv.offset = 1  # type: ignore[misc]


def test_one_message_with_a_lone_surrogate_is_repaired_and_reported() -> None:
    conv = coerce_conversation("pay \ud800 now")
    assert conv.messages[0].text == "pay \ufffd now"
    assert any("lone surrogates" in w for w in conv.warnings)
