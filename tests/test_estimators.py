"""The estimators: scikit-learn's API, the sign-constrained regression against
scikit-learn's own solver, and the sign rule the shipped model follows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from sextortion_signals.estimators import SignConstrainedLogisticRegression
from sextortion_signals.features import feature_labels, may_lower
from sextortion_signals.model import default_model


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 6))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=500) > 0.8).astype(int)
    return X, y, rng.uniform(0.2, 2.0, 500)


def test_unconstrained_equals_scikit_learns_balanced_logistic_regression() -> None:
    X, y, w = data()
    ours = SignConstrainedLogisticRegression(C=0.3).fit(X, y, sample_weight=w)
    theirs = LogisticRegression(C=0.3, class_weight="balanced", max_iter=5000,
                                tol=1e-10).fit(X, y, sample_weight=w)
    assert np.allclose(ours.coef_, theirs.coef_, atol=1e-5)
    assert np.allclose(ours.intercept_, theirs.intercept_, atol=1e-5)
    assert np.allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)


def test_constrained_weights_stay_non_negative_and_others_are_free() -> None:
    X, y, _ = data(1)
    keep = [True, True, False, False, False, False]
    model = clone(SignConstrainedLogisticRegression(C=1.0, nonneg=keep)).fit(X, y)
    assert model.coef_[0, 1] == 0.0  # it would be negative: held at the bound
    assert model.coef_[0, 0] > 0
    free = SignConstrainedLogisticRegression(C=1.0).fit(X, y)
    assert free.coef_[0, 1] < 0
    with pytest.raises(ValueError, match="nonneg"):
        SignConstrainedLogisticRegression(nonneg=[True]).fit(X, y)


def test_feature_labels_follow_the_registry() -> None:
    assert feature_labels("signal:threat_to_share") == {"sextortion"}
    assert feature_labels("signal:age_probe") == {"grooming"}
    assert feature_labels("learned:bond") == {"grooming"}
    assert feature_labels("recency:risk_in_last_messages") == {"grooming", "sextortion"}
    assert feature_labels("participants:group_chat") == frozenset()
    # Only evidence of the other label's tactics alone may lower a score.
    assert may_lower("signal:threat_to_share", "grooming")
    assert not may_lower("signal:threat_to_share", "sextortion")
    assert not may_lower("participants:group_chat", "sextortion")  # offenders can add people
    assert not may_lower("age:both_sides_minor", "grooming")  # offenders claim to be minors


def test_shipped_model_keeps_the_sign_rule() -> None:
    model = default_model()
    for label, head in model.heads.items():
        for name, weight in zip(model.feature_names, head.coef, strict=True):
            assert weight >= 0 or may_lower(name, label), (label, name, weight)
