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
}

__all__ = [
    "Contribution", "Conversation", "Evidence", "FeatureVectorizer", "Indicator",
    "InvalidInputError", "Limits", "Message", "Model", "ModelFormatError", "RuleFormatError",
    "ScoreResult", "Scorer", "SextortionSignalsError", "SignalHit", "TrainingDataError",
    "UnknownSignalError", "__version__", "extract_indicators", "extract_signals",
    "extract_signals_many", "load_model", "score", "score_many",
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
    from .errors import (
        InvalidInputError,
        ModelFormatError,
        RuleFormatError,
        SextortionSignalsError,
        TrainingDataError,
        UnknownSignalError,
    )
    from .features import FeatureVectorizer
    from .inputs import Conversation, Limits, Message
    from .model import Model, load_model
    from .results import Contribution, Evidence, Indicator, ScoreResult, SignalHit


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sextortion_signals' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
