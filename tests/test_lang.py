"""Language detection on a labelled set of short chat messages (the signal cases)."""

from __future__ import annotations

from sextortion_signals.text import language as lang
from sextortion_signals.text.normalize import normalize

from .conftest import signal_cases


def _labelled() -> list[tuple[str, str]]:
    return [(code, text) for code in ("en", "fr") for c in signal_cases(code).values()
            for kind in ("positive", "negative") for text in c[kind]]


def test_accuracy_on_short_chat_messages() -> None:
    data = _labelled()
    decided = [(gold, lang.detect(normalize(t).text)) for gold, t in data]
    answered = [(g, p) for g, p in decided if p is not None]
    correct = sum(g == p for g, p in answered)
    assert len(answered) / len(data) >= 0.85, "too many messages left undecided"
    assert correct / len(answered) >= 0.97, f"accuracy {correct / len(answered):.3f}"


def test_unknown_language_runs_every_pack() -> None:
    assert lang.detect(normalize("ok 👍").text) is None
    from sextortion_signals import extract_signals
    langs = {h.lang for h in extract_signals("ok lol mdr")}
    assert langs <= {"en", "fr"} and langs
