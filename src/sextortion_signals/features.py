"""Where signal hits become a vector: conversation-level features for the linear model.

Every feature is documented in ``FEATURES`` (name -> what it measures) and listed in the
README's feature table. Values are non-negative and small (mostly 0..1, a few log counts),
so a feature's contribution to the log-odds is simply ``weight * value``: zero when the
feature is absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._store import keep
from .extract import MessageAnalysis
from .indicators import Indicator
from .messages import Conversation
from .signals import registry

_RISK_CATEGORIES = ("grooming", "sextortion")
_CLAIMS = frozenset({"possession_claim", "fabrication_claim"})
_DEMANDS = frozenset({"payment_demand", "content_demand"})
_CONTACT_REQUESTS = frozenset({"image_or_call_request", "meeting_request", "platform_move"})
_HANDLE_KINDS = frozenset({"crypto_wallet", "cashtag"})
_BURST_WINDOW = 600.0  # seconds: "many messages within minutes"
_RECENT = 5  # messages counted as "recent"
_COUNT_CAP = 8
_MAX_SINGLE_ROWS = 4096


def _risk_signals() -> tuple[str, ...]:
    return tuple(s.name for s in registry.available() if s.category in _RISK_CATEGORIES)


def _context_signals() -> tuple[str, ...]:
    return tuple(s.name for s in registry.available()
                 if s.category == "context" and s.name != "age_disclosure")


def feature_table() -> dict[str, str]:
    """Feature name -> one-line description (the documented feature table)."""
    table = {f"signal:{s}": f"'{s}' fired somewhere in the conversation (0/1)"
             for s in _risk_signals()}
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
        "recency:risk_in_last_messages": f"a risk signal in the last {_RECENT} messages",
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
                                  "(expected to lower risk)" for c in _context_signals()})
    return table


@dataclass(frozen=True, slots=True)
class FeatureEvidence:
    """What each feature was computed from, kept to explain contributions lazily."""

    signals: tuple[str, ...] = ()  # signal names whose hits are the evidence
    indicators: tuple[str, ...] = ()  # indicator kinds
    messages: tuple[int, ...] = ()  # caller message indices (bursts)


def evidence_map() -> dict[str, FeatureEvidence]:
    risk = _risk_signals()
    sext = tuple(s.name for s in registry.available() if s.category == "sextortion")
    groom = tuple(s.name for s in registry.available() if s.category == "grooming")
    ev = {f"signal:{s}": FeatureEvidence((s,)) for s in risk}
    ev.update({
        "count:risky_messages": FeatureEvidence(risk),
        "count:sextortion_hits": FeatureEvidence(sext),
        "count:grooming_hits": FeatureEvidence(groom),
        "sender:sextortion_tactics": FeatureEvidence(sext),
        "sender:grooming_tactics": FeatureEvidence(groom),
        "order:claim_then_threat": FeatureEvidence((*sorted(_CLAIMS), "threat_to_share")),
        "order:threat_then_demand": FeatureEvidence(("threat_to_share", *sorted(_DEMANDS))),
        "order:demand_then_deadline": FeatureEvidence((*sorted(_DEMANDS), "deadline_urgency")),
        "pair:threat_and_payment": FeatureEvidence(("threat_to_share", "payment_demand")),
        "pair:threat_and_content": FeatureEvidence(("threat_to_share", "content_demand")),
        "pair:claim_and_threat": FeatureEvidence((*sorted(_CLAIMS), "threat_to_share")),
        "pair:age_probe_and_image_request": FeatureEvidence(("age_probe",
                                                             "image_or_call_request")),
        "pair:secrecy_and_contact_request": FeatureEvidence(("secrecy_request",
                                                             *sorted(_CONTACT_REQUESTS))),
        "recency:risk_in_last_messages": FeatureEvidence(risk),
        "age:disclosed_by_other_side": FeatureEvidence(("age_disclosure",)),
        "indicator:amount": FeatureEvidence(indicators=("amount",)),
        "indicator:payment_handle": FeatureEvidence(indicators=tuple(sorted(_HANDLE_KINDS))),
        "indicator:deadline": FeatureEvidence(indicators=("deadline",)),
    })
    ev.update({f"context:{c}": FeatureEvidence((c,)) for c in _context_signals()})
    return ev


def _before(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and a <= b


class FeatureVectorizer:
    """Turns (conversation, per-message analyses, indicators) into a feature vector.

    Stateless apart from the feature list, like a fitted scikit-learn transformer whose
    ``fit`` is a no-op; ``get_feature_names_out()`` gives the column order.
    """

    def __init__(self, feature_names: Sequence[str] | None = None) -> None:
        table = feature_table()
        names = tuple(feature_names) if feature_names is not None else tuple(table)
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; this library version knows: "
                             f"{', '.join(table)}")
        self.feature_names = names
        self._col = {n: i for i, n in enumerate(names)}
        self._risk = frozenset(_risk_signals())
        self._sext = frozenset(s.name for s in registry.available()
                               if s.category == "sextortion")
        self._groom = frozenset(s.name for s in registry.available()
                                if s.category == "grooming")
        self._context = _context_signals()
        self._signal_feature = {s: f"signal:{s}" for s in self._risk}
        self._context_feature = {c: f"context:{c}" for c in self._context}
        # Row of a one-message, untimed conversation, by all ``_values`` reads of it (see
        # ``_single_key``): most scored items are single messages, and their hits come in
        # few combinations. Bounded: cleared when full.
        self._single_rows: dict[tuple[object, ...], tuple[tuple[int, float], ...]] = {}

    def get_feature_names_out(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    def transform_one(self, conv: Conversation, analyses: Sequence[MessageAnalysis],
                      indicators: Sequence[Indicator], upto: int | None = None) -> np.ndarray:
        """Feature vector of the conversation, or of its first ``upto`` messages (used to
        measure early warning: message-by-message scoring without re-extracting)."""
        n = len(analyses) if upto is None else min(upto, len(analyses))
        X = np.zeros((1, len(self.feature_names)))
        self._fill(X, 0, conv, analyses, indicators, n)
        return np.asarray(X[0])

    def transform_many(self, items: Sequence[tuple[Conversation, Sequence[MessageAnalysis],
                                                   Sequence[Indicator]]]) -> np.ndarray:
        """Rows of ``transform_one``, one per (conversation, analyses, indicators)."""
        X = np.zeros((len(items), len(self.feature_names)))
        for row, (conv, analyses, indicators) in enumerate(items):
            self._fill(X, row, conv, analyses, indicators, len(analyses))
        return X

    @staticmethod
    def _single_key(conv: Conversation, analyses: Sequence[MessageAnalysis],
                    indicators: Sequence[Indicator], n: int) -> tuple[object, ...] | None:
        """For a conversation of one untimed message: everything ``_values`` reads of it
        (hit names in order, indicator kinds, whether the sender is known; with a single
        sender nothing else about it matters). None for any other conversation."""
        if n != 1 or len(conv.messages) != 1 or conv.messages[0].timestamp is not None:
            return None
        return (tuple(h.name for h in analyses[0].hits), frozenset(i.kind for i in indicators),
                conv.messages[0].sender is None)

    def _fill(self, X: np.ndarray, row: int, conv: Conversation,
              analyses: Sequence[MessageAnalysis], indicators: Sequence[Indicator],
              n: int) -> None:
        """Write the non-zero features into row ``row`` of ``X`` (zeros on entry; no view
        of the row is made for the many rows that stay zero)."""
        if (n == 1 and not indicators and not analyses[0].hits and len(conv.messages) == 1
                and conv.messages[0].timestamp is None):
            return  # most messages: one untimed message, no hit, no indicator: all zero
        key = self._single_key(conv, analyses, indicators, n)
        if key is None:
            self._place(X, row, self._values(conv, analyses, indicators, n))
            return
        cells = self._single_rows.get(key)
        if cells is None:
            col_of = self._col
            cells = tuple((col_of[name], value) for name, value
                          in self._values(conv, analyses, indicators, n).items()
                          if value and name in col_of)
            keep(self._single_rows, key, cells, _MAX_SINGLE_ROWS)
        for col, value in cells:
            X[row, col] = value

    def _values(self, conv: Conversation, analyses: Sequence[MessageAnalysis],
                indicators: Sequence[Indicator], n: int) -> dict[str, float]:
        """Feature values of the first ``n`` messages (absent features may be left out)."""
        if not indicators and not any(a.hits for a in analyses[:n]):
            # Only the burst features can be non-zero.
            return self._bursts(conv, [], n)
        f: dict[str, float] = {}
        first_at: dict[str, int] = {}
        risky_msgs: list[int] = []  # positions (0..n-1) of risky messages
        sender_tactics: dict[str | None, tuple[set[str], set[str]]] = {}
        sext_hits = groom_hits = 0
        ctx_counts = dict.fromkeys(self._context, 0)
        age_senders: list[str | None] = []
        risky_senders: set[str | None] = set()
        for pos in range(n):
            names = [h.name for h in analyses[pos].hits]
            sender = conv.messages[pos].sender
            risk_here = [s for s in names if s in self._risk]
            for s in names:
                first_at.setdefault(s, pos)
            if "age_disclosure" in names:
                age_senders.append(sender)
            if not risk_here:
                continue
            risky_msgs.append(pos)
            risky_senders.add(sender)
            sext_set, groom_set = sender_tactics.setdefault(sender, (set(), set()))
            for s in risk_here:
                if s in self._sext:
                    sext_hits += 1
                    sext_set.add(s)
                else:
                    groom_hits += 1
                    groom_set.add(s)
            present = set(names)
            for c in self._context:
                ctx_counts[c] += c in present
        if risky_msgs:  # otherwise every feature of this block is 0
            self._risk_features(f, first_at, risky_msgs, sext_hits, groom_hits,
                                sender_tactics, ctx_counts, n)
        f.update(self._bursts(conv, risky_msgs, n))
        f["age:disclosed_by_other_side"] = float(any(
            s is None or s not in risky_senders or len(risky_senders) > 1 for s in age_senders)
            if risky_senders else bool(age_senders))
        kinds = {i.kind for i in indicators if i.message_index - conv.offset < n}
        f["indicator:amount"] = float("amount" in kinds)
        f["indicator:payment_handle"] = float(bool(kinds & _HANDLE_KINDS))
        f["indicator:deadline"] = float("deadline" in kinds)
        return f

    def _risk_features(self, f: dict[str, float], first_at: dict[str, int],
                       risky_msgs: list[int], sext_hits: int, groom_hits: int,
                       sender_tactics: dict[str | None, tuple[set[str], set[str]]],
                       ctx_counts: dict[str, int], n: int) -> None:
        """Features that are all zero unless some message carries a risk signal."""
        for s in first_at:  # absent signals stay 0 (``_place`` only writes non-zeros)
            feature = self._signal_feature.get(s)
            if feature is not None:
                f[feature] = 1.0
        # Capped: a long ordinary chat accumulates stray hits; past a few, more is not
        # more evidence (and our synthetic chats are at most 40 messages long).
        f["count:risky_messages"] = math.log1p(min(len(risky_msgs), _COUNT_CAP))
        f["count:sextortion_hits"] = math.log1p(min(sext_hits, _COUNT_CAP))
        f["count:grooming_hits"] = math.log1p(min(groom_hits, _COUNT_CAP))
        f["sender:sextortion_tactics"] = min(max(len(a) for a, _ in sender_tactics.values())
                                             / 4, 2.0)
        f["sender:grooming_tactics"] = min(max(len(b) for _, b in sender_tactics.values())
                                           / 4, 2.0)
        at = first_at.get
        claim = min((first_at[s] for s in _CLAIMS if s in first_at), default=None)
        threat, deadline = at("threat_to_share"), at("deadline_urgency")
        demand = min((first_at[s] for s in _DEMANDS if s in first_at), default=None)
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
        f["recency:risk_in_last_messages"] = float(risky_msgs[-1] >= n - _RECENT)
        for c, feature in self._context_feature.items():
            f[feature] = ctx_counts[c] / len(risky_msgs)

    def _place(self, X: np.ndarray, row: int, values: dict[str, float]) -> None:
        # The row starts at zero and most features stay zero: write only the others.
        col_of = self._col
        for name, value in values.items():
            if value:
                col = col_of.get(name)
                if col is not None:
                    X[row, col] = value

    def _bursts(self, conv: Conversation, risky: list[int], n: int) -> dict[str, float]:
        stamps = [m.timestamp for m in conv.messages[:n]]
        if not any(t is not None for t in stamps):
            return {"burst:risky_messages_10min": 0.0, "burst:messages_per_minute": 0.0}
        risky_set = set(risky)
        best_risky = best_all = 0
        by_sender: dict[str | None, list[tuple[float, bool]]] = {}
        for pos, (msg, t) in enumerate(zip(conv.messages[:n], stamps, strict=True)):
            if t is not None:
                by_sender.setdefault(msg.sender, []).append((t, pos in risky_set))
        for events in by_sender.values():
            events.sort()
            lo = 0
            risky_in = 0
            for hi, (t, is_risky) in enumerate(events):
                risky_in += is_risky
                while t - events[lo][0] > _BURST_WINDOW:  # two-pointer window: linear
                    risky_in -= events[lo][1]
                    lo += 1
                best_all = max(best_all, hi - lo + 1)
                best_risky = max(best_risky, risky_in)
        return {"burst:risky_messages_10min": math.log1p(best_risky),
                "burst:messages_per_minute": math.log1p(best_all / (_BURST_WINDOW / 60))}
