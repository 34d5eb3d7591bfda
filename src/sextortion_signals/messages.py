"""Input model: what callers may pass, coerced into an ordered ``Conversation``.

Accepted: ``str`` (one message), ``Message``, a sequence of ``str`` / ``Message`` /
mappings with keys ``text`` (required), ``sender`` and ``timestamp`` (ISO-8601 string or
epoch seconds). Oversized input is truncated or windowed and the result records it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._plain import slot_setters
from .errors import InvalidInputError

DEFAULT_MAX_CHARS = 20_000
DEFAULT_MAX_MESSAGES = 2_000
_ALLOWED_KEYS = frozenset({"text", "sender", "timestamp"})


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


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    sender: str | None = None
    timestamp: float | None = None  # epoch seconds, UTC


@dataclass(frozen=True, slots=True)
class Conversation:
    messages: tuple[Message, ...]
    # Index of messages[0] in the caller's input (non-zero when windowed).
    offset: int = 0
    truncated_messages: tuple[int, ...] = ()  # caller indices whose text was cut
    dropped_messages: int = 0  # leading messages left out by windowing
    warnings: tuple[str, ...] = field(default=())


_DEFAULT_LIMITS = Limits()


# For the commonest input, one valid message, the slots are filled directly (half the
# cost of the frozen dataclasses' ``__init__``).
_MESSAGE_SET = slot_setters(Message, ("text", "sender", "timestamp"))
_CONVERSATION_SET = slot_setters(Conversation, ("messages", "offset", "truncated_messages",
                                                "dropped_messages", "warnings"))


def _one_message(text: str) -> Conversation:
    """``Conversation((Message(text),))``, built slot by slot."""
    msg = object.__new__(Message)
    set_text, set_sender, set_timestamp = _MESSAGE_SET
    set_text(msg, text)
    set_sender(msg, None)
    set_timestamp(msg, None)
    conv = object.__new__(Conversation)
    set_messages, set_offset, set_truncated, set_dropped, set_warnings = _CONVERSATION_SET
    set_messages(conv, (msg,))
    set_offset(conv, 0)
    set_truncated(conv, ())
    set_dropped(conv, 0)
    set_warnings(conv, ())
    return conv


def parse_timestamp(value: object, where: str) -> float | None:
    """ISO-8601 string or epoch seconds -> epoch seconds (naive ISO is taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{where}: timestamp must be an ISO-8601 string or epoch seconds, "
                        f"got bool")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: timestamp must be finite, got {value!r}")
        return float(value)
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(
                f"{where}: timestamp {value[:40]!r} is not ISO-8601; use e.g. "
                f"'2024-05-01T21:14:00Z' or epoch seconds like 1714598040"
            ) from None
    else:
        raise TypeError(f"{where}: timestamp must be an ISO-8601 string or epoch seconds, "
                        f"got {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _check_text(text: object, where: str) -> tuple[str, bool]:
    """(text, repaired): lone surrogates (broken UTF-16 from some clients) cannot be
    encoded; each becomes U+FFFD, one character for one, so offsets stay valid rather than
    failing the whole conversation. ``repaired`` says it happened."""
    if not isinstance(text, str):
        raise TypeError(f"{where}: 'text' must be str, got {type(text).__name__}")
    if _encodable(text):
        return text, False
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text), True


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> bool:
    """No lone surrogate: ASCII (the common case), or none found."""
    return text.isascii() or _SURROGATE.search(text) is None


def _coerce_one(item: object, index: int) -> tuple[Message, bool]:
    if type(item) is str and item.isascii():  # the hot path: a plain chat message
        return Message(item), False
    where = f"message {index}"
    if isinstance(item, Message):
        text, repaired = _check_text(item.text, where)
        return Message(text, item.sender, parse_timestamp(item.timestamp, where)), repaired
    if isinstance(item, str):
        text, repaired = _check_text(item, where)
        return Message(text), repaired
    if isinstance(item, Mapping):
        unknown = set(item) - _ALLOWED_KEYS
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown key(s) {sorted(map(str, unknown))}; allowed: text, sender, "
                f"timestamp")
        if "text" not in item:
            raise InvalidInputError(f"{where}: missing required key 'text', e.g. "
                                    f"{{'text': 'hi', 'sender': 'a'}}")
        sender = item.get("sender")
        if sender is not None and not isinstance(sender, str | int):
            raise TypeError(f"{where}: 'sender' must be str or int, got {type(sender).__name__}")
        text, repaired = _check_text(item["text"], where)
        return Message(text, None if sender is None else str(sender),
                       parse_timestamp(item.get("timestamp"), where)), repaired
    raise TypeError(f"{where}: expected str, Message or mapping with 'text', "
                    f"got {type(item).__name__}")


def coerce_conversation(messages: Any, limits: Limits | None = None) -> Conversation:
    """Validate and normalise caller input into a ``Conversation``.

    Raises ``TypeError`` for wrong types and ``InvalidInputError`` for wrong values,
    naming the message index.
    """
    limits = limits or _DEFAULT_LIMITS
    # Exact type checks first: the ABC checks below cost more than the rest of the work.
    if type(messages) is list or type(messages) is tuple:
        items: Sequence[Any] = messages
    elif isinstance(messages, Conversation):
        return messages
    elif isinstance(messages, str | Message | Mapping):
        items = [messages]
    elif isinstance(messages, Sequence) and not isinstance(messages, bytes | bytearray):
        items = messages
    else:
        raise TypeError("messages must be a str, a list of str, or a list of mappings with "
                        f"'text' (and optional 'sender', 'timestamp'); got "
                        f"{type(messages).__name__}")
    if len(items) == 0:
        raise InvalidInputError("conversation is empty; pass at least one message "
                                "(an empty string is a valid message)")
    if len(items) == 1:  # one message, the common case: nothing to window or report
        item = items[0]
        if type(item) is str and len(item) <= limits.max_chars and _encodable(item):
            return _one_message(item)  # the hot path: a plain chat message
        msg, was_repaired = _coerce_one(item, 0)
        if not was_repaired and len(msg.text) <= limits.max_chars:
            return Conversation((msg,))
    warnings: list[str] = []
    offset = 0
    if len(items) > limits.max_messages:
        offset = len(items) - limits.max_messages
        warnings.append(f"conversation has {len(items)} messages; scored the last "
                        f"{limits.max_messages} (messages 0..{offset - 1} left out)")
        items = items[offset:]
    out: list[Message] = []
    truncated: list[int] = []
    repaired: list[int] = []
    for i, item in enumerate(items):
        msg, was_repaired = _coerce_one(item, i + offset)
        if was_repaired:
            repaired.append(i + offset)
        if len(msg.text) > limits.max_chars:
            msg = Message(msg.text[: limits.max_chars], msg.sender, msg.timestamp)
            truncated.append(i + offset)
        out.append(msg)
    if truncated:
        warnings.append(f"{len(truncated)} message(s) longer than {limits.max_chars} chars "
                        f"were truncated: {truncated[:10]}")
    if repaired:
        warnings.append(f"{len(repaired)} message(s) had lone surrogates (invalid Unicode), "
                        f"each replaced by U+FFFD: {repaired[:10]}")
    return Conversation(tuple(out), offset, tuple(truncated), offset, tuple(warnings))
