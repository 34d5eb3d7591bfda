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
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class _Window:
    """One sender's recent messages (sextortion evidence is a burst): per group, the
    window's maximum is kept in a monotone deque, so adding a message costs O(groups)."""

    groups: int
    seqs: deque[tuple[int, float | None]] = field(default_factory=deque)  # (seq, time)
    peaks: list[deque[tuple[float, int, int]]] = field(default_factory=list)  # (p, index, seq)
    tactics: deque[tuple[int, dict[str, float]]] = field(default_factory=deque)
    next_seq: int = 0
    best_sum: float = -1.0
    best_groups: tuple[float, ...] = ()  # per group: the best window's maximum
    best_peaks: tuple[int, ...] = ()  # per group: the message index of that maximum
    best_tactics: dict[str, float] = field(default_factory=dict)  # rule tactic -> strength

    def add(self, t: float | None, index: int, probs: Sequence[float],
            tactics: dict[str, float]) -> None:
        seqs = self.seqs
        if seqs and t is not None and seqs[-1][1] is not None and t < seqs[-1][1]:
            self._restart()  # time went backwards: a new window
        seq = self.next_seq
        self.next_seq += 1
        seqs.append((seq, t))
        while len(seqs) > WINDOW_MESSAGES or (
                t is not None and seqs[0][1] is not None and t - seqs[0][1] > WINDOW_SECONDS):
            seqs.popleft()
        oldest = seqs[0][0]
        if not self.peaks:
            self.peaks = [deque() for _ in range(self.groups)]
        for dq, p in zip(self.peaks, probs, strict=True):
            while dq and dq[-1][0] <= p:
                dq.pop()
            dq.append((p, index, seq))
            while dq[0][2] < oldest:
                dq.popleft()
        if tactics:
            self.tactics.append((seq, tactics))
        while self.tactics and self.tactics[0][0] < oldest:
            self.tactics.popleft()
        merged: dict[str, float] = {}
        for _, found in self.tactics:
            for name, strength in found.items():
                merged[name] = max(merged.get(name, 0.0), strength)
        maxima = tuple(dq[0][0] for dq in self.peaks)
        score = sum(maxima) + len(merged)
        if score > self.best_sum:
            self.best_sum = score
            self.best_groups = maxima
            self.best_peaks = tuple(dq[0][1] for dq in self.peaks)
            self.best_tactics = merged

    def _restart(self) -> None:
        self.seqs.clear()
        self.tactics.clear()
        for dq in self.peaks:
            dq.clear()

    def to_dict(self) -> dict[str, Any]:
        return {"groups": self.groups, "seqs": [list(x) for x in self.seqs],
                "peaks": [[list(x) for x in dq] for dq in self.peaks],
                "tactics": [[seq, t] for seq, t in self.tactics], "next_seq": self.next_seq,
                "best_sum": self.best_sum, "best_groups": list(self.best_groups),
                "best_peaks": list(self.best_peaks), "best_tactics": self.best_tactics}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> _Window:
        return cls(int(raw["groups"]), deque((int(s), t) for s, t in raw["seqs"]),
                   [deque((float(p), int(i), int(q)) for p, i, q in dq) for dq in raw["peaks"]],
                   deque((int(seq), {str(k): float(v) for k, v in t.items()})
                         for seq, t in raw["tactics"]),
                   int(raw["next_seq"]), float(raw["best_sum"]),
                   tuple(float(x) for x in raw["best_groups"]),
                   tuple(int(x) for x in raw["best_peaks"]),
                   {str(k): float(v) for k, v in raw["best_tactics"].items()})


@dataclass(slots=True)
class _Sender:
    """Everything one sender's messages brought."""

    window: _Window
    grooming_max: list[float] = field(default_factory=list)
    grooming_peaks: list[int] = field(default_factory=list)
    grooming_tactics: dict[str, float] = field(default_factory=dict)
    first_at: dict[str, int] = field(default_factory=dict)  # tactic or group -> position
    last_evidence: int = -1
    minor: bool = False

    def score(self) -> float:
        return (sum(self.grooming_max) + len(self.grooming_tactics)
                + max(self.window.best_sum, 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window.to_dict(), "grooming_max": self.grooming_max,
                "grooming_peaks": self.grooming_peaks, "grooming_tactics": self.grooming_tactics,
                "first_at": self.first_at, "last_evidence": self.last_evidence,
                "minor": self.minor}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> _Sender:
        return cls(_Window.from_dict(raw["window"]),
                   [float(x) for x in raw["grooming_max"]],
                   [int(x) for x in raw["grooming_peaks"]],
                   {str(k): float(v) for k, v in raw["grooming_tactics"].items()},
                   {str(k): int(v) for k, v in raw["first_at"].items()},
                   int(raw["last_evidence"]), bool(raw["minor"]))


@dataclass(slots=True)
class ConversationState:
    """Everything the features need, folded message by message (see ``add``)."""

    n: int = 0
    senders: dict[str | None, _Sender] = field(default_factory=dict)
    indicator_kinds: set[str] = field(default_factory=set)
    timed: bool = False
    bursts: dict[str | None, deque[tuple[float, bool]]] = field(default_factory=dict)
    best_burst: int = 0
    best_risky_burst: int = 0

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
            me = self.senders[sender] = _Sender(_Window(n_sext))
        names = {h.name for h in analysis.hits if not h.rule_id.startswith(FRAME_PREFIX)}
        framed = {f"frame:{h.name}" for h in analysis.hits if h.rule_id.startswith(FRAME_PREFIX)}
        if "age_disclosure" in names:
            me.minor = True
        # Context softens only its own message's rule hits, and never a threat or a
        # condition ("don't ignore me. if you don't pay, everyone sees it").
        softened = bool(names & _CONTEXT) and "threat_to_share" not in names \
            and "condition" not in analysis.concepts and not framed
        strength = CONTEXT_DISCOUNT if softened else 1.0
        tactics = {n: strength for n in names if n in v.risk}
        tactics.update(dict.fromkeys(framed, 1.0))
        probs = [0.0] * (n_sext + len(v.grooming_groups)) if groups is None \
            else [float(p) for p in groups]
        me.window.add(timestamp, analysis.message_index, probs[:n_sext],
                      {n: s for n, s in tactics.items()
                       if n in v.sextortion or n.startswith("frame:")})
        groom = probs[n_sext:]
        if not me.grooming_max:
            me.grooming_max = groom
            me.grooming_peaks = [analysis.message_index] * len(groom)
        else:
            for j, p in enumerate(groom):
                if p > me.grooming_max[j]:
                    me.grooming_max[j] = p
                    me.grooming_peaks[j] = analysis.message_index
        for name, s in tactics.items():
            if name in v.grooming:
                me.grooming_tactics[name] = max(me.grooming_tactics.get(name, 0.0), s)
        on = [*tactics, *(g for g, p in zip(v.sextortion_groups + v.grooming_groups,
                                            probs, strict=True) if p >= LEARNED_ON)]
        for name in on:
            me.first_at.setdefault(name, pos)
        if on:
            me.last_evidence = pos
        self.indicator_kinds.update(i.kind for i in analysis.indicators)
        if timestamp is not None:
            self._burst(sender, timestamp, bool(on))

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
        return cls(int(raw["n"]), {k: _Sender.from_dict(v) for k, v in raw["senders"]},
                   set(raw["indicator_kinds"]), bool(raw["timed"]),
                   {k: deque((float(t), bool(r)) for t, r in v) for k, v in raw["bursts"]},
                   int(raw["best_burst"]), int(raw["best_risky_burst"]))

    def lead(self) -> tuple[str | None, _Sender] | None:
        """The sender with the most evidence (None before any message)."""
        if not self.senders:
            return None
        return max(self.senders.items(), key=lambda item: item[1].score())

    def learned_hits(self) -> tuple[LearnedHit, ...]:
        """Where the lead sender's learned evidence peaked, per group at or above
        ``LEARNED_ON``."""
        found = self.lead()
        if found is None:
            return ()
        v = vocabulary()
        _, me = found
        out: list[LearnedHit] = []
        window = me.window
        for g, p, at in zip(v.sextortion_groups, window.best_groups, window.best_peaks,
                            strict=False):
            if p >= LEARNED_ON:
                out.append(LearnedHit(g, at, p))
        for g, p, at in zip(v.grooming_groups, me.grooming_max, me.grooming_peaks,
                            strict=False):
            if p >= LEARNED_ON:
                out.append(LearnedHit(g, at, p))
        return tuple(sorted(out, key=lambda h: (h.message_index, h.group)))

    def values(self) -> dict[str, float]:
        """Feature values (absent features may be left out)."""
        v = vocabulary()
        f: dict[str, float] = {}
        found = self.lead()
        if found is None:
            return f
        lead_name, me = found
        window = me.window
        tactics = {**window.best_tactics, **me.grooming_tactics}
        for name, strength in tactics.items():
            f[name if name.startswith("frame:") else f"signal:{name}"] = strength
        sext = window.best_groups or (0.0,) * len(v.sextortion_groups)
        groom = me.grooming_max or [0.0] * len(v.grooming_groups)
        for g, p in zip(v.sextortion_groups + v.grooming_groups, (*sext, *groom), strict=True):
            f[f"learned:{g}"] = p
        f["learned:sextortion_groups"] = sum(p >= LEARNED_ON for p in sext) / len(sext)
        f["learned:grooming_groups"] = sum(p >= LEARNED_ON for p in groom) / len(groom)
        f["sender:sextortion_tactics"] = min(
            len({n.removeprefix("frame:") for n in window.best_tactics}) / 4, 2.0)
        f["sender:grooming_tactics"] = min(len(me.grooming_tactics) / 4, 2.0)
        self._order_and_pairs(f, me)
        if me.last_evidence >= 0:
            f["recency:risk_in_last_messages"] = float(me.last_evidence >= self.n - RECENT)
        if self.timed:
            f["burst:risky_messages_10min"] = math.log1p(self.best_risky_burst)
            f["burst:messages_per_minute"] = math.log1p(self.best_burst / (BURST_WINDOW / 60))
        others_minor = any(s.minor for name, s in self.senders.items() if name != lead_name)
        f["age:disclosed_by_other_side"] = float(others_minor)
        f["age:both_sides_minor"] = float(others_minor and me.minor)
        f["participants:group_chat"] = float(len(self.senders) > 2)
        kinds = self.indicator_kinds
        f["indicator:amount"] = float("amount" in kinds)
        f["indicator:payment_handle"] = float(bool(kinds & _HANDLE_KINDS))
        f["indicator:deadline"] = float("deadline" in kinds)
        return f

    @staticmethod
    def _order_and_pairs(f: dict[str, float], me: _Sender) -> None:
        at = me.first_at

        def first(*names: str) -> int | None:
            found = [at[n] for n in names if n in at]
            return min(found) if found else None

        claim = first(*_CLAIMS, "claim")
        threat = first("threat_to_share", "threat")
        demand = first(*_DEMANDS, "demand")
        deadline = first("deadline_urgency", "pressure")
        f["order:claim_then_threat"] = float(_before(claim, threat))
        f["order:threat_then_demand"] = float(_before(threat, demand))
        f["order:demand_then_deadline"] = float(_before(demand, deadline))
        has = at.__contains__
        f["pair:threat_and_payment"] = float(has("threat_to_share") and has("payment_demand"))
        f["pair:threat_and_content"] = float(has("threat_to_share") and has("content_demand"))
        f["pair:claim_and_threat"] = float(any(has(c) for c in _CLAIMS)
                                           and has("threat_to_share"))
        f["pair:age_probe_and_image_request"] = float(has("age_probe")
                                                      and has("image_or_call_request"))
        f["pair:secrecy_and_contact_request"] = float(
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
        self._col = {n: i for i, n in enumerate(names)}

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    def state(self, conversation: Conversation, analyses: Sequence[MessageAnalysis],
              groups: np.ndarray | None = None) -> ConversationState:
        """The state after every message; ``groups``: learned probabilities, one row per
        message."""
        state = ConversationState()
        for k, (msg, analysis) in enumerate(zip(conversation.messages, analyses, strict=True)):
            state.add(analysis, msg.sender, msg.timestamp, None if groups is None else groups[k])
        return state

    def row(self, state: ConversationState, out: np.ndarray | None = None) -> np.ndarray:
        """The feature row of a state (written into ``out`` if given)."""
        row = np.zeros(len(self.feature_names)) if out is None else out
        col = self._col.get
        for name, value in state.values().items():
            j = col(name)
            if value and j is not None:
                row[j] = value
        return row
