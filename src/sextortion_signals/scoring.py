"""The public scoring API: ``score``, ``score_many``, ``Scorer`` and ``ScoreResult``.

Signals and indicators are computed eagerly (they are the evidence); contributions and
explanations are computed only when read.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np

from .errors import InvalidInputError
from .explain import Contribution, build_contributions, explain_text
from .extract import MessageAnalysis, SignalHit, analyse_many
from .features import FeatureVectorizer
from .indicators import Indicator
from .messages import Conversation, Limits, coerce_conversation
from .model import Model, default_model

RESULT_SCHEMA_VERSION = 1
# Conversations per batch in ``score_many``. Each batch runs its steps one after the other
# over all its messages (normalise and screen, tokenize and match, indicators...), and
# each step's tables must come back into the CPU's caches when it starts again: 512 per
# batch cost ~4% more time per message than 4,096 (benchmark messages, this machine).
BATCH_SIZE = 4096
_PARALLEL_FROM = 512  # fewer conversations are scored in this process whatever n_jobs
LEVELS = ("low", "medium", "high")
_new = tuple.__new__  # builds a named tuple at half the cost of its ``__new__``


class Featurized(NamedTuple):
    """One conversation after extraction: everything scoring and explaining need (a named
    tuple: one is made per conversation, cheaply)."""

    conversation: Conversation
    analyses: tuple[MessageAnalysis, ...]
    indicators: tuple[Indicator, ...]


@dataclass(eq=False, repr=False)
class ScoreResult:
    """One scored message or conversation. ``labels``, ``signals``, ``indicators`` and
    ``warnings`` are lists (made on first read: most results of a batch are only routed by
    their scores and level, and four lists per result were most of what the garbage
    collector traversed after a batch)."""

    scores: dict[str, float]  # calibrated probabilities per label
    level: str  # "low" | "medium" | "high"
    _labels: tuple[str, ...]  # labels at or above their shipped alert threshold
    _signals: tuple[SignalHit, ...]
    _indicators: tuple[Indicator, ...]
    _warnings: tuple[str, ...]
    _model: Model
    _X: np.ndarray  # the batch's feature rows (a row's view would hold them all anyway)
    _row: int

    @property
    def _x(self) -> np.ndarray:
        """This result's feature row (made when explanations are read)."""
        return np.asarray(self._X[self._row])

    @cached_property
    def labels(self) -> list[str]:
        """Labels at or above their shipped alert threshold."""
        return list(self._labels)

    @cached_property
    def signals(self) -> list[SignalHit]:
        """Signal hits, with the exact text spans that fired them."""
        return list(self._signals)

    @cached_property
    def indicators(self) -> list[Indicator]:
        """Typed indicators (amounts, payment handles, deadlines...)."""
        return list(self._indicators)

    @cached_property
    def warnings(self) -> list[str]:
        """What was repaired, truncated or left out of the input."""
        return list(self._warnings)

    def __getstate__(self) -> dict[str, Any]:
        # Pickled (or deep-copied) with its own feature row, not the batch's whole matrix.
        state = dict(self.__dict__)
        state["_X"], state["_row"] = self._x[None, :].copy(), 0
        return state

    def __repr__(self) -> str:
        return (f"ScoreResult(scores={self.scores!r}, labels={self.labels!r}, "
                f"level={self.level!r}, signals={self.signals!r}, "
                f"indicators={self.indicators!r}, warnings={self.warnings!r})")

    @cached_property
    def contributions(self) -> dict[str, list[Contribution]]:
        """Per label: features sorted by contribution (calibrated log-odds), with their
        evidence spans. ``intercept + sum(contributions)`` is the label's logit."""
        return build_contributions(self._model, self._x, self.signals, self.indicators)

    @property
    def intercepts(self) -> dict[str, float]:
        """Calibrated log-odds of each label with every feature at zero."""
        return {label: head.bias for label, head in self._model.heads.items()}

    @property
    def logits(self) -> dict[str, float]:
        """The decision function: calibrated log-odds per label, ``logit(scores[label])``;
        equals ``intercepts[label] + sum(c.contribution for c in contributions[label])``."""
        z = self._model.logits(self._x[None, :])[0]
        return {label: float(z[j]) for j, label in enumerate(self._model.labels)}

    def explain(self) -> str:
        """A plain-language explanation for a moderator."""
        return explain_text(self)

    def to_dict(self, *, contributions: bool = True) -> dict[str, Any]:
        """JSON-serialisable; schema documented in the README (``schema_version``).
        ``contributions=False`` leaves out the per-feature explanation, the only part
        that costs anything to compute (a pipeline that only routes need not pay it)."""
        out: dict[str, Any] = {
            "schema_version": RESULT_SCHEMA_VERSION,
            "scores": dict(self.scores),
            "labels": list(self.labels),
            "level": self.level,
            "signals": [h.to_dict() for h in self.signals],
            "indicators": [i.to_dict() for i in self.indicators],
        }
        if contributions:
            out["contributions"] = {label: [c.to_dict() for c in cs]
                                    for label, cs in self.contributions.items()}
        out.update(intercepts=self.intercepts, logits=self.logits,
                   warnings=list(self.warnings))
        return out


def flag(thresholds: Sequence[tuple[str, float, float]],
         P: np.ndarray) -> list[tuple[tuple[str, ...], str]]:
    """Per row of probabilities ``P`` (n, labels): (labels at or above their alert
    threshold, level)."""
    alert_at = np.array([a for _, a, _ in thresholds])
    review_at = np.array([r for _, _, r in thresholds])
    alert = np.greater_equal(P, alert_at)
    any_alert = alert.any(axis=1).tolist()
    review = np.greater_equal(P, review_at).any(axis=1).tolist()
    medium: tuple[tuple[str, ...], str] = ((), "medium")
    low: tuple[tuple[str, ...], str] = ((), "low")
    out: list[tuple[tuple[str, ...], str]] = []
    for row, alerted in enumerate(any_alert):
        if alerted:
            flagged = tuple(thresholds[j][0] for j in np.flatnonzero(alert[row]).tolist())
            out.append((flagged, "high"))
        else:
            out.append(medium if review[row] else low)
    return out


def featurize_many(conversations: Sequence[Conversation]) -> list[Featurized]:
    analysed = analyse_many(conversations)
    out: list[Featurized] = []
    for conv, analyses in zip(conversations, analysed, strict=True):
        if len(analyses) == 1:  # the common case, without the generator
            inds = analyses[0].indicators
        else:
            inds = tuple(ind for a in analyses for ind in a.indicators)
        out.append(_new(Featurized, (conv, tuple(analyses), inds)))  # as Featurized(...)
    return out


def vectorize(vectorizer: FeatureVectorizer, items: Sequence[Featurized]) -> np.ndarray:
    """Feature matrix of featurized conversations, one row each."""
    return vectorizer.transform_many(items)  # a Featurized is (conversation, analyses, ...)


# Feature rows + per-conversation (signal hits, indicators, warnings): everything result
# assembly needs, and small to pickle back from a worker process.
Extracted = tuple[np.ndarray, list[tuple[tuple[SignalHit, ...], tuple[Indicator, ...],
                                         tuple[str, ...]]]]


def extract(vectorizer: FeatureVectorizer, convs: Sequence[Conversation]) -> Extracted:
    items = featurize_many(convs)
    return vectorize(vectorizer, items), [
        (item.analyses[0].hits if len(item.analyses) == 1
         else tuple(h for a in item.analyses for h in a.hits),
         item.indicators, item.conversation.warnings) for item in items]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is scored.

    Scoring allocates many small objects and creates no reference cycles (tested), so the
    collector's passes over the growing list of results are pure cost (~15% of batch
    time). Reference counting still frees everything; the previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Scorer:
    """Scores conversations with one model. Thread-safe; reuse one instance."""

    def __init__(self, model: Model | None = None, *, limits: Limits | None = None) -> None:
        self.model = model if model is not None else default_model()
        self.limits = limits or Limits()
        self.vectorizer = FeatureVectorizer(self.model.feature_names)
        self._thresholds = [(label, h.alert, h.review) for label, h in self.model.heads.items()]

    def vectorize(self, items: Sequence[Featurized]) -> np.ndarray:
        return vectorize(self.vectorizer, items)

    def _assemble(self, extracted: Extracted) -> list[ScoreResult]:
        """Where scores become results: calibrated probabilities, flags, lazy evidence."""
        X, evidence = extracted
        if not evidence:
            return []
        P = self.model.probabilities(X)
        labels = self.model.labels
        out: list[ScoreResult] = []
        for row, ((signals, indicators, warnings), probs, (flagged, level)) in enumerate(
                zip(evidence, P.tolist(), flag(self._thresholds, P), strict=True)):
            # Positional: keywords cost a fifth of this loop (fields: see ScoreResult), and
            # zip's ``strict=`` alone 0.4 us a row (rows of ``P`` have one value per label).
            out.append(ScoreResult(dict(zip(labels, probs)), level,  # noqa: B905
                                   flagged, signals, indicators, warnings, self.model, X, row))
        return out

    def score(self, messages: Any) -> ScoreResult:
        """Score one message (``str``) or one conversation (list of str or mappings)."""
        return self._assemble(extract(self.vectorizer,
                                           [coerce_conversation(messages, self.limits)]))[0]

    def score_many(self, conversations: Iterable[Any], *, n_jobs: int = 1,
                   batch_size: int | None = None) -> list[ScoreResult]:
        """Same results as ``score`` on each item, batched (one tokenizer pass per language
        per batch) and optionally spread over ``n_jobs`` processes (joblib; worth it from a
        few thousand messages, once the worker processes are warm).

        ``batch_size``: conversations per batch (per job with ``n_jobs``). By default
        ``BATCH_SIZE`` in this process; with ``n_jobs``, about four jobs per worker (at
        most ``BATCH_SIZE`` each) so that every worker stays busy to the end."""
        if batch_size is not None and (not isinstance(batch_size, int)
                                       or isinstance(batch_size, bool) or batch_size < 1):
            raise InvalidInputError(f"batch_size must be a positive int or None, got "
                                    f"{batch_size!r}")
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
            raise InvalidInputError(f"n_jobs must be a non-zero int (1: this process, k: k "
                                    f"processes, -1: all cores), got {n_jobs!r}")
        items = list(conversations)
        if n_jobs != 1 and len(items) > (batch_size or _PARALLEL_FROM):
            from joblib import Parallel, delayed, effective_n_jobs

            size = job_size(len(items), effective_n_jobs(n_jobs), batch_size)
            # Workers validate, extract and vectorise; only hits and feature rows come
            # back (small to pickle), and each part is assembled here, with this model,
            # as soon as it arrives: assembly overlaps the workers' extraction.
            chunks = [items[i:i + size] for i in range(0, len(items), size)]
            parts = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_extract_chunk)(self.model.feature_names, self.limits, c)
                for c in chunks)
            with _gc_paused():
                return [r for part in parts for r in self._assemble(part)]
        size = batch_size or BATCH_SIZE
        out: list[ScoreResult] = []
        with _gc_paused():
            convs = [coerce_conversation(c, self.limits) for c in items]
            for i in range(0, len(convs), size):
                out.extend(self._assemble(extract(self.vectorizer, convs[i:i + size])))
            # Freed while the collector is paused: the first young collection after it
            # would otherwise traverse every validated conversation along with the
            # results (a third of that pass's time, on single messages).
            del convs
        return out


def job_size(n_items: int, workers: int, batch_size: int | None) -> int:
    """Conversations per job when ``n_items`` are spread over ``workers`` processes:
    ``batch_size`` if given, else about four jobs per worker, at most ``BATCH_SIZE``."""
    if batch_size is not None:
        return batch_size
    return max(1, min(BATCH_SIZE, -(-n_items // (4 * max(1, workers)))))


@lru_cache(maxsize=4)
def _worker_vectorizer(feature_names: tuple[str, ...]) -> FeatureVectorizer:
    return FeatureVectorizer(feature_names)


def _extract_chunk(feature_names: tuple[str, ...], limits: Limits,
                   items: list[Any]) -> Extracted:
    # In a worker process as in this one, the collector is paused while a batch is
    # extracted (a third of a worker's time went to its passes otherwise).
    with _gc_paused():
        convs = [coerce_conversation(c, limits) for c in items]
        return extract(_worker_vectorizer(tuple(feature_names)), convs)


_DEFAULT: Scorer | None = None


def _default_scorer() -> Scorer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Scorer()
    return _DEFAULT


def score(messages: Any) -> ScoreResult:
    """Score one message or conversation with the shipped model."""
    return _default_scorer().score(messages)


def score_many(conversations: Iterable[Any], n_jobs: int = 1) -> list[ScoreResult]:
    """Batch form of ``score`` (identical results)."""
    return _default_scorer().score_many(conversations, n_jobs=n_jobs)
