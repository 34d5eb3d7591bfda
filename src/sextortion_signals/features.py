"""Where evidence becomes a vector: conversation-level features for the linear model.

A conversation's features are folded message by message into a ``ConversationState``
(``add`` costs O(1) amortised and the state's size does not grow with the conversation),
so scoring a whole conversation and following it message by message (``Monitor``) are
the same computation. ``FEATURES`` documents every column (name -> what it measures);
values are non-negative and small, so a feature's contribution to the log-odds is
``weight * value``: zero when the feature is absent.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .rules import registry

if TYPE_CHECKING:
    from .inputs import Conversation
    from .match.analyze import MessageAnalysis

_CLAIMS = ("fabrication_claim", "possession_claim")
_DEMANDS = ("content_demand", "payment_demand")
_CONTACT_REQUESTS = ("image_or_call_request", "meeting_request", "platform_move")
_HANDLE_KINDS = frozenset({"crypto_wallet", "cashtag"})
BURST_WINDOW = 600.0  # seconds: "many messages within minutes"
RECENT = 5  # messages counted as "recent"
COUNT_CAP = 8


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The signal names by category, read once from the registry."""

    sextortion: frozenset[str]
    grooming: frozenset[str]
    context: tuple[str, ...]  # context signals that can lower risk (not age_disclosure)

    @property
    def risk(self) -> frozenset[str]:
        return self.sextortion | self.grooming


@cache
def vocabulary() -> Vocabulary:
    specs = registry.available()
    return Vocabulary(frozenset(s.name for s in specs if s.category == "sextortion"),
                      frozenset(s.name for s in specs if s.category == "grooming"),
                      tuple(s.name for s in specs
                            if s.category == "context" and s.name != "age_disclosure"))


@cache
def feature_table() -> dict[str, str]:
    """Feature name -> one-line description (the documented feature table)."""
    risk = [s.name for s in registry.available() if s.category in ("grooming", "sextortion")]
    table = {f"signal:{s}": f"'{s}' fired somewhere in the conversation (0/1)" for s in risk}
    table.update({
        "count:risky_messages": "log(1 + messages carrying a grooming or sextortion signal), "
                                "capped at 8 messages",
        "count:sextortion_hits": "log(1 + sextortion signal hits), capped at 8",
        "count:grooming_hits": "log(1 + grooming signal hits), capped at 8",
        "sender:sextortion_tactics": "most distinct sextortion tactics used by ONE sender, / 4",
        "sender:grooming_tactics": "most distinct grooming tactics used by ONE sender, / 4",
        "order:claim_then_threat": "a possession/fabrication claim comes no later than a threat",
        "order:threat_then_demand": "a threat comes no later than a money or content demand",
        "order:demand_then_deadline": "a demand comes no later than a deadline",
        "pair:threat_and_payment": "threat_to_share AND payment_demand both present",
        "pair:threat_and_content": "threat_to_share AND content_demand both present",
        "pair:claim_and_threat": "possession or fabrication claim AND threat both present",
        "pair:age_probe_and_image_request": "age_probe AND image_or_call_request both present",
        "pair:secrecy_and_contact_request": "secrecy_request AND an image/call, meeting or "
                                            "platform-move request",
        "recency:risk_in_last_messages": f"a risk signal in the last {RECENT} messages",
        "burst:risky_messages_10min": "log(1 + most risky messages one sender sent within "
                                      "10 minutes); needs timestamps",
        "burst:messages_per_minute": "log(1 + highest messages/minute of one sender over 10 "
                                     "minutes); needs timestamps",
        "age:disclosed_by_other_side": "someone other than the risky sender says they are a "
                                       "minor",
        "indicator:amount": "a money amount with a currency",
        "indicator:payment_handle": "a crypto wallet or CashApp $tag",
        "indicator:deadline": "a duration or deadline ('10 min', '48h', 'ce soir')",
    })
    table.update({f"context:{c}": f"share of risky messages that also carry '{c}' "
                                  "(expected to lower risk)" for c in vocabulary().context})
    return table


@dataclass(frozen=True, slots=True)
class FeatureEvidence:
    """What a feature is computed from: its evidence in an explanation."""

    signals: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()


@cache
def evidence_map() -> dict[str, FeatureEvidence]:
    v = vocabulary()
    risk = tuple(sorted(v.risk))
    sext, groom = tuple(sorted(v.sextortion)), tuple(sorted(v.grooming))
    ev = {f"signal:{s}": FeatureEvidence((s,)) for s in risk}
    ev.update({
        "count:risky_messages": FeatureEvidence(risk),
        "count:sextortion_hits": FeatureEvidence(sext),
        "count:grooming_hits": FeatureEvidence(groom),
        "sender:sextortion_tactics": FeatureEvidence(sext),
        "sender:grooming_tactics": FeatureEvidence(groom),
        "order:claim_then_threat": FeatureEvidence((*_CLAIMS, "threat_to_share")),
        "order:threat_then_demand": FeatureEvidence(("threat_to_share", *_DEMANDS)),
        "order:demand_then_deadline": FeatureEvidence((*_DEMANDS, "deadline_urgency")),
        "pair:threat_and_payment": FeatureEvidence(("threat_to_share", "payment_demand")),
        "pair:threat_and_content": FeatureEvidence(("threat_to_share", "content_demand")),
        "pair:claim_and_threat": FeatureEvidence((*_CLAIMS, "threat_to_share")),
        "pair:age_probe_and_image_request": FeatureEvidence(("age_probe",
                                                             "image_or_call_request")),
        "pair:secrecy_and_contact_request": FeatureEvidence(("secrecy_request",
                                                             *_CONTACT_REQUESTS)),
        "recency:risk_in_last_messages": FeatureEvidence(risk),
        "age:disclosed_by_other_side": FeatureEvidence(("age_disclosure",)),
        "indicator:amount": FeatureEvidence(indicators=("amount",)),
        "indicator:payment_handle": FeatureEvidence(indicators=tuple(sorted(_HANDLE_KINDS))),
        "indicator:deadline": FeatureEvidence(indicators=("deadline",)),
    })
    ev.update({f"context:{c}": FeatureEvidence((c,)) for c in v.context})
    return ev


@dataclass(slots=True)
class _SenderWindow:
    """One sender's messages of the last ``BURST_WINDOW`` seconds (two pointers)."""

    events: deque[tuple[float, bool]] = field(default_factory=deque)
    risky: int = 0

    def add(self, t: float, risky: bool) -> tuple[int, int]:
        """Add a message; returns (messages, risky messages) in the window ending at it."""
        if self.events and t < self.events[-1][0]:  # out of order: a new window
            self.events.clear()
            self.risky = 0
        self.events.append((t, risky))
        self.risky += risky
        while t - self.events[0][0] > BURST_WINDOW:
            self.risky -= self.events.popleft()[1]
        return len(self.events), self.risky


@dataclass(slots=True)
class ConversationState:
    """Everything the features need, folded message by message (see ``add``)."""

    n: int = 0  # messages added
    first_at: dict[str, int] = field(default_factory=dict)  # signal -> first message
    risky_messages: int = 0
    last_risky: int = -1
    sextortion_hits: int = 0
    grooming_hits: int = 0
    tactics: dict[str | None, tuple[set[str], set[str]]] = field(default_factory=dict)
    context_counts: dict[str, int] = field(default_factory=dict)
    age_senders: set[str | None] = field(default_factory=set)
    risky_senders: set[str | None] = field(default_factory=set)
    indicator_kinds: set[str] = field(default_factory=set)
    timed: bool = False
    windows: dict[str | None, _SenderWindow] = field(default_factory=dict)
    best_burst: int = 0
    best_risky_burst: int = 0

    def add(self, analysis: MessageAnalysis, sender: str | None,
            timestamp: float | None) -> None:
        """Fold one message in (messages in conversation order)."""
        v = vocabulary()
        pos = self.n
        self.n += 1
        names = [h.name for h in analysis.hits]
        for name in names:
            self.first_at.setdefault(name, pos)
        if "age_disclosure" in names:
            self.age_senders.add(sender)
        risk_here = [s for s in names if s in v.risk]
        if risk_here:
            self.risky_messages += 1
            self.last_risky = pos
            self.risky_senders.add(sender)
            sext, groom = self.tactics.setdefault(sender, (set(), set()))
            for s in risk_here:
                if s in v.sextortion:
                    self.sextortion_hits += 1
                    sext.add(s)
                else:
                    self.grooming_hits += 1
                    groom.add(s)
            present = set(names)
            for c in v.context:
                if c in present:
                    self.context_counts[c] = self.context_counts.get(c, 0) + 1
        self.indicator_kinds.update(i.kind for i in analysis.indicators)
        if timestamp is not None:
            self.timed = True
            window = self.windows.get(sender)
            if window is None:
                window = self.windows[sender] = _SenderWindow()
            count, risky = window.add(timestamp, bool(risk_here))
            self.best_burst = max(self.best_burst, count)
            self.best_risky_burst = max(self.best_risky_burst, risky)

    def values(self) -> dict[str, float]:
        """Feature values (absent features may be left out)."""
        f: dict[str, float] = {}
        if self.risky_messages:
            self._risk_features(f)
        if self.timed:
            f["burst:risky_messages_10min"] = math.log1p(self.best_risky_burst)
            f["burst:messages_per_minute"] = math.log1p(self.best_burst / (BURST_WINDOW / 60))
        if self.risky_senders:
            f["age:disclosed_by_other_side"] = float(any(
                s is None or s not in self.risky_senders or len(self.risky_senders) > 1
                for s in self.age_senders))
        else:
            f["age:disclosed_by_other_side"] = float(bool(self.age_senders))
        kinds = self.indicator_kinds
        f["indicator:amount"] = float("amount" in kinds)
        f["indicator:payment_handle"] = float(bool(kinds & _HANDLE_KINDS))
        f["indicator:deadline"] = float("deadline" in kinds)
        return f

    def _risk_features(self, f: dict[str, float]) -> None:
        first_at = self.first_at
        for s in first_at:
            if s in vocabulary().risk:
                f[f"signal:{s}"] = 1.0
        # Capped: a long ordinary chat accumulates stray hits; past a few, more is not
        # more evidence.
        f["count:risky_messages"] = math.log1p(min(self.risky_messages, COUNT_CAP))
        f["count:sextortion_hits"] = math.log1p(min(self.sextortion_hits, COUNT_CAP))
        f["count:grooming_hits"] = math.log1p(min(self.grooming_hits, COUNT_CAP))
        f["sender:sextortion_tactics"] = min(max(len(a) for a, _ in self.tactics.values()) / 4,
                                             2.0)
        f["sender:grooming_tactics"] = min(max(len(b) for _, b in self.tactics.values()) / 4,
                                           2.0)
        claim = min((first_at[s] for s in _CLAIMS if s in first_at), default=None)
        demand = min((first_at[s] for s in _DEMANDS if s in first_at), default=None)
        threat, deadline = first_at.get("threat_to_share"), first_at.get("deadline_urgency")
        f["order:claim_then_threat"] = float(_before(claim, threat))
        f["order:threat_then_demand"] = float(_before(threat, demand))
        f["order:demand_then_deadline"] = float(_before(demand, deadline))
        has = first_at.__contains__
        f["pair:threat_and_payment"] = float(has("threat_to_share") and has("payment_demand"))
        f["pair:threat_and_content"] = float(has("threat_to_share") and has("content_demand"))
        f["pair:claim_and_threat"] = float(claim is not None and has("threat_to_share"))
        f["pair:age_probe_and_image_request"] = float(has("age_probe")
                                                      and has("image_or_call_request"))
        f["pair:secrecy_and_contact_request"] = float(
            has("secrecy_request") and any(has(s) for s in _CONTACT_REQUESTS))
        f["recency:risk_in_last_messages"] = float(self.last_risky >= self.n - RECENT)
        for c in vocabulary().context:
            f[f"context:{c}"] = self.context_counts.get(c, 0) / self.risky_messages


def _before(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and a <= b


class FeatureVectorizer:
    """Conversations (with their message analyses) -> rows of the model's columns.

    Stateless apart from the column list, like a fitted scikit-learn transformer;
    ``get_feature_names_out()`` gives the column order."""

    def __init__(self, feature_names: Sequence[str] | None = None) -> None:
        table = feature_table()
        names = tuple(feature_names) if feature_names is not None else tuple(table)
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; this library version knows: "
                             f"{', '.join(table)}")
        self.feature_names = names
        self._col = {n: i for i, n in enumerate(names)}

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    def state(self, conversation: Conversation,
              analyses: Sequence[MessageAnalysis]) -> ConversationState:
        state = ConversationState()
        for msg, analysis in zip(conversation.messages, analyses, strict=True):
            state.add(analysis, msg.sender, msg.timestamp)
        return state

    def fill(self, conversation: Conversation, analyses: Sequence[MessageAnalysis],
             out: np.ndarray) -> None:
        """Write a conversation's row into ``out`` (zeros on entry). Most scored items are
        one untimed message without evidence, whose row stays zero: they skip the state
        (same row as ``row(state(...))``, tested)."""
        if (len(analyses) == 1 and not analyses[0].hits and not analyses[0].indicators
                and conversation.messages[0].timestamp is None):
            return
        self.row(self.state(conversation, analyses), out)

    def row(self, state: ConversationState, out: np.ndarray | None = None) -> np.ndarray:
        """The feature row of a state (written into ``out`` if given)."""
        row = np.zeros(len(self.feature_names)) if out is None else out
        col = self._col.get
        for name, value in state.values().items():
            j = col(name)
            if value and j is not None:
                row[j] = value
        return row

    def transform(self, items: Sequence[tuple[Conversation, Sequence[MessageAnalysis]]],
                  ) -> np.ndarray:
        """One row per (conversation, analyses)."""
        X = np.zeros((len(items), len(self.feature_names)))
        for i, (conv, analyses) in enumerate(items):
            self.fill(conv, analyses, X[i])
        return X
