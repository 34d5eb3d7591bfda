"""Exception hierarchy. Every error derives from ``SextortionSignalsError`` and, where it
fits, from the builtin a caller would expect (``ValueError``, ``KeyError``...)."""

from __future__ import annotations


class SextortionSignalsError(Exception):
    """Root of every error this library raises on purpose."""


class InvalidInputError(SextortionSignalsError, ValueError):
    """A message or conversation cannot be scored as given (the message says how to fix it)."""


class UnknownSignalError(SextortionSignalsError, KeyError):
    """A signal name that is not in the registry."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown signal {self.name!r}; known signals: {', '.join(sorted(self.known))}"


class RuleFormatError(SextortionSignalsError, ValueError):
    """A signal spec or rule data file is malformed (names the file and line)."""


class ModelFormatError(SextortionSignalsError, ValueError):
    """A model artefact is corrupt, incomplete or from an incompatible version."""


class TrainingDataError(SextortionSignalsError, ValueError):
    """Labelled training or evaluation data is malformed (names the line)."""


class OutputExistsError(SextortionSignalsError, FileExistsError):
    """Refusing to overwrite an existing output without ``force``."""
