"""Where evidence becomes a vector: conversation-level features for the linear model.

Evidence is gathered per sender, because tactics are something one participant does to
another, and sextortion evidence per time window (``WINDOW_SECONDS``, at most
``WINDOW_MESSAGES`` of that sender's messages), because an extortion is a burst: stray
hits scattered over hours of ordinary chat must not add up. The features describe the
*lead sender*, the participant with the most evidence, plus who else is in the room.

A conversation is folded message by message into a ``ConversationState``; ``add`` costs
O(1) amortised and the state's size is bounded whatever the conversation's length, so
scoring a whole conversation and following it message by message (``Monitor``) are the
same computation. ``feature_table()`` documents every column; values lie in [0, 2], so a
feature's contribution to the log-odds is ``weight * value``.

Context that usually lowers risk (a joke marker, safety talk, a negation, a quote) only
discounts the rule hits of its own message, at most by ``CONTEXT_DISCOUNT``, and never in
a message that threatens or sets a condition ("if you don't pay...").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .frames import FRAME_PREFIX
from .rules import registry

if TYPE_CHECKING:
    from .inputs import Conversation
    from .match.analyze import MessageAnalysis

WINDOW_SECONDS = 3600.0
WINDOW_MESSAGES = 30
BURST_WINDOW = 600.0  # seconds: "many messages within minutes"
RECENT = 5  # messages counted as "recent"
CONTEXT_DISCOUNT = 0.5  # a rule hit with risk-lowering context attached counts this much
LEARNED_ON = 0.5  # a learned group probability at or above this counts as the tactic used
MAX_SENDERS = 64  # senders tracked (group chats); later ones share one record
_CLAIMS = ("fabrication_claim", "possession_claim")
_DEMANDS = ("content_demand", "payment_demand")
_CONTACT_REQUESTS = ("image_or_call_request", "meeting_request", "platform_move")
_HANDLE_KINDS = frozenset({"crypto_wallet", "cashtag"})
_CONTEXT = frozenset({"joke_marker", "safety_talk", "negation", "reported_speech"})


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Signal and group names by label, read once from the registry."""

    sextortion: tuple[str, ...]  # risk signals
    grooming: tuple[str, ...]
    sextortion_groups: tuple[str, ...]
    grooming_groups: tuple[str, ...]

    @property
    def risk(self) -> tuple[str, ...]:
        return self.grooming + self.sextortion


@cache
def vocabulary() -> Vocabulary:
    specs = registry.available()
    groups = registry.groups()
    return Vocabulary(tuple(s.name for s in specs if s.category == "sextortion"),
                      tuple(s.name for s in specs if s.category == "grooming"),
                      tuple(g.name for g in groups if g.label == "sextortion"),
                      tuple(g.name for g in groups if g.label == "grooming"))


@cache
def frame_signals() -> tuple[str, ...]:
    """The signals some frame fires (frames/frames.toml), in registry order."""
    from .frames import frames

    fired = {f.signal for f in frames()}
    return tuple(s.name for s in registry.available() if s.name in fired)


@cache
def feature_table() -> dict[str, str]:
    """Feature name -> one-line description (the documented feature table)."""
    v = vocabulary()
    table = {f"signal:{s}": f"the lead sender's messages match a '{s}' rule (0.5 when a joke, "
                            "quote or safety talk softens it)" for s in v.risk}
    table.update({f"frame:{s}": f"the lead sender's words combine into a '{s}' frame (what is "
                                f"held, who would see it, how it spreads, a condition...)"
                  for s in frame_signals()})
    groups = {g.name: g.description for g in registry.groups()}
    table.update({f"learned:{g}": f"learned: how strongly the lead sender's most telling "
                                  f"message reads as '{g}' ({groups[g]})"
                  for g in v.sextortion_groups + v.grooming_groups})
    table.update({
        "learned:sextortion_groups": "share of the 4 sextortion tactic groups the lead sender's "
                                     "messages read as (learned, within one burst)",
        "learned:grooming_groups": "share of the 3 grooming tactic groups the lead sender's "
                                   "messages read as (learned)",
        "sender:sextortion_tactics": "distinct sextortion tactics the lead sender's rules "
                                     "matched within one burst, / 4",
        "sender:grooming_tactics": "distinct grooming tactics the lead sender's rules matched, / 4",
        "order:claim_then_threat": "the lead sender claims to hold images no later than they "
                                   "threaten",
        "order:threat_then_demand": "the lead sender threatens no later than they demand",
        "order:demand_then_deadline": "the lead sender demands no later than they set a deadline",
        "pair:threat_and_payment": "the lead sender both threatens and demands money",
        "pair:threat_and_content": "the lead sender both threatens and demands more images",
        "pair:claim_and_threat": "the lead sender both claims to hold images and threatens",
        "pair:age_probe_and_image_request": "the lead sender both asks the age and asks for "
                                            "images or a call",
        "pair:secrecy_and_contact_request": "the lead sender both asks for secrecy and for "
                                            "images, a call, a meeting or another app",
        "recency:risk_in_last_messages": f"the lead sender's evidence is in the last {RECENT} "
                                         "messages",
        "burst:risky_messages_10min": "log(1 + most risky messages one sender sent within 10 "
                                      "minutes); needs timestamps",
        "burst:messages_per_minute": "log(1 + highest messages per minute of one sender over "
                                     "10 minutes); needs timestamps",
        "age:disclosed_by_other_side": "someone other than the lead sender says they are a minor",
        "age:both_sides_minor": "the lead sender and someone else both say they are minors "
                                "(peers)",
        "participants:group_chat": "more than two people write in the conversation",
        "indicator:amount": "a money amount with a currency",
        "indicator:payment_handle": "a crypto wallet or CashApp $tag",
        "indicator:deadline": "a duration or deadline ('10 min', '48h', 'ce soir')",
    })
    return table


def may_lower(feature: str, label: str) -> bool:
    """Whether a feature may carry a negative weight in ``label``'s score: only when it is
    evidence of the *other* label's tactics only (a threat is sextortion, not grooming).
    Evidence of the label's own tactics, and context an offender could add or fake
    (laughter, a second participant, claiming to be a minor too), can only add risk or
    nothing: lowering a score must never be a switch an offender can flip."""
    supported = feature_labels(feature)
    return bool(supported) and label not in supported


def feature_labels(feature: str) -> frozenset[str]:
    """The labels a feature is tactic evidence of (empty for context features)."""
    if feature in ("recency:risk_in_last_messages", "burst:risky_messages_10min"):
        return frozenset({"grooming", "sextortion"})
    if feature == "age:disclosed_by_other_side":
        return frozenset({"grooming"})
    if feature.startswith("age:"):
        return frozenset()
    ev = evidence_map().get(feature)
    if ev is None:
        return frozenset()
    category = {s.name: s.category for s in registry.available()}
    group_label = {g.name: g.label for g in registry.groups()}
    labels: set[str] = {category[s] for s in ev.signals
                         if category.get(s) in ("grooming", "sextortion")}
    labels |= {group_label[g] for g in ev.groups}
    if ev.indicators:
        labels.add("sextortion")
    return frozenset(labels)


@dataclass(frozen=True, slots=True)
class FeatureEvidence:
    """What a feature is computed from: its evidence in an explanation."""

    signals: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # learned groups


@cache
def evidence_map() -> dict[str, FeatureEvidence]:
    v = vocabulary()
    ev = {f"signal:{s}": FeatureEvidence((s,)) for s in v.risk}
    ev.update({f"frame:{s}": FeatureEvidence((s,)) for s in frame_signals()})
    ev.update({f"learned:{g}": FeatureEvidence(groups=(g,))
               for g in v.sextortion_groups + v.grooming_groups})
    ev.update({
        "learned:sextortion_groups": FeatureEvidence(groups=v.sextortion_groups),
        "learned:grooming_groups": FeatureEvidence(groups=v.grooming_groups),
        "sender:sextortion_tactics": FeatureEvidence(v.sextortion),
        "sender:grooming_tactics": FeatureEvidence(v.grooming),
        "order:claim_then_threat": FeatureEvidence((*_CLAIMS, "threat_to_share"),
                                                   groups=("claim", "threat")),
        "order:threat_then_demand": FeatureEvidence(("threat_to_share", *_DEMANDS),
                                                    groups=("threat", "demand")),
        "order:demand_then_deadline": FeatureEvidence((*_DEMANDS, "deadline_urgency"),
                                                      groups=("demand", "pressure")),
        "pair:threat_and_payment": FeatureEvidence(("threat_to_share", "payment_demand")),
        "pair:threat_and_content": FeatureEvidence(("threat_to_share", "content_demand")),
        "pair:claim_and_threat": FeatureEvidence((*_CLAIMS, "threat_to_share")),
        "pair:age_probe_and_image_request": FeatureEvidence(("age_probe",
                                                             "image_or_call_request")),
        "pair:secrecy_and_contact_request": FeatureEvidence(("secrecy_request",
                                                             *_CONTACT_REQUESTS)),
        "age:disclosed_by_other_side": FeatureEvidence(("age_disclosure",)),
        "age:both_sides_minor": FeatureEvidence(("age_disclosure",)),
        "indicator:amount": FeatureEvidence(indicators=("amount",)),
        "indicator:payment_handle": FeatureEvidence(indicators=tuple(sorted(_HANDLE_KINDS))),
        "indicator:deadline": FeatureEvidence(indicators=("deadline",)),
    })
    return ev


class LearnedHit(NamedTuple):
    """The message where a sender's learned evidence for a group peaked."""

    group: str
    message_index: int
    probability: float

    def to_dict(self) -> dict[str, object]:
        return self._asdict()


class _Layout:
    """Where each feature sits in ``feature_table()`` order, for writing a row in place."""

    def __init__(self) -> None:
        names = list(feature_table())
        at = {n: i for i, n in enumerate(names)}
        v = vocabulary()
        self.size = len(names)
        self.tactic = {s: at[f"signal:{s}"] for s in v.risk}
        self.tactic.update({f"frame:{s}": at[f"frame:{s}"] for s in frame_signals()})
        self.learned = [at[f"learned:{g}"] for g in v.sextortion_groups + v.grooming_groups]
        self.at = at


@cache
def layout() -> _Layout:
    return _Layout()


class _Sender:
    """Everything one sender's messages brought. Sextortion evidence is kept for the best
    burst: the window of the sender's last ``WINDOW_MESSAGES`` messages within
    ``WINDOW_SECONDS`` whose evidence was strongest."""

    __slots__ = ("best_groups", "best_peaks", "best_sum", "best_tactics", "first_at",
                 "grooming_max", "grooming_peaks", "grooming_tactics", "last_evidence",
                 "minor", "window")

    def __init__(self, n_sext: int, n_groom: int) -> None:
        # Window: (time, message index, sextortion group probabilities, sextortion tactics).
        self.window: list[tuple[float | None, int, list[float], dict[str, float]]] = []
        self.best_sum = -1.0
        self.best_groups = [0.0] * n_sext
        self.best_peaks = [0] * n_sext
        self.best_tactics: dict[str, float] = {}
        self.grooming_max = [0.0] * n_groom
        self.grooming_peaks = [0] * n_groom
        self.grooming_tactics: dict[str, float] = {}
        self.first_at: dict[str, int] = {}  # tactic or group -> first position
        self.last_evidence = -1
        self.minor = False

    def add_to_window(self, t: float | None, index: int, probs: list[float],
                      tactics: dict[str, float]) -> None:
        window = self.window
        if window and t is not None and window[-1][0] is not None and t < window[-1][0]:
            window.clear()  # time went backwards: a new window
        window.append((t, index, probs, tactics))
        while len(window) > WINDOW_MESSAGES or (
                t is not None and window[0][0] is not None and t - window[0][0] > WINDOW_SECONDS):
            del window[0]
        if len(window) == 1:
            maxima, peaks, merged = probs, [index] * len(probs), tactics
        else:
            maxima = list(probs)
            peaks = [index] * len(probs)
            merged = dict(tactics)
            for _, at, group_probs, found in window[:-1]:
                for j, p in enumerate(group_probs):
                    if p > maxima[j]:
                        maxima[j], peaks[j] = p, at
                for name, strength in found.items():
                    if strength > merged.get(name, 0.0):
                        merged[name] = strength
        score = sum(maxima) + len(merged)
        if score > self.best_sum:
            self.best_sum, self.best_groups = score, list(maxima)
            self.best_peaks, self.best_tactics = peaks, dict(merged)

    def score(self) -> float:
        return sum(self.grooming_max) + len(self.grooming_tactics) + max(self.best_sum, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {name: (getattr(self, name) if name != "window"
                       else [[t, i, p, d] for t, i, p, d in self.window])
                for name in self.__slots__}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> _Sender:
        me = cls(len(raw["best_groups"]), len(raw["grooming_max"]))
        me.window = [(t, int(i), [float(x) for x in p], {str(k): float(v) for k, v in d.items()})
                     for t, i, p, d in raw["window"]]
        me.best_sum = float(raw["best_sum"])
        me.best_groups = [float(x) for x in raw["best_groups"]]
        me.best_peaks = [int(x) for x in raw["best_peaks"]]
        me.best_tactics = {str(k): float(v) for k, v in raw["best_tactics"].items()}
        me.grooming_max = [float(x) for x in raw["grooming_max"]]
        me.grooming_peaks = [int(x) for x in raw["grooming_peaks"]]
        me.grooming_tactics = {str(k): float(v) for k, v in raw["grooming_tactics"].items()}
        me.first_at = {str(k): int(v) for k, v in raw["first_at"].items()}
        me.last_evidence = int(raw["last_evidence"])
        me.minor = bool(raw["minor"])
        return me


class ConversationState:
    """Everything the features need, folded message by message (see ``add``)."""

    __slots__ = ("best_burst", "best_risky_burst", "bursts", "indicator_kinds", "n",
                 "senders", "timed")

    def __init__(self) -> None:
        self.n = 0
        self.senders: dict[str | None, _Sender] = {}
        self.indicator_kinds: set[str] = set()
        self.timed = False
        self.bursts: dict[str | None, deque[tuple[float, bool]]] = {}
        self.best_burst = 0
        self.best_risky_burst = 0

    def add(self, analysis: MessageAnalysis, sender: str | None, timestamp: float | None,
            groups: Sequence[float] | None = None) -> None:
        """Fold one message in (messages in conversation order). ``groups``: the learned
        probability of each tactic group (``registry.groups()`` order), if a lexical model
        scored the message."""
        v = vocabulary()
        pos = self.n
        self.n += 1
        if sender not in self.senders and len(self.senders) >= MAX_SENDERS:
            sender = "\x00others"
        n_sext = len(v.sextortion_groups)
        me = self.senders.get(sender)
        if me is None:
            me = self.senders[sender] = _Sender(n_sext, len(v.grooming_groups))
        probs = [0.0] * (n_sext + len(v.grooming_groups)) if groups is None \
            else [float(p) for p in groups]
        sext_tactics: dict[str, float] = {}
        on: list[str] = []
        if analysis.hits:
            on = self._hits(analysis, me, sext_tactics, v)
        me.add_to_window(timestamp, analysis.message_index, probs[:n_sext], sext_tactics)
        index = analysis.message_index
        grooming_max = me.grooming_max
        for j, p in enumerate(probs[n_sext:]):
            if p > grooming_max[j]:
                grooming_max[j] = p
                me.grooming_peaks[j] = index
        for g, p in zip(v.sextortion_groups + v.grooming_groups, probs):  # noqa: B905
            if p >= LEARNED_ON:
                on.append(g)
        if on:
            for name in on:
                me.first_at.setdefault(name, pos)
            me.last_evidence = pos
        if analysis.indicators:
            self.indicator_kinds.update(i.kind for i in analysis.indicators)
        if timestamp is not None:
            self._burst(sender, timestamp, bool(on))

    @staticmethod
    def _hits(analysis: MessageAnalysis, me: _Sender, sext_tactics: dict[str, float],
              v: Vocabulary) -> list[str]:
        """Rule and frame hits of a message: its sextortion tactics go to the window, its
        grooming tactics to the sender; returns the tactics now used."""
        names = {h.name for h in analysis.hits if not h.rule_id.startswith(FRAME_PREFIX)}
        framed = {f"frame:{h.name}" for h in analysis.hits if h.rule_id.startswith(FRAME_PREFIX)}
        if "age_disclosure" in names:
            me.minor = True
        # Context softens only its own message's rule hits, and never a threat or a
        # condition ("don't ignore me. if you don't pay, everyone sees it").
        softened = bool(names & _CONTEXT) and "threat_to_share" not in names \
            and "condition" not in analysis.concepts and not framed
        strength = CONTEXT_DISCOUNT if softened else 1.0
        on: list[str] = []
        for name in names:
            if name in v.sextortion:
                sext_tactics[name] = strength
            elif name in v.grooming:
                me.grooming_tactics[name] = max(me.grooming_tactics.get(name, 0.0), strength)
            else:
                continue
            on.append(name)
        for name in framed:
            sext_tactics[name] = 1.0
            on.append(name)
        return on

    def _burst(self, sender: str | None, t: float, risky: bool) -> None:
        self.timed = True
        events = self.bursts.setdefault(sender, deque())
        if events and t < events[-1][0]:
            events.clear()
        events.append((t, risky))
        while t - events[0][0] > BURST_WINDOW:
            events.popleft()
        self.best_burst = max(self.best_burst, len(events))
        self.best_risky_burst = max(self.best_risky_burst, sum(r for _, r in events))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (senders may be None: kept as [sender, state] pairs)."""
        return {"n": self.n, "senders": [[k, v.to_dict()] for k, v in self.senders.items()],
                "indicator_kinds": sorted(self.indicator_kinds), "timed": self.timed,
                "bursts": [[k, [list(e) for e in v]] for k, v in self.bursts.items()],
                "best_burst": self.best_burst, "best_risky_burst": self.best_risky_burst}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ConversationState:
        state = cls()
        state.n = int(raw["n"])
        state.senders = {k: _Sender.from_dict(v) for k, v in raw["senders"]}
        state.indicator_kinds = set(raw["indicator_kinds"])
        state.timed = bool(raw["timed"])
        state.bursts = {k: deque((float(t), bool(r)) for t, r in v) for k, v in raw["bursts"]}
        state.best_burst = int(raw["best_burst"])
        state.best_risky_burst = int(raw["best_risky_burst"])
        return state

    def lead(self) -> tuple[str | None, _Sender] | None:
        """The sender with the most evidence (None before any message)."""
        if not self.senders:
            return None
        if len(self.senders) == 1:
            return next(iter(self.senders.items()))
        return max(self.senders.items(), key=lambda item: item[1].score())

    def learned_hits(self) -> tuple[LearnedHit, ...]:
        """Where the lead sender's learned evidence peaked, per group at or above
        ``LEARNED_ON``."""
        found = self.lead()
        if found is None:
            return ()
        v = vocabulary()
        _, me = found
        out = [LearnedHit(g, at, p) for g, p, at in zip(
            v.sextortion_groups + v.grooming_groups, me.best_groups + me.grooming_max,
            me.best_peaks + me.grooming_peaks, strict=True) if p >= LEARNED_ON]
        return tuple(sorted(out, key=lambda h: (h.message_index, h.group))) if out else ()

    def vector(self) -> list[float]:
        """The feature values in ``feature_table()`` order."""
        lay = layout()
        out = [0.0] * lay.size
        found = self.lead()
        if found is None:
            return out
        at = lay.at
        lead_name, me = found
        for name, strength in me.best_tactics.items():
            out[lay.tactic[name]] = strength
        for name, strength in me.grooming_tactics.items():
            out[lay.tactic[name]] = strength
        sext, groom = me.best_groups, me.grooming_max
        for j, p in zip(lay.learned, sext + groom):  # noqa: B905
            out[j] = p
        out[at["learned:sextortion_groups"]] = sum(p >= LEARNED_ON for p in sext) / len(sext)
        out[at["learned:grooming_groups"]] = sum(p >= LEARNED_ON for p in groom) / len(groom)
        out[at["sender:sextortion_tactics"]] = min(
            len({n.removeprefix("frame:") for n in me.best_tactics}) / 4, 2.0)
        out[at["sender:grooming_tactics"]] = min(len(me.grooming_tactics) / 4, 2.0)
        if me.first_at:
            self._order_and_pairs(out, at, me.first_at)
        if me.last_evidence >= 0:
            out[at["recency:risk_in_last_messages"]] = float(me.last_evidence >= self.n - RECENT)
        if self.timed:
            out[at["burst:risky_messages_10min"]] = math.log1p(self.best_risky_burst)
            out[at["burst:messages_per_minute"]] = math.log1p(self.best_burst
                                                             / (BURST_WINDOW / 60))
        if len(self.senders) > 1:
            others_minor = any(s.minor for name, s in self.senders.items() if name != lead_name)
            out[at["age:disclosed_by_other_side"]] = float(others_minor)
            out[at["age:both_sides_minor"]] = float(others_minor and me.minor)
            out[at["participants:group_chat"]] = float(len(self.senders) > 2)
        kinds = self.indicator_kinds
        if kinds:
            out[at["indicator:amount"]] = float("amount" in kinds)
            out[at["indicator:payment_handle"]] = float(bool(kinds & _HANDLE_KINDS))
            out[at["indicator:deadline"]] = float("deadline" in kinds)
        return out

    def values(self) -> dict[str, float]:
        """The non-zero feature values by name."""
        return {n: x for n, x in zip(feature_table(), self.vector(), strict=True) if x}

    @staticmethod
    def _order_and_pairs(out: list[float], at: dict[str, int], first_at: dict[str, int]) -> None:
        def first(*names: str) -> int | None:
            """Where the first of these tactics was used, by a rule, a frame or learned."""
            found = [first_at[k] for n in names for k in (n, "frame:" + n) if k in first_at]
            return min(found) if found else None

        def has(name: str) -> bool:
            return name in first_at or "frame:" + name in first_at

        claim = first(*_CLAIMS, "claim")
        threat = first("threat_to_share", "threat")
        demand = first(*_DEMANDS, "demand")
        deadline = first("deadline_urgency", "pressure")
        out[at["order:claim_then_threat"]] = float(_before(claim, threat))
        out[at["order:threat_then_demand"]] = float(_before(threat, demand))
        out[at["order:demand_then_deadline"]] = float(_before(demand, deadline))
        out[at["pair:threat_and_payment"]] = float(has("threat_to_share")
                                                  and has("payment_demand"))
        out[at["pair:threat_and_content"]] = float(has("threat_to_share")
                                                  and has("content_demand"))
        out[at["pair:claim_and_threat"]] = float(any(has(c) for c in _CLAIMS)
                                                and has("threat_to_share"))
        out[at["pair:age_probe_and_image_request"]] = float(has("age_probe")
                                                           and has("image_or_call_request"))
        out[at["pair:secrecy_and_contact_request"]] = float(
            has("secrecy_request") and any(has(s) for s in _CONTACT_REQUESTS))


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
        order = list(table)
        # The model's columns in the table's order (usually all of them, in order).
        self._take = None if names == tuple(order) else np.array([order.index(n) for n in names])

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    def state(self, conversation: Conversation, analyses: Sequence[MessageAnalysis],
              groups: np.ndarray | None = None) -> ConversationState:
        """The state after every message; ``groups``: learned probabilities, one row per
        message."""
        state = ConversationState()
        rows = groups.tolist() if groups is not None else None
        for k, (msg, analysis) in enumerate(zip(conversation.messages, analyses, strict=True)):
            state.add(analysis, msg.sender, msg.timestamp, None if rows is None else rows[k])
        return state

    @staticmethod
    def quiet(conversation: Conversation, analyses: Sequence[MessageAnalysis],
              peak: float | None) -> bool:
        """Whether a conversation is one untimed message without any hit or indicator and
        whose learned groups (highest: ``peak``) stay under ``LEARNED_ON``: most scored
        items are. Its row then only holds its learned probabilities (``quiet_row``; the
        same row as the state's, tested)."""
        return (len(analyses) == 1 and not analyses[0].hits and not analyses[0].indicators
                and conversation.messages[0].timestamp is None
                and (peak is None or peak < LEARNED_ON))

    def quiet_row(self, groups: np.ndarray | None, out: np.ndarray) -> None:
        """The row of a ``quiet`` conversation, written into ``out`` (zeros on entry)."""
        if groups is not None:
            values = np.zeros(layout().size)
            values[layout().learned] = groups[0]
            out[:] = values if self._take is None else values[self._take]

    def row(self, state: ConversationState, out: np.ndarray | None = None) -> np.ndarray:
        """The feature row of a state (written into ``out`` if given)."""
        values = state.vector()
        row = np.empty(len(self.feature_names)) if out is None else out
        row[:] = values if self._take is None else np.asarray(values)[self._take]
        return row
