"""scikit-learn surfaces: the featurizer and classifier the shipped model is made with.

- ``CalibratedLogisticRegression``: a numeric binary classifier, class-weighted logistic
  regression whose decision function is Platt-calibrated on out-of-fold scores
  (``CalibratedClassifierCV(..., ensemble=False)``): ``logit(p) = a * (w . x + c) + b``, a
  single linear score, so every probability decomposes exactly into per-feature terms.
- ``ConversationFeaturizer``: conversations -> the feature matrix (``features.py``).
- ``ConversationClassifier``: both, one calibrated head per label; ``to_model()`` exports
  the JSON artefact that scoring loads (``model.py``), and ``train`` uses it.

scikit-learn is imported here only; scoring never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import TrainingDataError
from .features import FeatureVectorizer, feature_table, may_lower
from .inputs import Limits, coerce_many
from .lexical import LexicalFeaturizer, LexicalModel
from .match.analyze import MessageAnalysis, default_analyzer
from .model import LABELS, Head, Model
from .rules.registry import groups


class _BinaryLogitMixin:
    """``predict_proba`` and ``predict`` of a binary classifier whose
    ``decision_function`` returns log-odds of the positive class."""

    classes_: np.ndarray

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.classifier_tags.multi_class = False  # scikit-learn's checks: binary only
        return tags

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -500, 500)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        positive = self.decision_function(X) >= 0  # checks it is fitted first
        out: np.ndarray = self.classes_[positive.astype(int)]
        return out


def _binary_targets(estimator: Any, y: np.ndarray) -> np.ndarray:
    """Set ``classes_``; the index of each target in it. Refuses other than two classes."""
    check_classification_targets(y)
    estimator.classes_, y_index = np.unique(y, return_inverse=True)
    if len(estimator.classes_) != 2:
        raise ValueError(f"Only binary classification is supported; got "
                         f"{len(estimator.classes_)} classes")
    return np.asarray(y_index)


class SignConstrainedLogisticRegression(
        _BinaryLogitMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """L2-regularised binary logistic regression whose weights may be kept non-negative
    (``nonneg``: one bool per feature), with balanced class weights: scikit-learn's
    ``LogisticRegression(class_weight="balanced")`` objective, solved by SciPy's L-BFGS-B,
    which takes the bounds (scikit-learn's solvers do not)."""

    def __init__(self, C: float = 0.3, nonneg: Any = None, max_iter: int = 5000,
                 tol: float = 1e-10) -> None:
        self.C = C
        self.nonneg = nonneg
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any, sample_weight: Any = None,
            ) -> SignConstrainedLogisticRegression:
        from scipy.optimize import minimize
        from scipy.special import expit

        X, y = validate_data(self, X, y)
        y_index = _binary_targets(self, y)
        n, d = X.shape
        sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if sw.shape != (n,) or not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must hold one finite, non-negative weight per row, "
                             "and not all zero")
        # Balanced: each class weighs as much in total (sample weights counted, as
        # scikit-learn computes it).
        totals = np.bincount(y_index, weights=sw)
        if not np.all(totals > 0):
            raise ValueError("sample_weight gives one class no weight at all: each class "
                             "needs some weight to be learned")
        weights = sw * (sw.sum() / (2.0 * totals))[y_index]
        sign = 2.0 * y_index - 1.0

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:d], theta[d]
            z = sign * (X @ w + b)
            loss = float(weights @ np.logaddexp(0.0, -z)) + 0.5 * float(w @ w) / self.C
            r = -weights * sign * expit(-z)
            grad = np.empty(d + 1)
            grad[:d] = X.T @ r + w / self.C
            grad[d] = r.sum()
            return loss, grad

        nonneg = (np.zeros(d, dtype=bool) if self.nonneg is None
                  else np.asarray(self.nonneg, dtype=bool))
        if nonneg.shape != (d,):
            raise ValueError(f"nonneg has {nonneg.size} entries for {d} features")
        bounds = [(0.0, None) if keep else (None, None) for keep in nonneg] + [(None, None)]
        found = minimize(objective, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                         bounds=bounds, options={"maxiter": self.max_iter, "ftol": self.tol,
                                                 "gtol": 1e-8})
        self.coef_ = found.x[None, :d]
        self.intercept_ = found.x[d:]
        self.n_iter_ = np.array([found.nit])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        out: np.ndarray = X @ self.coef_[0] + self.intercept_[0]
        return out


class CalibratedLogisticRegression(
        _BinaryLogitMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary logistic regression (weights flagged in ``nonneg`` kept >= 0) with an exact
    Platt calibration of its linear score."""

    def __init__(self, C: float = 0.3, folds: int = 5, random_state: int | None = 0,
                 nonneg: Any = None) -> None:
        self.C = C
        self.folds = folds
        self.random_state = random_state
        self.nonneg = nonneg

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CalibratedLogisticRegression:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold

        X, y = validate_data(self, X, y)
        y_index = _binary_targets(self, y)
        smallest = int(np.bincount(y_index).min())
        folds = min(self.folds, smallest)
        if folds < 2:
            raise ValueError(f"need at least 2 examples of each class to calibrate, got "
                             f"{smallest}")
        base = SignConstrainedLogisticRegression(C=self.C, nonneg=self.nonneg)
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        cal = CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False)
        cal.fit(X, y_index, sample_weight=sample_weight)
        pair = cal.calibrated_classifiers_[0]
        self.coef_ = np.asarray(pair.estimator.coef_[0], dtype=np.float64)
        self.intercept_ = float(pair.estimator.intercept_[0])
        # scikit-learn: p = 1 / (1 + exp(a_ * f + b_)), so logit(p) = -a_ * f - b_.
        self.a_, self.b_ = -float(pair.calibrators[0].a_), -float(pair.calibrators[0].b_)
        if self.a_ <= 0:
            raise TrainingDataError("calibration slope is not positive: the features do not "
                                    "separate the classes in this data (check the labels)")
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated log-odds of the positive class."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        out: np.ndarray = self.a_ * (X @ self.coef_ + self.intercept_) + self.b_
        return out


class LexicalClassifier(BaseEstimator):  # type: ignore[misc]
    """The learned lexical evidence (``lexical.py``) as an estimator: ``fit(texts, Y)`` on
    normalised message texts and a 0/1 matrix of tactic groups (one column per group of
    ``registry.groups()``); ``predict_proba`` returns one probability per group."""

    def __init__(self, bits: int = 17, C: float = 4.0) -> None:
        self.bits = bits
        self.C = C

    def _design(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix

        indptr, indices, values = LexicalFeaturizer(self.bits).matrix(texts)
        return csr_matrix((values, indices, indptr), shape=(len(texts), 1 << self.bits))

    def fit(self, texts: Sequence[str], Y: Any, sample_weight: Any = None) -> LexicalClassifier:
        from sklearn.linear_model import LogisticRegression

        Y = np.asarray(Y)
        names = tuple(g.name for g in groups())
        if Y.ndim != 2 or Y.shape != (len(texts), len(names)):
            raise ValueError(f"Y must have shape ({len(texts)}, {len(names)}): one column per "
                             f"tactic group {names}")
        X = self._design(texts)
        weights = np.zeros(((1 << self.bits), len(names)), dtype=np.float32)
        bias = np.zeros(len(names))
        for j in range(len(names)):
            if len(np.unique(Y[:, j])) < 2:
                raise TrainingDataError(f"no message is tagged with (or every message is "
                                        f"tagged with) a tactic of group {names[j]!r}")
            lr = LogisticRegression(C=self.C, max_iter=3000)
            lr.fit(X, Y[:, j], sample_weight=sample_weight)
            weights[:, j] = lr.coef_[0]
            bias[j] = lr.intercept_[0]
        # Stored as float16 in the model file: the model in memory holds the same values.
        self.model_ = LexicalModel(names, self.bits, weights.astype("<f2").astype(np.float32),
                                   bias)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.probabilities(texts)


class ConversationFeaturizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Conversations (anything ``score`` accepts) -> feature matrix.

    ``lexical``: the learned lexical evidence model (None: its features stay 0).
    ``hit_dropout``: share of rule hits dropped at random by ``fit_transform`` (training
    augmentation; ``transform`` never drops). ``message_groups`` (a fit parameter): per
    conversation, group probabilities to use instead of the lexical model's, one row per
    message (out-of-fold predictions while training)."""

    def __init__(self, lexical: LexicalModel | None = None, hit_dropout: float = 0.0,
                 random_state: int | None = 0, limits: Limits | None = None) -> None:
        self.lexical = lexical
        self.hit_dropout = hit_dropout
        self.random_state = random_state
        self.limits = limits

    def fit(self, X: Sequence[Any], y: Any = None) -> ConversationFeaturizer:
        self.feature_names_out_ = np.asarray(list(feature_table()), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        out: np.ndarray = self.feature_names_out_
        return out

    def transform(self, X: Sequence[Any]) -> np.ndarray:
        check_is_fitted(self)
        return self._features(X, 0.0, None)

    def fit_transform(self, X: Sequence[Any], y: Any = None,
                      message_groups: Sequence[np.ndarray] | None = None,
                      **fit_params: Any) -> np.ndarray:
        return self.fit(X, y)._features(X, self.hit_dropout, message_groups)

    def _features(self, X: Sequence[Any], dropout: float,
                  message_groups: Sequence[np.ndarray] | None) -> np.ndarray:
        from .api import learned_groups

        convs = coerce_many(X, self.limits)
        vectorizer = FeatureVectorizer(tuple(self.feature_names_out_))
        rng = np.random.default_rng(self.random_state)
        rows = np.zeros((len(convs), len(vectorizer.feature_names)))
        for start in range(0, len(convs), 1024):
            batch = convs[start:start + 1024]
            analysed = default_analyzer().analyse(batch)
            probs = (message_groups[start:start + 1024] if message_groups is not None
                     else learned_groups(self.lexical, analysed))
            for i, (conv, analyses) in enumerate(zip(batch, analysed, strict=True)):
                if dropout > 0:
                    analyses = _drop_hits(analyses, rng, dropout)
                state = vectorizer.state(conv, analyses, None if probs is None else probs[i])
                vectorizer.row(state, rows[start + i])
        return rows


def _drop_hits(analyses: Sequence[MessageAnalysis], rng: np.random.Generator,
               rate: float) -> tuple[MessageAnalysis, ...]:
    return tuple(a._replace(hits=tuple(h for h in a.hits if rng.random() >= rate))
                 for a in analyses)


class ConversationClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """One ``CalibratedLogisticRegression`` per label over ``ConversationFeaturizer``.

    ``fit(conversations, Y)``: ``Y`` of shape (n, 2), columns in label order
    (``grooming``, ``sextortion``). ``predict_proba`` returns the probability of each
    label, shape (n, 2); ``predict`` thresholds it (0.5, or the model's alert thresholds
    once exported with them)."""

    def __init__(self, C: float = 0.3, folds: int = 5, hit_dropout: float = 0.3,
                 random_state: int | None = 0, limits: Limits | None = None,
                 lexical: LexicalModel | None = None) -> None:
        self.C = C
        self.folds = folds
        self.hit_dropout = hit_dropout
        self.random_state = random_state
        self.limits = limits
        self.lexical = lexical

    def fit(self, X: Sequence[Any], y: Any, sample_weight: Any = None,
            message_groups: Sequence[np.ndarray] | None = None) -> ConversationClassifier:
        """``message_groups``: per conversation, the learned group probabilities to train
        on (out-of-fold predictions: the lexical model's own training messages would
        otherwise look more certain than any new message)."""
        Y = np.asarray(y)
        if Y.ndim != 2 or Y.shape[1] != len(LABELS):
            raise ValueError(f"y must have shape (n, {len(LABELS)}): one column per label in "
                             f"the order {LABELS}; got shape {Y.shape}")
        self.featurizer_ = ConversationFeaturizer(self.lexical, self.hit_dropout,
                                                  self.random_state, self.limits)
        features = self.featurizer_.fit_transform(X, message_groups=message_groups)
        if features.shape[0] != Y.shape[0]:
            raise ValueError(f"{features.shape[0]} conversations but {Y.shape[0]} label rows")
        self.heads_: dict[str, CalibratedLogisticRegression] = {}
        for j, label in enumerate(LABELS):
            if len(np.unique(Y[:, j])) < 2:
                raise TrainingDataError(f"the data has only one class for {label!r}; need "
                                        f"both positive and negative conversations")
            nonneg = [not may_lower(name, label) for name in self.featurizer_.feature_names_out_]
            self.heads_[label] = CalibratedLogisticRegression(
                self.C, self.folds, self.random_state, nonneg).fit(
                    features, Y[:, j], sample_weight=sample_weight)
        self.classes_ = np.array([0, 1])
        self.thresholds_ = {label: 0.5 for label in LABELS}
        return self

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """Calibrated log-odds per label, shape (n, 2)."""
        check_is_fitted(self)
        features = self.featurizer_.transform(X)
        return np.column_stack([h.decision_function(features) for h in self.heads_.values()])

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -500, 500)))
        return out

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        thresholds = np.array([self.thresholds_[label] for label in LABELS])
        return (self.predict_proba(X) >= thresholds).astype(int)

    def to_model(self, thresholds: dict[str, tuple[float, float]] | None = None,
                 training: dict[str, Any] | None = None,
                 metrics: dict[str, Any] | None = None) -> Model:
        """The JSON artefact scoring loads. ``thresholds``: label -> (alert, review)."""
        from . import __version__
        from .rules.registry import rule_languages

        check_is_fitted(self)
        thresholds = thresholds or {label: (0.5, 0.5) for label in LABELS}
        heads = {label: Head(h.coef_, h.intercept_, h.a_, h.b_, *thresholds[label])
                 for label, h in self.heads_.items()}
        return Model(tuple(self.featurizer_.feature_names_out_), heads, rule_languages(),
                     __version__, dict(training or {}), dict(metrics or {}),
                     lexical=self.lexical)
