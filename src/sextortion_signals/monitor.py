"""Streaming early warning: follow open conversations message by message.

``Monitor.update(conversation_id, message)`` analyses only the new message and folds it
into the conversation's state (``features.ConversationState``, ``frames.FrameState``):
the cost of a message does not grow with the conversation, and after every message the
scores equal ``score()`` on the same messages (tested), while the conversation stays
within ``Limits.max_messages``. It returns an ``Update`` with the current result and an
``Alert`` the first time a label crosses its alert threshold, and when the level rises.

Memory is bounded: per conversation the feature state is bounded, evidence keeps the
latest ``MonitorLimits.max_evidence`` hits, and idle conversations are evicted (after
``idle_seconds``, or the least recently updated beyond ``max_conversations``). The whole
state exports to JSON and back, so a service can restart without losing open
conversations.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .api import learned_groups
from .errors import InvalidInputError
from .features import ConversationState, FeatureVectorizer
from .frames import FrameState
from .inputs import Conversation, Limits, coerce_conversation
from .locks import owned_lock
from .match.analyze import Analyzer, default_analyzer
from .model import Model, default_model
from .results import LEVELS, Indicator, ScoreResult, SignalHit

STATE_FORMAT = "sextortion-signals/monitor-state"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class MonitorLimits:
    """Bounds on what a monitor keeps."""

    max_conversations: int = 100_000
    idle_seconds: float = 24 * 3600.0
    max_evidence: int = 200  # latest signal hits and indicators kept per conversation

    def __post_init__(self) -> None:
        for name in ("max_conversations", "idle_seconds", "max_evidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidInputError(f"MonitorLimits.{name} must be positive, got {value!r}")


class Alert(NamedTuple):
    """An event: ``kind`` is "label" (a label crossed its alert threshold for the first
    time) or "level" (the level rose)."""

    conversation_id: str
    kind: str
    label: str | None
    level: str
    probability: float
    message_index: int

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Update(NamedTuple):
    conversation_id: str
    message_index: int
    result: ScoreResult
    alerts: tuple[Alert, ...]


@dataclass(slots=True)
class _Open:
    """One open conversation."""

    state: ConversationState = field(default_factory=ConversationState)
    frames: FrameState = field(default_factory=FrameState)
    hits: deque[SignalHit] = field(default_factory=deque)
    indicators: deque[Indicator] = field(default_factory=deque)
    texts: dict[int, str] = field(default_factory=dict)  # messages learned evidence cites
    alerted: set[str] = field(default_factory=set)
    level: str = "low"
    last_seen: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.to_dict(), "frames": self.frames.to_dict(),
                "hits": [list(h) for h in self.hits],
                "indicators": [list(i) for i in self.indicators],
                "texts": [[k, v] for k, v in self.texts.items()],
                "alerted": sorted(self.alerted), "level": self.level,
                "last_seen": self.last_seen}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], limit: int) -> _Open:
        return cls(ConversationState.from_dict(raw["state"]),
                   FrameState.from_dict(raw["frames"]),
                   deque((SignalHit(*h) for h in raw["hits"]), maxlen=limit),
                   deque((Indicator(*i) for i in raw["indicators"]), maxlen=limit),
                   {int(k): str(v) for k, v in raw["texts"]}, set(raw["alerted"]),
                   str(raw["level"]), float(raw["last_seen"]))


class Monitor:
    """Follows many conversations at once. Thread-safe (one lock; a message's analysis is
    short)."""

    def __init__(self, model: Model | None = None, *, limits: MonitorLimits | None = None,
                 input_limits: Limits | None = None, analyzer: Analyzer | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model if model is not None else default_model()
        self.limits = limits or MonitorLimits()
        self.input_limits = input_limits or Limits()
        self.analyzer = analyzer or default_analyzer()
        self.vectorizer = FeatureVectorizer(self.model.feature_names)
        self._clock = clock
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._lock = owned_lock(self)

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._open

    def update(self, conversation_id: str, message: Any) -> Update:
        """Fold one message (anything a conversation may hold: a ``str`` or a mapping with
        ``text`` and optional ``sender``, ``timestamp``) into its conversation."""
        if not isinstance(conversation_id, str) or not conversation_id:
            raise TypeError(f"conversation_id must be a non-empty str, got "
                            f"{type(conversation_id).__name__}")
        with self._lock:
            known = self._open.get(conversation_id)
            number = known.state.n if known is not None else 0
        one = coerce_conversation([message], self.input_limits,  # checked before any change
                                  f"conversation {conversation_id!r}", number_from=number)
        with self._lock:
            now = self._clock()
            self._evict(now)
            conv = self._open.pop(conversation_id, None) or _Open(
                hits=deque(maxlen=self.limits.max_evidence),
                indicators=deque(maxlen=self.limits.max_evidence))
            self._open[conversation_id] = conv  # most recently updated last
            conv.last_seen = now
            index = conv.state.n
            one = Conversation(one.messages, index, one.warnings, None)
            analysis = self.analyzer.analyse([one], [conv.frames])[0]
            groups = learned_groups(self.model.lexical, [analysis])
            msg = one.messages[0]
            conv.state.add(analysis[0], msg.sender, msg.timestamp,
                           None if groups is None else groups[0][0])
            conv.hits.extend(analysis[0].hits)
            conv.indicators.extend(analysis[0].indicators)
            if analysis[0].hits or (groups is not None and groups[0][0].max() >= 0.5):
                conv.texts[index] = msg.text
            learned = conv.state.learned_hits()
            cited = {h.message_index for h in learned}
            conv.texts = {k: v for k, v in conv.texts.items() if k in cited or k == index}
            result = self._result(conv, one, learned)
            return Update(conversation_id, index, result,
                          self._alerts(conversation_id, conv, result, index))

    def _result(self, conv: _Open, one: Conversation, learned: tuple[Any, ...]) -> ScoreResult:
        row = self.vectorizer.row(conv.state)
        p = self.model.probabilities(row[None, :])[0]
        scores = dict(zip(self.model.labels, p.tolist(), strict=True))
        labels = tuple(label for label, h in self.model.heads.items() if scores[label] >= h.alert)
        review = any(scores[label] >= h.review for label, h in self.model.heads.items())
        level = "high" if labels else "medium" if review else "low"
        return ScoreResult(scores, labels, level, tuple(conv.hits), tuple(conv.indicators),
                           one.warnings, row, self.model, None, learned,
                           {k: conv.texts[k] for k in (h.message_index for h in learned)
                            if k in conv.texts})

    @staticmethod
    def _alerts(conversation_id: str, conv: _Open, result: ScoreResult,
                index: int) -> tuple[Alert, ...]:
        out = []
        for label in result.labels:
            if label not in conv.alerted:
                conv.alerted.add(label)
                out.append(Alert(conversation_id, "label", label, result.level,
                                 result.scores[label], index))
        if LEVELS.index(result.level) > LEVELS.index(conv.level):
            top = max(result.scores, key=result.scores.__getitem__)
            out.append(Alert(conversation_id, "level", None, result.level,
                             result.scores[top], index))
            conv.level = result.level
        return tuple(out)

    def _evict(self, now: float) -> None:
        limits = self.limits
        while self._open:
            oldest_id, oldest = next(iter(self._open.items()))
            if (len(self._open) < limits.max_conversations
                    and now - oldest.last_seen <= limits.idle_seconds):
                break
            del self._open[oldest_id]

    def close(self, conversation_id: str) -> None:
        """Forget a conversation (e.g. when the platform closes it)."""
        with self._lock:
            self._open.pop(conversation_id, None)

    def export_state(self) -> dict[str, Any]:
        """Every open conversation's state, JSON-ready."""
        with self._lock:
            return {"format": STATE_FORMAT, "version": STATE_VERSION,
                    "model_sha256": self.model.training.get("train_sha256"),
                    "conversations": [[cid, c.to_dict()] for cid, c in self._open.items()]}

    def import_state(self, raw: Mapping[str, Any]) -> None:
        """Restore conversations exported by ``export_state`` (by this library version)."""
        if raw.get("format") != STATE_FORMAT or raw.get("version") != STATE_VERSION:
            raise InvalidInputError("not a monitor state exported by this library version "
                                    f"(format {STATE_FORMAT!r}, version {STATE_VERSION})")
        if raw.get("model_sha256") != self.model.training.get("train_sha256"):
            raise InvalidInputError("this monitor state was saved with another model (its "
                                    "learned evidence would not match); start afresh or "
                                    "load the model it was saved with")
        try:
            restored = [(str(cid), _Open.from_dict(c, self.limits.max_evidence))
                        for cid, c in raw["conversations"]]
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInputError(f"monitor state is damaged: {err}") from None
        with self._lock:
            for cid, conv in restored:
                self._open[cid] = conv

    def dumps(self) -> str:
        return json.dumps(self.export_state(), ensure_ascii=False)

    def loads(self, text: str) -> None:
        self.import_state(json.loads(text))
