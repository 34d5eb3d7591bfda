"""What scoring returns: plain, frozen, serialisable values.

Hits, indicators, evidence and contributions are named tuples (immutable, compared by
value, cheap: one is made per hit). A ``ScoreResult`` has read-only attributes and owns
its feature row; its contributions and explanation are pure functions of (model, row,
evidence), computed when first read (``explain.py``). No spaCy object crosses this
boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from .features import LearnedHit
    from .guidance import Guidance
    from .model import Model

RESULT_SCHEMA_VERSION = 2
LEVELS = ("low", "medium", "high")


class SignalHit(NamedTuple):
    """A rule fired: ``text`` is ``message.text[start:end]`` of the caller's message."""

    name: str
    category: str
    message_index: int
    start: int
    end: int
    text: str
    lang: str
    rule_id: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Indicator(NamedTuple):
    """A typed fact found in a message (amount, payment channel, deadline, platform...)."""

    kind: str  # amount | crypto_wallet | cashtag | email | payment_channel | deadline |
    #            platform | handle | phone
    value: str  # canonical form: "150 EUR", "gift_card", "600 s", "snapchat"...
    message_index: int
    start: int
    end: int
    text: str
    amount: float | None = None
    currency: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Evidence(NamedTuple):
    kind: str  # "signal" | "indicator" | "learned"
    name: str
    message_index: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Contribution(NamedTuple):
    feature: str
    description: str
    value: float  # the feature's value
    contribution: float  # weight * value, in calibrated log-odds
    share: float  # contribution / sum of |contributions| of this label
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["evidence"] = [e.to_dict() for e in self.evidence]
        return d


class ScoreResult:
    """One scored message or conversation: read-only attributes (a result is a value;
    ``scores`` and ``metadata`` are the caller's to copy before changing)."""

    __slots__ = ("_contributions", "_features", "_indicators", "_labels", "_lang", "_learned",
                 "_level", "_metadata", "_model", "_scores", "_signals", "_texts", "_times",
                 "_warnings")

    def __init__(self, scores: Mapping[str, float], labels: tuple[str, ...], level: str,
                 signals: tuple[SignalHit, ...], indicators: tuple[Indicator, ...],
                 warnings: tuple[str, ...], features: np.ndarray, model: Model,
                 metadata: Mapping[str, Any] | None = None,
                 learned: tuple[LearnedHit, ...] = (),
                 texts: Mapping[int, str] | None = None, lang: str | None = None,
                 times: Mapping[int, float] | None = None) -> None:
        self._scores = scores
        self._labels = labels
        self._level = level
        self._signals = signals
        self._indicators = indicators
        self._warnings = warnings
        self._features = features
        self._model = model
        self._metadata = metadata
        self._learned = learned
        # The messages learned evidence points at, for its spans (read lazily), and the
        # timestamps of the messages evidence points at; read-only, never copied.
        self._texts = {} if texts is None else texts
        self._lang = lang
        self._times = {} if times is None else times
        self._contributions: dict[str, tuple[Contribution, ...]] | None = None

    @property
    def scores(self) -> Mapping[str, float]:
        """Calibrated probability per label."""
        return self._scores

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels at or above their alert threshold."""
        return self._labels

    @property
    def level(self) -> str:
        """``low``, ``medium`` (worth a moderator's look) or ``high`` (some label alerts)."""
        return self._level

    @property
    def signals(self) -> tuple[SignalHit, ...]:
        """Signal hits, with the exact text spans that fired them."""
        return self._signals

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """Typed indicators (amounts, payment handles, deadlines...)."""
        return self._indicators

    @property
    def learned(self) -> tuple[LearnedHit, ...]:
        """Where the lead sender's messages read most strongly as each tactic group
        (learned lexical evidence, probability at or above 0.5)."""
        return self._learned

    @property
    def lang(self) -> str | None:
        """The language most messages are in (the default language of explanations)."""
        return self._lang

    @property
    def times(self) -> Mapping[int, float]:
        """Epoch seconds of the messages the evidence points at, when they had one."""
        return dict(self._times)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What was repaired, truncated or left out of the input."""
        return self._warnings

    @property
    def features(self) -> np.ndarray:
        """This result's own feature row (the model's columns; a copy)."""
        return self._features.copy()

    @property
    def model(self) -> Model:
        """The model that scored it."""
        return self._model

    @property
    def metadata(self) -> Mapping[str, Any] | None:
        """The caller's extra fields of the conversation, passed through."""
        return self._metadata

    def __repr__(self) -> str:
        return (f"ScoreResult(scores={dict(self._scores)!r}, labels={self._labels!r}, "
                f"level={self._level!r}, signals={self._signals!r}, "
                f"indicators={self._indicators!r}, warnings={self._warnings!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScoreResult, (dict(self._scores), self._labels, self._level, self._signals,
                              self._indicators, self._warnings, self._features, self._model,
                              self._metadata, self._learned, self._texts, self._lang,
                              self._times))

    @property
    def contributions(self) -> dict[str, tuple[Contribution, ...]]:
        """Per label: features sorted by contribution (calibrated log-odds), with their
        evidence spans. ``intercepts[label] + sum(contributions)`` is ``logits[label]``.
        Computed on first read (a pure function of model, features and evidence)."""
        if self._contributions is None:
            from .explain import build_contributions

            self._contributions = build_contributions(
                self._model, self._features, self._signals, self._indicators, self._learned,
                self._texts)
        return self._contributions

    @property
    def intercepts(self) -> dict[str, float]:
        """Calibrated log-odds of each label with every feature at zero."""
        return {label: head.bias for label, head in self._model.heads.items()}

    @property
    def logits(self) -> dict[str, float]:
        """Calibrated log-odds per label, ``logit(scores[label])``."""
        z = self._model.logits(self._features[None, :])[0]
        return {label: float(z[j]) for j, label in enumerate(self._model.labels)}

    def explain(self, locale: str | None = None, *, technical: bool = False) -> str:
        """A plain-language explanation for a moderator, in the conversation's language (or
        ``locale``'s); ``technical`` adds the per-feature breakdown."""
        from .explain import explain_text

        return explain_text(self, locale, technical=technical)

    def guidance(self, locale: str | None = None) -> Guidance:
        """Next steps for the person at risk and the moderator, for the most likely label
        at this result's level, in ``locale`` (default: from the conversation's language)."""
        from .guidance import guidance, locale_for

        label = max(self._labels or self._scores, key=self._scores.__getitem__)
        return guidance(label, self._level, locale or locale_for(self._lang))

    def to_dict(self, *, contributions: bool = True,
                guidance: bool | str = True) -> dict[str, Any]:
        """JSON-serialisable (``schemas/score_result.schema.json``). ``contributions=False``
        leaves out the per-feature explanation, the only part that costs anything;
        ``guidance`` (a locale, or True for the conversation's) adds next steps when the
        level is medium or high."""
        out: dict[str, Any] = {
            "schema_version": RESULT_SCHEMA_VERSION,
            "scores": dict(self._scores),
            "labels": list(self._labels),
            "level": self._level,
            "signals": [h.to_dict() for h in self._signals],
            "indicators": [i.to_dict() for i in self._indicators],
            "learned": [h.to_dict() for h in self._learned],
        }
        if contributions:
            out["contributions"] = {label: [c.to_dict() for c in cs]
                                    for label, cs in self.contributions.items()}
        out.update(intercepts=self.intercepts, logits=self.logits,
                   warnings=list(self._warnings), lang=self._lang)
        if guidance and self._level != "low":
            out["guidance"] = self.guidance(None if guidance is True else guidance).to_dict()
        return out
