"""sextortion-signals: explainable detection of grooming and sextortion tactics in chat."""

from __future__ import annotations

from .errors import (
    InvalidInputError,
    ModelFormatError,
    RuleFormatError,
    SextortionSignalsError,
    TrainingDataError,
    UnknownSignalError,
)
from .extract import SignalHit, extract_indicators, extract_signals, extract_signals_many
from .indicators import Indicator
from .messages import Conversation, Limits, Message

__version__ = "0.1.0"

__all__ = [
    "Conversation", "Indicator", "InvalidInputError", "Limits", "Message", "ModelFormatError",
    "RuleFormatError", "SextortionSignalsError", "SignalHit", "TrainingDataError",
    "UnknownSignalError", "__version__", "extract_indicators", "extract_signals",
    "extract_signals_many",
]
