"""Training: class-weighted logistic regression per label, Platt-calibrated on
out-of-fold scores, thresholds chosen on a validation split. scikit-learn is imported
here only, never on the scoring path."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__
from .data import Labelled
from .errors import TrainingDataError
from .evaluate import label_metrics, score_labelled
from .features import FeatureVectorizer
from .messages import coerce_conversation
from .model import LABELS, Head, Model
from .scoring import Featurized, Scorer, featurize_many, vectorize
from .signals.registry import rule_languages


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    C: float = 0.3
    folds: int = 5
    alert_precision: float = 0.95  # precision target for the "high" level / labels
    review_probability: float = 0.2  # "medium": worth a moderator's look (calibrated p)
    min_alert: float = 0.5  # never report a label below this probability
    # Rules miss phrasings they were not written for; dropping this share of signal hits
    # at random while fitting keeps the model from trusting any single hit too much and
    # keeps its probabilities honest on unseen wording. Chosen a priori, not tuned on test.
    hit_dropout: float = 0.3


def data_checksum(items: Sequence[Labelled]) -> str:
    digest = hashlib.sha256()
    for it in items:
        digest.update(repr((it.id, it.labels, it.messages)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _drop_hits(f: Featurized, rng: np.random.Generator, rate: float) -> Featurized:
    kept = tuple(a._replace(hits=tuple(h for h in a.hits if rng.random() >= rate))
                 for a in f.analyses)
    return Featurized(f.conversation, kept, f.indicators)


def featurize(items: Sequence[Labelled], vectorizer: FeatureVectorizer, batch: int = 1024,
              hit_dropout: float = 0.0, seed: int = 0, progress: bool = False) -> np.ndarray:
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    for i in tqdm(range(0, len(items), batch), desc="features", disable=not progress,
                  leave=False):
        chunk = items[i:i + batch]
        feats = featurize_many([coerce_conversation(it.messages) for it in chunk])
        if hit_dropout > 0:
            feats = [_drop_hits(f, rng, hit_dropout) for f in feats]
        rows.append(vectorize(vectorizer, feats))
    return np.vstack(rows) if rows else np.zeros((0, len(vectorizer.feature_names)))


def _fit_head(X: np.ndarray, y: np.ndarray, cfg: TrainConfig) -> tuple[np.ndarray, float,
                                                                         float, float]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    base = LogisticRegression(C=cfg.C, class_weight="balanced", max_iter=5000)
    cv = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=cfg.seed)
    # ensemble=False: out-of-fold decision scores fit ONE sigmoid, applied to one model
    # refit on all data -> a single linear score, so contributions stay exact.
    cal = CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False).fit(X, y)
    pair = cal.calibrated_classifiers_[0]
    lr = pair.estimator
    sig = pair.calibrators[0]
    coef = np.asarray(lr.coef_[0], dtype=np.float64)
    intercept = float(lr.intercept_[0])
    # sklearn: p = 1 / (1 + exp(a_ * f + b_)) -> logit(p) = -a_ * f - b_.
    a, b = -float(sig.a_), -float(sig.b_)
    if a <= 0:
        raise TrainingDataError("calibration slope is not positive: the features do not "
                                "separate the classes in this data (check the labels)")
    f = X @ coef + intercept
    expected = cal.predict_proba(X)[:, 1]
    ours = 1 / (1 + np.exp(-(a * f + b)))
    if not np.allclose(expected, ours, atol=1e-9):
        raise RuntimeError("calibration extraction does not match scikit-learn")
    return coef, intercept, a, b


def choose_thresholds(y: np.ndarray, p: np.ndarray, cfg: TrainConfig) -> tuple[float, float]:
    """alert: lowest threshold whose precision on the validation split reaches the target
    (never below ``min_alert``); review: ``review_probability`` (probabilities are
    calibrated, so 0.2 reads "about one in five such conversations is harmful")."""
    alert = 1.0
    for t in np.unique(p)[::-1]:
        pred = p >= t
        if pred.sum() and (y[pred] == 1).mean() >= cfg.alert_precision:
            alert = float(t)
        elif pred.sum() > 20:
            break
    alert = max(alert, cfg.min_alert)
    return alert, min(cfg.review_probability, alert)


def train_model(train: Sequence[Labelled], valid: Sequence[Labelled],
                cfg: TrainConfig | None = None, progress: bool = False) -> Model:
    cfg = cfg or TrainConfig()
    if not train or not valid:
        raise TrainingDataError("need non-empty train and validation data")
    vec = FeatureVectorizer()
    X = featurize(train, vec, hit_dropout=cfg.hit_dropout, seed=cfg.seed, progress=progress)
    heads: dict[str, Head] = {}
    for label in LABELS:
        y = np.array([it.labels[label] for it in train])
        if y.min() == y.max():
            raise TrainingDataError(f"train data has only one class for {label!r}; need both "
                                    "positive and negative conversations")
        coef, intercept, a, b = _fit_head(X, y, cfg)
        heads[label] = Head(coef, intercept, a, b, alert=0.5, review=0.5)
    draft = Model(tuple(vec.feature_names), heads, rule_languages(), __version__)
    scored = score_labelled(Scorer(draft), valid)
    metrics: dict[str, Any] = {}
    for label, head in heads.items():
        y = np.array([s.item.labels[label] for s in scored])
        p = np.array([s.probs[label] for s in scored])
        alert, review = choose_thresholds(y, p, cfg)
        heads[label] = Head(head.coef, head.intercept, head.a, head.b, alert, review)
        metrics[label] = {"valid": label_metrics(y, p, alert)}
    training = {"seed": cfg.seed, "C": cfg.C, "folds": cfg.folds,
                "hit_dropout": cfg.hit_dropout,
                "alert_precision": cfg.alert_precision,
                "review_probability": cfg.review_probability,
                "n_train": len(train), "n_valid": len(valid),
                "train_sha256": data_checksum(train), "valid_sha256": data_checksum(valid)}
    return Model(tuple(vec.feature_names), heads, rule_languages(), __version__, training,
                 {"validation": metrics})
