"""The streaming monitor: equal to score() on every prefix, bounded, restartable."""

from __future__ import annotations

import json

import pytest

import sextortion_signals as ss
from sextortion_signals.errors import InvalidInputError
from sextortion_signals.monitor import Monitor, MonitorLimits

from .conftest import EXAMPLES

THREAT = "send 150$ in steam cards or i send your pics to all your followers"


def example_conversations() -> list[list[dict]]:
    return [row["messages"] for row in map(json.loads, EXAMPLES.read_text().splitlines())
            if isinstance(row, dict) and "messages" in row]


@pytest.mark.parametrize("k", range(4))
def test_every_prefix_scores_as_score_does(k: int) -> None:
    messages = example_conversations()[k]
    monitor = Monitor()
    for n, message in enumerate(messages, 1):
        update = monitor.update("c", message)
        expected = ss.score(messages[:n])
        assert update.message_index == n - 1
        assert update.result.scores == pytest.approx(expected.scores, abs=1e-9)
        assert update.result.labels == expected.labels
        assert update.result.level == expected.level
        assert set(update.result.signals) == set(expected.signals)


def test_alerts_fire_once_per_label_and_on_a_rising_level() -> None:
    monitor = Monitor()
    first = monitor.update("c", {"sender": "x", "text": "hey"})
    assert first.alerts == ()
    hit = monitor.update("c", {"sender": "x", "text": "i have your pics. " + THREAT})
    kinds = {(a.kind, a.label) for a in hit.alerts}
    assert ("label", "sextortion") in kinds and ("level", None) in kinds
    again = monitor.update("c", {"sender": "x", "text": THREAT})
    assert "sextortion" in again.result.labels and again.alerts == ()
    other = monitor.update("d", {"sender": "x", "text": "see you at practice"})
    assert other.alerts == () and other.message_index == 0


def test_state_round_trips_and_continues_identically() -> None:
    messages = example_conversations()[0]
    a, b = Monitor(), Monitor()
    for m in messages[:2]:
        a.update("c", m)
    b.loads(a.dumps())
    for m in messages[2:]:
        ua, ub = a.update("c", m), b.update("c", m)
        assert ua.result.scores == ub.result.scores and ua.alerts == ub.alerts


def test_state_from_another_model_or_damaged_is_refused() -> None:
    a = Monitor()
    a.update("c", "hello")
    state = a.export_state()
    with pytest.raises(InvalidInputError, match="another model"):
        Monitor().import_state({**state, "model_sha256": "0" * 64})
    with pytest.raises(InvalidInputError, match="damaged"):
        Monitor().import_state({**state, "conversations": [["c", {"state": 1}]]})
    with pytest.raises(InvalidInputError, match="format"):
        Monitor().import_state({"format": "x"})


def test_idle_and_excess_conversations_are_evicted() -> None:
    now = [0.0]
    monitor = Monitor(limits=MonitorLimits(max_conversations=2, idle_seconds=10),
                      clock=lambda: now[0])
    monitor.update("a", "hi")
    monitor.update("b", "hi")
    monitor.update("c", "hi")  # over the bound: the least recently updated goes
    assert "a" not in monitor and len(monitor) == 2
    now[0] = 11.0
    monitor.update("d", "hi")  # b and c idle for more than 10 s
    assert list(monitor._open) == ["d"]


def test_evidence_kept_per_conversation_is_bounded() -> None:
    monitor = Monitor(limits=MonitorLimits(max_evidence=5))
    for _ in range(20):
        update = monitor.update("c", {"sender": "x", "text": THREAT})
    assert len(update.result.signals) <= 5 and len(update.result.indicators) <= 5


def test_bad_input_is_a_clear_error_and_leaves_state_alone() -> None:
    monitor = Monitor()
    with pytest.raises(TypeError, match="conversation_id"):
        monitor.update(3, "hi")  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError)):
        monitor.update("c", {"txt": "hi"})
    assert "c" not in monitor
    assert monitor.update("c", "hi").message_index == 0
