"""Where the score is calibrated: the model artefact (plain JSON, never a pickle).

A model is one logistic regression per label over the ``FeatureVectorizer`` columns plus
a Platt (sigmoid) calibration ``logit(p) = a * (w . x + c) + b``. Because calibration is
a monotone affine map of the linear score, the calibrated log-odds decompose exactly into
``a * w_j * x_j`` per feature plus the intercept ``a * c + b``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFormatError
from .features import feature_table
from .lexical import LexicalModel
from .rules.registry import groups

FORMAT = "sextortion-signals/model"
# 3: learned evidence counts distinct words and pairs, and reads long clauses in windows;
# a format-2 model's lexical weights were fit to repeated counts and whole messages.
FORMAT_VERSION = 3
LABELS = ("grooming", "sextortion")
MODEL_FILE = "model.json"
MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_FEATURES = 10_000

# JSON Schema of the artefact: checked on every load, before any number is used.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "format_version", "library_version", "labels", "languages",
                 "feature_names", "heads", "training", "metrics"],
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"type": "integer"},
        "library_version": {"type": "string"},
        "labels": {"type": "array", "items": {"enum": list(LABELS)}, "minItems": 1},
        "languages": {"type": "array", "items": {"type": "string"}},
        "feature_names": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "heads": {"type": "object", "additionalProperties": {
            "type": "object",
            "required": ["coef", "intercept", "calibration", "thresholds"],
            "properties": {
                "coef": {"type": "array", "items": {"type": "number"}},
                "intercept": {"type": "number"},
                "calibration": {"type": "object", "required": ["a", "b"],
                                "properties": {"a": {"type": "number", "exclusiveMinimum": 0},
                                               "b": {"type": "number"}}},
                "thresholds": {"type": "object", "required": ["alert", "review"],
                               "properties": {
                                   "alert": {"type": "number", "minimum": 0, "maximum": 1},
                                   "review": {"type": "number", "minimum": 0, "maximum": 1}}},
            }}},
        "lexical": {"type": "object", "required": ["groups", "bits", "bias",
                                                  "weights_float16_b64"],
                    "properties": {"groups": {"type": "array", "items": {"type": "string"}},
                                   "bits": {"type": "integer", "minimum": 8, "maximum": 20},
                                   "bias": {"type": "array", "items": {"type": "number"}},
                                   "weights_float16_b64": {"type": "string"}}},
        "training": {"type": "object"},
        "metrics": {"type": "object"},
    },
}


@dataclass(frozen=True)
class Head:
    """One label's linear model, calibration and operating thresholds."""

    coef: np.ndarray  # raw logistic-regression weights, one per feature
    intercept: float
    a: float  # Platt slope (> 0 keeps the score monotone)
    b: float
    alert: float  # probability at or above which the label is reported (``labels``)
    review: float  # lower threshold for the "medium" level

    @property
    def weights(self) -> np.ndarray:
        """Per-feature weights in calibrated log-odds."""
        return self.a * self.coef

    @property
    def bias(self) -> float:
        """Calibrated log-odds when every feature is zero."""
        return self.a * self.intercept + self.b


@dataclass(frozen=True)
class Model:
    feature_names: tuple[str, ...]
    heads: dict[str, Head]
    languages: tuple[str, ...]
    library_version: str
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    lexical: LexicalModel | None = None  # learned evidence per message, if trained

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.heads)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Calibrated log-odds, shape (n, labels). Row by row with the same summation
        order whatever the batch size (a BLAS matmul would differ in the last bits), so
        ``score_many`` and ``score`` agree exactly."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        cols = [(X * h.weights).sum(axis=1) + h.bias for h in self.heads.values()]
        return np.stack(cols, axis=1)

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        z = np.clip(self.logits(X), -500, 500)
        out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": self.library_version,
            "labels": list(self.labels),
            "languages": list(self.languages),
            "feature_names": list(self.feature_names),
            "heads": {label: {"coef": [float(c) for c in h.coef],
                              "intercept": h.intercept,
                              "calibration": {"a": h.a, "b": h.b},
                              "thresholds": {"alert": h.alert, "review": h.review}}
                      for label, h in self.heads.items()},
            **({"lexical": self.lexical.to_dict()} if self.lexical is not None else {}),
            "training": self.training,
            "metrics": self.metrics,
        }

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        target = path / MODEL_FILE
        target.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n",
                          encoding="utf-8")
        return target


def _validate(raw: Any, where: str) -> None:
    import jsonschema  # imported here: only loading a model file needs it

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.path) or "<root>"
        raise ModelFormatError(f"{where}: not a valid sextortion-signals model at {at}: "
                               f"{first.message}")


def _check_sizes(raw: Any, where: str) -> None:
    """Before the schema walks the file: no list longer than a model can hold."""
    if not isinstance(raw, dict):
        return
    names = raw.get("feature_names")
    if isinstance(names, list) and len(names) > MAX_FEATURES:
        raise ModelFormatError(f"{where}: {len(names)} features; this library computes at "
                               f"most {MAX_FEATURES}")
    heads = raw.get("heads")
    for label, head in (heads.items() if isinstance(heads, dict) else ()):
        coef = head.get("coef") if isinstance(head, dict) else None
        if isinstance(coef, list) and isinstance(names, list) and len(coef) != len(names):
            raise ModelFormatError(f"{where}: heads/{label}/coef has {len(coef)} values for "
                                   f"{len(names)} features")


def model_from_dict(raw: Any, where: str = "<dict>") -> Model:
    _check_sizes(raw, where)
    _validate(raw, where)
    if raw["format_version"] != FORMAT_VERSION:
        raise ModelFormatError(f"{where}: model format version {raw['format_version']} is not "
                               f"supported by this library (expects {FORMAT_VERSION}); retrain "
                               f"with `sextortion-signals train` or upgrade the library")
    names = tuple(raw["feature_names"])
    known = feature_table()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ModelFormatError(f"{where}: model uses feature(s) {unknown[:5]} this library "
                               f"version does not compute (model made by version "
                               f"{raw['library_version']})")
    heads: dict[str, Head] = {}
    for label in raw["labels"]:
        if label not in raw["heads"]:
            raise ModelFormatError(f"{where}: label {label!r} has no entry in 'heads'")
        h = raw["heads"][label]
        coef = np.asarray(h["coef"], dtype=np.float64)
        if coef.shape != (len(names),):
            raise ModelFormatError(f"{where}: heads/{label}/coef has {coef.size} values for "
                                   f"{len(names)} features")
        numbers = [*coef, h["intercept"], h["calibration"]["a"], h["calibration"]["b"],
                   h["thresholds"]["alert"], h["thresholds"]["review"]]
        if not all(math.isfinite(float(v)) for v in numbers):
            raise ModelFormatError(f"{where}: heads/{label} contains NaN or infinity")
        heads[label] = Head(coef, float(h["intercept"]), float(h["calibration"]["a"]),
                            float(h["calibration"]["b"]), float(h["thresholds"]["alert"]),
                            float(h["thresholds"]["review"]))
    lexical = None
    if "lexical" in raw:
        try:
            lexical = LexicalModel.from_dict(raw["lexical"])
        except (ValueError, TypeError) as err:
            raise ModelFormatError(f"{where}: lexical: {err}") from None
        expected = tuple(g.name for g in groups())
        if lexical.groups != expected:
            raise ModelFormatError(f"{where}: lexical groups {lexical.groups} are not this "
                                   f"library's tactic groups {expected}")
    return Model(names, heads, tuple(raw["languages"]), raw["library_version"],
                 dict(raw["training"]), dict(raw["metrics"]), where, lexical)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a model may hold")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > 18:
        raise ValueError(f"integer of {len(digits)} digits")
    return int(digits)


def parse_model_json(data: bytes, where: str) -> Any:
    """Parse a model file's bytes: no NaN or infinity, no integer past 18 digits, nesting
    bounded by the parser (deeper input is an error, not a crash)."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          parse_int=_bounded_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise ModelFormatError(f"{where}: not a valid model file ({reason}); the file is "
                               f"corrupt or not a sextortion-signals model") from None


def load_model(path: str | Path) -> Model:
    """Load a model directory (holding ``model.json``) or a ``model.json`` file.

    Raises ``ModelFormatError`` for a missing, oversized, corrupt or incompatible file.
    Never unpickles: a model file is data.
    """
    try:
        p = Path(path)
        target = p / MODEL_FILE if p.is_dir() else p
        if not target.is_file():
            raise ModelFormatError(f"no model at {target}: pass a directory made by "
                                   f"`sextortion-signals train` or its model.json")
        size = target.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelFormatError(f"{target}: {size:,} bytes is larger than any model this "
                                   f"library writes (limit {MAX_MODEL_BYTES:,})")
        data = target.read_bytes()
    except OSError as err:
        raise ModelFormatError(f"cannot read a model at {str(path)[:200]}: "
                               f"{err.strerror or err}") from None
    return model_from_dict(parse_model_json(data, str(target)), str(target))


def default_model_path() -> Path:
    """The shipped model: inside the installed wheel, or ``models/default`` in a checkout."""
    packaged = resources.files("sextortion_signals") / "_models" / "default" / MODEL_FILE
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "models" / "default" / MODEL_FILE


@lru_cache(maxsize=1)
def default_model() -> Model:
    return load_model(default_model_path())
