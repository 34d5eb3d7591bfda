"""The model artefact is data: validated on load, never unpickled."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sextortion_signals as ss
from sextortion_signals.features import FeatureVectorizer, feature_table
from sextortion_signals.model import default_model_path, load_model, model_from_dict


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_model_path().read_text())
    return data


def test_shipped_model_loads_with_thresholds_metrics_and_provenance() -> None:
    m = load_model(default_model_path())
    assert set(m.labels) == {"grooming", "sextortion"}
    for head in m.heads.values():
        assert 0 < head.review <= head.alert <= 1 and head.a > 0
    assert m.training["train_sha256"] and m.training["seed"] == 0
    assert set(m.metrics["validation"]) == {"grooming", "sextortion"}
    assert set(m.languages) == {"en", "fr"}
    assert m.lexical is not None


def test_round_trip(tmp_path: Path) -> None:
    m = load_model(default_model_path())
    m.save(tmp_path)
    again = load_model(tmp_path)
    X = np.random.default_rng(0).random((5, len(m.feature_names)))
    assert np.array_equal(m.logits(X), again.logits(X))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(format_version=99), "format version 99"),
    (lambda d: d.update(format="other"), "not a valid"),
    (lambda d: d["heads"]["sextortion"].pop("coef"), "coef"),
    (lambda d: d["heads"]["sextortion"]["coef"].pop(), "values for"),
    (lambda d: d["heads"]["sextortion"]["calibration"].update(a=-1.0), "not a valid"),
    (lambda d: d["feature_names"].__setitem__(0, "signal:made_up"), "does not compute"),
    (lambda d: d["heads"]["grooming"]["thresholds"].update(alert=3), "not a valid"),
])
def test_bad_models_fail_clearly(tmp_path: Path, mutate: Any, message: str) -> None:
    raw = _raw()
    mutate(raw)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ss.ModelFormatError, match=message):
        load_model(tmp_path)


def test_nan_weights_rejected() -> None:
    raw = _raw()
    raw["heads"]["grooming"]["intercept"] = float("nan")
    with pytest.raises(ss.ModelFormatError, match="NaN"):
        model_from_dict(raw)


def test_corrupt_and_pickled_files_are_rejected_not_executed(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ss.ModelFormatError, match="not a valid model file"):
        load_model(tmp_path)

    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, ("raise SystemExit('unpickled!')",))

    (tmp_path / "model.json").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ss.ModelFormatError):
        load_model(tmp_path)
    with pytest.raises(ss.ModelFormatError, match="no model"):
        load_model(tmp_path / "missing")


def test_vectorizer_names_match_the_documented_table() -> None:
    vec = FeatureVectorizer()
    assert list(vec.get_feature_names_out()) == list(feature_table())
    with pytest.raises(ValueError, match="unknown feature"):
        FeatureVectorizer(["nope"])


def test_readme_documents_every_feature() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [name for name in feature_table() if f"`{name}`" not in readme]
    assert not missing, f"README feature table lacks {missing}"


@pytest.mark.parametrize(("payload", "message"), [
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ('{"format_version": ' + "9" * 401 + "}", "digits"),
    ('{"x": NaN}', "NaN"),
    ('{"x": Infinity}', "Infinity"),
    ("\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), "not a valid model file"),
])
def test_hostile_model_files_raise_model_format_error(tmp_path: Path, payload: str,
                                                      message: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(payload, encoding="utf-8")
    with pytest.raises(ss.ModelFormatError, match=message):
        ss.load_model(path)


def test_nan_threshold_is_rejected(tmp_path: Path) -> None:
    raw = json.loads(default_model_path().read_text())
    raw["heads"]["sextortion"]["thresholds"]["alert"] = float("nan")
    (tmp_path / "model.json").write_text(json.dumps(raw))  # json writes NaN
    with pytest.raises(ss.ModelFormatError, match="NaN"):
        ss.load_model(tmp_path)


def test_oversized_model_files_are_refused_before_reading(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals import model

    monkeypatch.setattr(model, "MAX_MODEL_BYTES", 100)
    (tmp_path / "model.json").write_text(" " * 200)
    with pytest.raises(ss.ModelFormatError, match="larger than any model"):
        ss.load_model(tmp_path)


def test_too_many_coefficients_are_refused_before_the_schema(tmp_path: Path) -> None:
    raw = json.loads(default_model_path().read_text())
    raw["heads"]["sextortion"]["coef"] = [0.0] * 200_000
    (tmp_path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ss.ModelFormatError, match="200000 values"):
        ss.load_model(tmp_path)


@pytest.mark.parametrize("path", ["x" * 5000, "\x00bad", "/proc/self/mem/model.json"])
def test_unreadable_paths_raise_model_format_error(path: str) -> None:
    with pytest.raises(ss.ModelFormatError):
        ss.load_model(path)
