"""Evaluation plots: written without choosing a backend for the process, one file name
per source."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sextortion_signals.api import Scorer
from sextortion_signals.data import read_labelled
from sextortion_signals.evaluate import all_delays, score_labelled
from sextortion_signals.plots import plot_source, slug
from sextortion_signals.synth import generate, write_jsonl

pytest.importorskip("matplotlib")


def test_distinct_sources_get_distinct_names() -> None:
    names = {slug(s) for s in ["a-b.jsonl", "a_b.jsonl", "x/" * 50 + "t.jsonl",
                               "y/" * 50 + "t.jsonl"]}
    assert len(names) == 4 and all(n.replace("_", "").isalnum() for n in names)


def test_plots_leave_the_process_backend_alone(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    write_jsonl(generate(40, seed=3), data)
    scorer = Scorer()
    scored = score_labelled(scorer, list(read_labelled(data)))
    before = set(sys.modules)
    written = plot_source(scorer, scored, str(data), tmp_path / "plots",
                          all_delays(scorer, scored))
    assert "matplotlib.pyplot" in before or "matplotlib.pyplot" not in sys.modules
    assert len(written) == 3 and all(Path(p).stat().st_size > 1000 for p in written)
    assert len(plot_source(scorer, scored, str(data), tmp_path / "p2")) == 2  # no delays
