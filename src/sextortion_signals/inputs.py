"""Where caller input is checked and becomes an ordered ``Conversation``.

Accepted for one conversation: a ``str`` (one message), a ``Message``, a mapping with
``text``, or a sequence of those; a mapping with ``messages`` is a whole conversation
(its other keys are kept as metadata). Message mappings need ``text``; ``sender`` and
``timestamp`` (ISO-8601 string, ``datetime`` or epoch seconds) are optional and any
other key is kept as metadata, never a reason to refuse the message.

Wrong types raise ``TypeError``, wrong values ``InvalidInputError``; both name the
conversation (in a batch) and the message index. Oversized input is truncated or
windowed and the conversation's ``warnings`` say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .errors import InvalidInputError

DEFAULT_MAX_CHARS = 20_000
DEFAULT_MAX_MESSAGES = 2_000
# Epoch seconds beyond year 9999 (or before year 1) cannot be dates.
_MAX_EPOCH = 253_402_300_799.0
_MESSAGE_KEYS = ("text", "sender", "timestamp")


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits. Longer messages are truncated; longer conversations keep the most
    recent ``max_messages`` (the newest messages matter most to a moderator)."""

    max_chars: int = DEFAULT_MAX_CHARS
    max_messages: int = DEFAULT_MAX_MESSAGES

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_messages"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"Limits.{name} must be a positive int, got {value!r}")


_DEFAULT_LIMITS = Limits()


class Message(NamedTuple):
    """One chat message. ``timestamp`` is epoch seconds (UTC); ``metadata`` holds any
    other field the caller gave, passed through untouched."""

    text: str
    sender: str | None = None
    timestamp: float | None = None
    metadata: Mapping[str, Any] | None = None


class Conversation(NamedTuple):
    """Checked messages, in order (named tuples: one is made per scored item)."""

    messages: tuple[Message, ...]
    offset: int = 0  # index of messages[0] in the caller's input (non-zero when windowed)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] | None = None


def parse_timestamp(value: object, where: str) -> float | None:
    """ISO-8601 string, ``datetime`` or epoch seconds -> epoch seconds (naive is UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{where}: timestamp must be an ISO-8601 string or epoch seconds, "
                        f"got bool")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds) or abs(seconds) > _MAX_EPOCH:
            raise InvalidInputError(f"{where}: timestamp {str(value)[:30]!r} is not a date: "
                                    f"give epoch seconds between 0 and {_MAX_EPOCH:.0f} or "
                                    f"an ISO-8601 string")
        return seconds
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(
                f"{where}: timestamp {value[:40]!r} is not ISO-8601; use e.g. "
                f"'2024-05-01T21:14:00Z' or epoch seconds like 1714598040") from None
    else:
        raise TypeError(f"{where}: timestamp must be an ISO-8601 string or epoch seconds, "
                        f"got {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.timestamp()
    except (OverflowError, ValueError, OSError):
        raise InvalidInputError(f"{where}: timestamp {value!s:.40} is out of range") from None


def repair_text(text: str) -> tuple[str, bool]:
    """(text, repaired): lone surrogates (broken UTF-16 from some clients) cannot be
    encoded; each becomes U+FFFD, one character for one, so offsets stay valid."""
    if text.isascii():
        return text, False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text), True
    return text, False


def _sender(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{where}: 'sender' must be a str or an int, got "
                        f"{type(value).__name__}")
    return repair_text(str(value))[0]


def _extra(mapping: Mapping[Any, Any], known: Sequence[str]) -> dict[str, Any] | None:
    extra = {str(k): v for k, v in mapping.items() if k not in known}
    return extra or None


def _message(item: object, where: str) -> tuple[Message, bool]:
    """One message from a caller item, and whether its text was repaired."""
    if isinstance(item, str):
        text, repaired = repair_text(item)
        return Message(text), repaired
    if type(item) is Message:
        raw_text, raw_sender, raw_time, metadata = (item.text, item.sender, item.timestamp,
                                                    item.metadata)
    elif isinstance(item, Mapping):
        if "text" not in item:
            raise InvalidInputError(f"{where}: missing required key 'text', e.g. "
                                    f"{{'text': 'hi', 'sender': 'a'}}")
        raw_text, raw_sender, raw_time = item["text"], item.get("sender"), item.get("timestamp")
        metadata = _extra(item, _MESSAGE_KEYS)
    else:
        raise TypeError(f"{where}: expected a str, a Message or a mapping with 'text', got "
                        f"{type(item).__name__}")
    if not isinstance(raw_text, str):
        raise TypeError(f"{where}: 'text' must be a str, got {type(raw_text).__name__}")
    text, repaired = repair_text(raw_text)
    return Message(text, _sender(raw_sender, where), parse_timestamp(raw_time, where),
                   metadata), repaired


def _items(value: Any, where: str) -> tuple[Sequence[Any], Mapping[str, Any] | None]:
    """The message items of one conversation and its own metadata. A plain tuple is a
    sequence of messages (a ``Message`` or ``Conversation`` is a named tuple: checked by
    exact type first)."""
    if type(value) is Message:
        return [value], None
    if isinstance(value, Mapping) and "messages" in value:
        messages = value["messages"]
        if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
            raise TypeError(f"{where}: 'messages' must be a list of messages, got "
                            f"{type(messages).__name__}")
        return messages, _extra(value, ("messages",))
    if isinstance(value, str | Message | Mapping):
        return [value], None
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return value, None
    raise TypeError(f"{where}: a conversation must be a str, a list of str, a list of "
                    f"mappings with 'text' (and optional 'sender', 'timestamp'), or a "
                    f"mapping with 'messages'; got {type(value).__name__}")


def coerce_conversation(value: Any, limits: Limits | None = None,
                        where: str = "", number_from: int = 0) -> Conversation:
    """Check and normalise one conversation. ``where`` prefixes error messages (e.g.
    ``"conversation 3"`` in a batch); ``number_from``: the number errors and warnings give
    the first message (a live conversation's next message is not its message 0)."""
    limits = limits or _DEFAULT_LIMITS
    if type(value) is str and len(value) <= limits.max_chars:  # the commonest input
        text, was_repaired = repair_text(value)
        if not was_repaired:
            return Conversation((Message(text),))
    if type(value) is Conversation:
        return value
    prefix = f"{where}, " if where else ""
    items, metadata = _items(value, where or "input")
    if len(items) == 0:
        raise InvalidInputError(f"{where or 'input'}: the conversation is empty; pass at least "
                                f"one message (an empty string is a valid message)")
    warnings: list[str] = []
    offset = 0
    if len(items) > limits.max_messages:
        offset = len(items) - limits.max_messages
        warnings.append(f"conversation has {len(items)} messages; scored the last "
                        f"{limits.max_messages} (messages 0..{offset - 1} left out)")
        items = items[offset:]
    messages: list[Message] = []
    truncated: list[int] = []
    repaired: list[int] = []
    for i, item in enumerate(items, start=offset + number_from):
        msg, was_repaired = _message(item, f"{prefix}message {i}")
        if was_repaired:
            repaired.append(i)
        if len(msg.text) > limits.max_chars:
            msg = Message(msg.text[:limits.max_chars], msg.sender, msg.timestamp, msg.metadata)
            truncated.append(i)
        messages.append(msg)
    if truncated:
        warnings.append(f"{len(truncated)} message(s) longer than {limits.max_chars} chars "
                        f"were truncated: {truncated[:10]}")
    if repaired:
        warnings.append(f"{len(repaired)} message(s) had lone surrogates (invalid Unicode), "
                        f"each replaced by U+FFFD: {repaired[:10]}")
    return Conversation(tuple(messages), offset, tuple(warnings), metadata)


def coerce_many(conversations: Iterable[Any], limits: Limits | None = None) -> list[Conversation]:
    """``coerce_conversation`` on each item; errors name the conversation's position."""
    if isinstance(conversations, str | bytes | bytearray | Mapping) or type(conversations) in (
            Message, Conversation):
        raise TypeError("score_many takes an iterable of conversations (e.g. a list of "
                        "str or of message lists), not a single "
                        f"{type(conversations).__name__}; use score() for one")
    limits = limits or _DEFAULT_LIMITS
    return [coerce_conversation(c, limits, f"conversation {k}")
            for k, c in enumerate(conversations)]
