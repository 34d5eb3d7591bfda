"""The scoring API: ``score``, ``score_many`` and ``Scorer``.

A batch flows one way, each stage once: inputs (``inputs.py``) -> text and matching
(``match/analyze.py``) -> indicators (inside the same per-message pass) -> features
(``features.py``) -> calibrated model (``model.py``) -> results (``results.py``), whose
explanation (``explain.py``) is computed when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .features import FeatureVectorizer
from .inputs import Conversation, Limits, coerce_conversation, coerce_many
from .match.analyze import Analyzer, MessageAnalysis, default_analyzer
from .model import Model, default_model
from .results import Indicator, ScoreResult, SignalHit

BATCH_SIZE = 4096  # conversations per batch: one tokenizer pass per language per batch
_PARALLEL_FROM = 512  # fewer conversations are scored in this process whatever n_jobs

# Per conversation, what a worker process sends back: its feature row and its evidence.
Extracted = tuple[np.ndarray, list[tuple[tuple[SignalHit, ...], tuple[Indicator, ...]]]]


def flag(model: Model, P: np.ndarray) -> list[tuple[tuple[str, ...], str]]:
    """Per row of probabilities ``P`` (n, labels): (labels at or above their alert
    threshold, level)."""
    heads = list(model.heads.values())
    # Row -> bits of its alerting labels -> (labels, level), from a table of every case.
    bits: np.ndarray = (np.array([h.alert for h in heads]) <= P) @ (1 << np.arange(len(heads)))
    review = np.asarray((np.array([h.review for h in heads]) <= P).any(axis=1))
    cases = {b: tuple(label for j, label in enumerate(model.labels) if b >> j & 1)
             for b in range(1 << len(heads))}
    low, medium = ((), "low"), ((), "medium")
    return [(cases[b], "high") if b else medium if r else low
            for b, r in zip(bits.tolist(), review.tolist(), strict=True)]


def extract(vectorizer: FeatureVectorizer, analyzer: Analyzer,
            conversations: Sequence[Conversation]) -> Extracted:
    """Feature rows and evidence of validated conversations."""
    analysed = analyzer.analyse(conversations)
    X = np.zeros((len(conversations), len(vectorizer.feature_names)))
    evidence = []
    for i, (conv, analyses) in enumerate(zip(conversations, analysed, strict=True)):
        vectorizer.fill(conv, analyses, X[i])
        evidence.append(_evidence(analyses))
    return X, evidence


def _evidence(analyses: Sequence[MessageAnalysis],
              ) -> tuple[tuple[SignalHit, ...], tuple[Indicator, ...]]:
    if len(analyses) == 1:
        return analyses[0].hits, analyses[0].indicators
    return (tuple(h for a in analyses for h in a.hits),
            tuple(i for a in analyses for i in a.indicators))


class Scorer:
    """Scores conversations with one model. Thread-safe; reuse one instance."""

    def __init__(self, model: Model | None = None, *, limits: Limits | None = None,
                 analyzer: Analyzer | None = None) -> None:
        self.model = model if model is not None else default_model()
        self.limits = limits or Limits()
        self.analyzer = analyzer or default_analyzer()
        self.vectorizer = FeatureVectorizer(self.model.feature_names)

    def score(self, conversation: Any) -> ScoreResult:
        """Score one message (``str``) or one conversation (see ``inputs.py``)."""
        return self._score([coerce_conversation(conversation, self.limits)])[0]

    def score_many(self, conversations: Iterable[Any], *, n_jobs: int = 1,
                   batch_size: int | None = None) -> list[ScoreResult]:
        """``score`` on each item, batched (one tokenizer pass per language per batch) and
        optionally spread over ``n_jobs`` processes (joblib; worth it from a few thousand
        messages, once the worker processes are warm). Same results either way."""
        if batch_size is not None and (not isinstance(batch_size, int)
                                       or isinstance(batch_size, bool) or batch_size < 1):
            raise InvalidInputError(f"batch_size must be a positive int or None, got "
                                    f"{batch_size!r}")
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
            raise InvalidInputError(f"n_jobs must be a non-zero int (1: this process, k: k "
                                    f"processes, -1: all cores), got {n_jobs!r}")
        convs = coerce_many(conversations, self.limits)
        if n_jobs != 1 and len(convs) > (batch_size or _PARALLEL_FROM):
            return self._score_parallel(convs, n_jobs, batch_size)
        size = batch_size or BATCH_SIZE
        out: list[ScoreResult] = []
        for i in range(0, len(convs), size):
            out.extend(self._score(convs[i:i + size]))
        return out

    def _score(self, convs: Sequence[Conversation]) -> list[ScoreResult]:
        return self._assemble(convs, extract(self.vectorizer, self.analyzer, convs))

    def _score_parallel(self, convs: list[Conversation], n_jobs: int,
                        batch_size: int | None) -> list[ScoreResult]:
        from joblib import Parallel, delayed, effective_n_jobs

        size = batch_size or max(1, min(BATCH_SIZE,
                                        -(-len(convs) // (4 * effective_n_jobs(n_jobs)))))
        chunks = [convs[i:i + size] for i in range(0, len(convs), size)]
        # Workers analyse and vectorise; rows and evidence come back (small to pickle) and
        # each part is assembled here as it arrives.
        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_in_worker)(self.model.feature_names, chunk) for chunk in chunks)
        out: list[ScoreResult] = []
        for chunk, part in zip(chunks, parts, strict=True):
            out.extend(self._assemble(chunk, part))
        return out

    def _assemble(self, convs: Sequence[Conversation], extracted: Extracted,
                  ) -> list[ScoreResult]:
        """Where scores become results: calibrated probabilities, flags, evidence."""
        X, evidence = extracted
        if not evidence:
            return []
        P = self.model.probabilities(X)
        labels = self.model.labels
        return [ScoreResult(dict(zip(labels, probs, strict=True)), flagged, level, hits,
                            indicators, conv.warnings, X[row].copy(), self.model,
                            conv.metadata)
                for row, (conv, (hits, indicators), probs, (flagged, level)) in enumerate(
                    zip(convs, evidence, P.tolist(), flag(self.model, P), strict=True))]


def _extract_in_worker(feature_names: tuple[str, ...],
                       convs: Sequence[Conversation]) -> Extracted:
    return extract(_worker_vectorizer(tuple(feature_names)), default_analyzer(), convs)


@cache
def _worker_vectorizer(feature_names: tuple[str, ...]) -> FeatureVectorizer:
    return FeatureVectorizer(feature_names)


@cache
def default_scorer() -> Scorer:
    """The shipped model's scorer (one per process)."""
    return Scorer()


def score(conversation: Any) -> ScoreResult:
    """Score one message or conversation with the shipped model."""
    return default_scorer().score(conversation)


def score_many(conversations: Iterable[Any], n_jobs: int = 1) -> list[ScoreResult]:
    """Batch form of ``score`` (identical results)."""
    return default_scorer().score_many(conversations, n_jobs=n_jobs)


def extract_signals(conversation: Any, *, limits: Limits | None = None) -> list[SignalHit]:
    """The signal hits of one message or conversation (the signal layer alone)."""
    conv = coerce_conversation(conversation, limits)
    return [h for a in default_analyzer().analyse([conv])[0] for h in a.hits]


def extract_signals_many(conversations: Iterable[Any], *,
                         limits: Limits | None = None) -> list[list[SignalHit]]:
    """Batch form of ``extract_signals``: one tokenizer pass per language."""
    convs = coerce_many(conversations, limits)
    return [[h for a in analyses for h in a.hits]
            for analyses in default_analyzer().analyse(convs)]


def extract_indicators(conversation: Any, *, limits: Limits | None = None) -> list[Indicator]:
    """Typed indicators (amounts, payment handles, deadlines, platforms, handles, phones)."""
    from .indicators import finder
    from .text.normalize import normalize

    conv = coerce_conversation(conversation, limits)
    find = finder().find
    return [ind for i, msg in enumerate(conv.messages, start=conv.offset)
            for ind in find(normalize(msg.text), i)]
