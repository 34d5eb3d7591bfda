"""The benchmark scripts' own logic (CI runs ``run.py --smoke``; ``instructions.py`` needs
valgrind and minutes, so its parts are checked here without it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_round_ratios_pair_times_of_the_same_round() -> None:
    run = _load("run")
    # Columns: floor, peer, ours. Best-of pairs the floor's round 1 (1 s) with our round 2
    # (2 s): 0.5x, a ratio no round showed. Within rounds: 0.25x, then 1.0x.
    rounds = [[1.0, 9.0, 4.0], [2.0, 9.0, 2.0]]
    assert run._round_ratios(rounds, 0, 2) == {"median": 0.625, "min": 0.25, "max": 1.0}
    assert run._best_interleaved([lambda: None, lambda: None], 2) == [
        pytest.approx(0.0, abs=0.1)] * 2


def test_instructions_child_scores_the_messages_it_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instructions = _load("instructions")
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([["en", "send 200 dollars or i post it"],
                                    ["fr", "salut ça va"]] * 15), encoding="utf-8")
    import sextortion_signals as ss

    calls: list[int] = []
    real = ss.Scorer.score_many

    def counted(self: ss.Scorer, items: list[list[str]], **kw: object) -> list[object]:
        calls.append(len(items))
        return real(self, items, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ss.Scorer, "score_many", counted)
    instructions.child("single", messages, 2)
    assert calls == [30] * 3  # warm-up + 2 counted passes, one item per message
    calls.clear()
    instructions.child("conv20", messages, 0)
    assert calls == [2]  # 30 messages -> conversations of 20 and 10


def test_instructions_report_reads_callgrind_totals(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    instructions = _load("instructions")
    totals = {0: 1_000_000, 2: 1_400_000}
    monkeypatch.setattr(instructions, "count", lambda _c, _f, reps: totals[reps])
    assert instructions.per_message("single", tmp_path, 100) == 2_000.0
    text = instructions.render({"floor": 1_000.0, "single": 2_000.0, "conv20": 1_250.0}, 100)
    assert "| 2,000 | 0.50 |" in text and "| 1,250 | 0.80 |" in text
    assert instructions._COLLECTED.search("==1== Collected : 123456\n").group(1) == "123456"
