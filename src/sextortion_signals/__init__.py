"""sextortion-signals: explainable detection of grooming and sextortion tactics in chat.

Names are imported on first use, so ``import sextortion_signals`` (or reading data with
it) does not load spaCy until text is analysed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_WHERE = {
    "InvalidInputError": "errors", "ModelFormatError": "errors", "RuleFormatError": "errors",
    "SextortionSignalsError": "errors", "TrainingDataError": "errors",
    "UnknownSignalError": "errors",
    "Contribution": "results", "Evidence": "results", "Indicator": "results",
    "ScoreResult": "results", "SignalHit": "results",
    "Conversation": "inputs", "Limits": "inputs", "Message": "inputs",
    "FeatureVectorizer": "features",
    "Model": "model", "load_model": "model",
    "Scorer": "api", "score": "api", "score_many": "api", "extract_signals": "api",
    "extract_signals_many": "api", "extract_indicators": "api",
    "Monitor": "monitor", "MonitorLimits": "monitor",
    "read_labelled": "data", "TrainConfig": "train", "train_model": "train",
    "evaluate_sources": "evaluate",
    "score_frame": "dataframes",  # needs the [pandas] extra (Dask frames: [dask])
}

__all__ = [
    "Contribution", "Conversation", "Evidence", "FeatureVectorizer", "Indicator",
    "InvalidInputError", "Limits", "Message", "Model", "ModelFormatError", "Monitor",
    "MonitorLimits", "RuleFormatError", "ScoreResult", "Scorer", "SextortionSignalsError",
    "SignalHit", "TrainConfig", "TrainingDataError", "UnknownSignalError", "__version__",
    "evaluate_sources", "extract_indicators", "extract_signals", "extract_signals_many",
    "load_model", "read_labelled", "score", "score_frame", "score_many", "train_model",
]

if TYPE_CHECKING:
    from .api import (
        Scorer,
        extract_indicators,
        extract_signals,
        extract_signals_many,
        score,
        score_many,
    )
    from .data import read_labelled
    from .dataframes import score_frame
    from .errors import (
        InvalidInputError,
        ModelFormatError,
        RuleFormatError,
        SextortionSignalsError,
        TrainingDataError,
        UnknownSignalError,
    )
    from .evaluate import evaluate_sources
    from .features import FeatureVectorizer
    from .inputs import Conversation, Limits, Message
    from .model import Model, load_model
    from .monitor import Monitor, MonitorLimits
    from .results import Contribution, Evidence, Indicator, ScoreResult, SignalHit
    from .train import TrainConfig, train_model


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sextortion_signals' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
