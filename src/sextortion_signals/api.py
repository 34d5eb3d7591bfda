"""The scoring API: ``score``, ``score_many`` and ``Scorer``.

A batch flows one way, each stage once: inputs (``inputs.py``) -> text and matching
(``match/analyze.py``) -> indicators (inside the same per-message pass) -> features
(``features.py``) -> calibrated model (``model.py``) -> results (``results.py``), whose
explanation (``explain.py``) is computed when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import InvalidInputError
from .features import FeatureVectorizer, LearnedHit
from .inputs import Conversation, Limits, coerce_conversation, coerce_many
from .lexical import LexicalModel
from .match.analyze import Analyzer, MessageAnalysis, default_analyzer
from .model import Model, default_model, load_model
from .results import Indicator, ScoreResult, SignalHit

BATCH_SIZE = 4096  # conversations per batch: one tokenizer pass per language per batch
_PARALLEL_FROM = 512  # fewer conversations are scored in this process whatever n_jobs

class Evidence(NamedTuple):
    """A conversation's evidence, as a worker process sends it back: small to pickle."""

    hits: tuple[SignalHit, ...]
    indicators: tuple[Indicator, ...]
    learned: tuple[LearnedHit, ...]
    lang: str | None  # the language most of its messages are in


Extracted = tuple[np.ndarray, list[Evidence]]


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


def extract(model: Model, vectorizer: FeatureVectorizer, analyzer: Analyzer,
            conversations: Sequence[Conversation]) -> Extracted:
    """Feature rows and evidence of validated conversations."""
    analysed = analyzer.analyse(conversations)
    groups = learned_groups(model.lexical, analysed)
    peaks = None if groups is None else [float(g.max()) for g in groups]
    X = np.zeros((len(conversations), len(vectorizer.feature_names)))
    evidence = []
    for i, (conv, analyses) in enumerate(zip(conversations, analysed, strict=True)):
        g = None if groups is None else groups[i]
        if vectorizer.quiet(conv, analyses, None if peaks is None else peaks[i]):
            vectorizer.quiet_row(g, X[i])
            evidence.append(Evidence((), (), (), analyses[0].lang))
            continue
        state = vectorizer.state(conv, analyses, g)
        vectorizer.row(state, X[i])
        hits, indicators = _evidence(analyses)
        evidence.append(Evidence(hits, indicators, state.learned_hits(), dominant_lang(analyses)))
    return X, evidence


def learned_groups(lexical: LexicalModel | None,
                   analysed: Sequence[Sequence[MessageAnalysis]]) -> list[np.ndarray] | None:
    """Per conversation, the lexical model's group probabilities (one row per message),
    or None without a lexical model. One batched pass over every message."""
    if lexical is None:
        return None
    flat = [a for analyses in analysed for a in analyses]
    P = lexical.message_probabilities([a.text for a in flat], [a.tokens for a in flat])
    out = []
    start = 0
    for analyses in analysed:
        out.append(P[start:start + len(analyses)])
        start += len(analyses)
    return out


def dominant_lang(analyses: Sequence[MessageAnalysis]) -> str | None:
    """The language most messages were detected in (None if none was)."""
    if len(analyses) == 1:
        return analyses[0].lang
    counts: dict[str, int] = {}
    for a in analyses:
        if a.lang is not None:
            counts[a.lang] = counts.get(a.lang, 0) + 1
    return max(sorted(counts), key=counts.__getitem__) if counts else None


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
        return self._assemble(convs, extract(self.model, self.vectorizer, self.analyzer, convs))

    def _score_parallel(self, convs: list[Conversation], n_jobs: int,
                        batch_size: int | None) -> list[ScoreResult]:
        from joblib import Parallel, delayed, effective_n_jobs

        size = batch_size or max(1, min(BATCH_SIZE,
                                        -(-len(convs) // (4 * effective_n_jobs(n_jobs)))))
        chunks = [convs[i:i + size] for i in range(0, len(convs), size)]
        # Workers analyse and vectorise; rows and evidence come back (small to pickle) and
        # each part is assembled here as it arrives.
        # A model read from a file is read again by each worker (once: kept per process)
        # rather than pickled with every job.
        shipped = self.model.source if Path(self.model.source).is_file() else None
        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_extract_in_worker)(shipped or self.model, chunk) for chunk in chunks)
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
        return [ScoreResult(dict(zip(labels, probs, strict=True)), flagged, level, ev.hits,
                            ev.indicators, conv.warnings, X[row].copy(), self.model,
                            conv.metadata, ev.learned,
                            {h.message_index: conv.messages[h.message_index - conv.offset].text
                             for h in ev.learned} if ev.learned else None,
                            ev.lang, _times(conv, ev))
                for row, (conv, ev, probs, (flagged, level)) in enumerate(
                    zip(convs, evidence, P.tolist(), flag(self.model, P), strict=True))]


def _times(conv: Conversation, ev: Evidence) -> dict[int, float] | None:
    """Timestamps of the messages the evidence points at (for the explanation's timeline)."""
    if not ev.hits and not ev.learned:
        return None
    cited = {h.message_index for h in ev.hits} | {h.message_index for h in ev.learned}
    out = {}
    for index in cited:
        t = conv.messages[index - conv.offset].timestamp
        if t is not None:
            out[index] = t
    return out


def _extract_in_worker(model: Model | str, convs: Sequence[Conversation]) -> Extracted:
    if isinstance(model, str):
        model = _worker_model(model)
    return extract(model, _worker_vectorizer(model.feature_names), default_analyzer(), convs)


@cache
def _worker_model(path: str) -> Model:
    return load_model(path)


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
