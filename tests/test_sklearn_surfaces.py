"""The scikit-learn surfaces are the real path: the conversation featurizer and classifier
clone, fit in a ``Pipeline`` and a ``GridSearchCV``, name their features, and give the rows
and probabilities scoring gives; the numeric estimators pass scikit-learn's own checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import sextortion_signals as ss
from sextortion_signals.estimators import (
    CalibratedLogisticRegression,
    ConversationClassifier,
    ConversationFeaturizer,
    SignConstrainedLogisticRegression,
)
from sextortion_signals.features import feature_table
from sextortion_signals.model import LABELS, default_model
from sextortion_signals.synth import generate


def _labelled(n: int, seed: int) -> tuple[list[list[dict[str, str]]], np.ndarray]:
    rows = list(generate(n, seed=seed))
    convs = [[{"sender": m.get("sender", "a"), "text": m["text"]} for m in r["messages"]]
             for r in rows]
    y = np.array([[r["labels"][label] for label in LABELS] for r in rows])
    return convs, y


# Checks that fit the calibrated model on random, unseparable data: its calibration slope
# is not positive there, which ``fit`` refuses on purpose (TrainingDataError). And, as
# scikit-learn's own CalibratedClassifierCV, its cross-validated calibration is not
# equivalent under repeated rows (the folds differ).
_RANDOM_DATA = "refuses data whose calibration slope is not positive (random features)"
CALIBRATED_EXPECTED_FAILURES = {
    "check_n_features_in_after_fitting": _RANDOM_DATA,
    "check_estimators_dtypes": _RANDOM_DATA,
    "check_dtype_object": _RANDOM_DATA,
    "check_estimators_nan_inf": _RANDOM_DATA,
    "check_fit_idempotent": _RANDOM_DATA,
    "check_n_features_in": _RANDOM_DATA,
    "check_sample_weight_equivalence_on_dense_data": "cross-validated calibration: "
                                                     "repeated rows change the folds",
}


def _expected_failures(estimator: object) -> dict[str, str]:
    if isinstance(estimator, CalibratedLogisticRegression):
        return CALIBRATED_EXPECTED_FAILURES
    return {}


@parametrize_with_checks([SignConstrainedLogisticRegression(),
                          CalibratedLogisticRegression(folds=3)],
                         expected_failed_checks=_expected_failures)
def test_numeric_estimators_pass_scikit_learns_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_calibrated_estimator_checks_its_input_on_data_it_accepts() -> None:
    # What the waived scikit-learn checks would test, on separable data it accepts.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 3)) + y[:, None] * 2.0
    model = CalibratedLogisticRegression(folds=3).fit(X, y)
    assert model.n_features_in_ == 3
    again = CalibratedLogisticRegression(folds=3).fit(X, y)
    assert np.array_equal(model.predict_proba(X), again.predict_proba(X))  # idempotent
    assert np.allclose(model.predict_proba(X.astype(np.float32)), model.predict_proba(X))
    for bad in (np.where(np.eye(60, 3, dtype=bool), np.nan, X), X * np.inf):
        with pytest.raises(ValueError):
            CalibratedLogisticRegression(folds=3).fit(bad, y)
        with pytest.raises(ValueError):
            model.predict_proba(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict_proba(X[:, :2])
    with pytest.raises(ValueError):
        CalibratedLogisticRegression(folds=3).fit(np.full(X.shape, "x", dtype=object), y)


def test_featurizer_names_its_columns_and_gives_the_scorers_rows() -> None:
    model = default_model()
    featurizer = clone(ConversationFeaturizer(lexical=model.lexical)).fit([])
    assert list(featurizer.get_feature_names_out()) == list(feature_table())
    convs = [["how old are you", "dont tell ur parents"],
             ["i have your pics", "pay 100$ or everyone sees them"], "see you at 5"]
    X = featurizer.transform(convs)
    scorer = ss.Scorer(model)
    for row, result in zip(X, scorer.score_many(convs), strict=True):
        probabilities = model.probabilities(row[None, :])[0]
        assert np.allclose(probabilities, [result.scores[label] for label in LABELS])


def test_classifier_fits_in_a_pipeline_and_a_grid_search() -> None:
    convs, y = _labelled(160, seed=5)
    pipe = Pipeline([("classify", ConversationClassifier(folds=3, hit_dropout=0.0))])
    pipe.fit(convs, y)
    proba = pipe.predict_proba(convs)
    assert proba.shape == (len(convs), len(LABELS)) and np.all((proba >= 0) & (proba <= 1))
    assert pipe.predict(convs).shape == proba.shape
    search = GridSearchCV(ConversationClassifier(folds=3, hit_dropout=0.0),
                          {"C": [0.1, 1.0]}, cv=KFold(2, shuffle=True, random_state=0),
                          scoring=lambda est, X, Y: float(
                              -np.mean((est.predict_proba(X) - Y) ** 2)))
    search.fit(convs, y)
    assert np.isfinite(search.best_score_)
    refit = ConversationClassifier(folds=3, hit_dropout=0.0, **search.best_params_).fit(convs, y)
    assert np.allclose(search.best_estimator_.predict_proba(convs), refit.predict_proba(convs))


def test_classifier_export_scores_as_the_classifier_does() -> None:
    convs, y = _labelled(120, seed=9)
    clf = ConversationClassifier(folds=3, hit_dropout=0.0).fit(convs, y)
    model = clf.to_model()
    probs = clf.predict_proba(convs[:20])
    results = ss.Scorer(model).score_many(convs[:20])
    assert np.allclose(probs, [[r.scores[label] for label in LABELS] for r in results])


def test_classifier_refuses_labels_of_the_wrong_shape() -> None:
    convs, y = _labelled(20, seed=3)
    with pytest.raises(ValueError, match="one column per label"):
        ConversationClassifier().fit(convs, y[:, 0])
