"""sextortion-signals: explainable detection of grooming and sextortion tactics in chat."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    InvalidInputError,
    ModelFormatError,
    RuleFormatError,
    SextortionSignalsError,
    TrainingDataError,
    UnknownSignalError,
)
from .explain import Contribution, Evidence
from .extract import SignalHit, extract_indicators, extract_signals, extract_signals_many
from .features import FeatureVectorizer
from .indicators import Indicator
from .messages import Conversation, Limits, Message
from .model import Model, load_model
from .scoring import Scorer, ScoreResult, score, score_many

__all__ = [
    "Contribution", "Conversation", "Evidence", "FeatureVectorizer", "Indicator",
    "InvalidInputError", "Limits", "Message", "Model", "ModelFormatError", "RuleFormatError",
    "ScoreResult", "Scorer", "SextortionSignalsError", "SignalHit", "TrainingDataError",
    "UnknownSignalError", "__version__", "extract_indicators", "extract_signals",
    "extract_signals_many", "load_model", "score", "score_many",
]
