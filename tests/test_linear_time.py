"""No catastrophic backtracking: cost grows linearly with adversarial input length.

Ratios within one run, never absolute times."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sextortion_signals import extract_indicators, extract_signals
from sextortion_signals.normalize import normalize

ADVERSARIAL = [
    "a " * 2000,  # spaced letters
    "a." * 2000,
    "0" * 4000,  # digits (amounts, phones)
    "1 " * 2000,
    "x@" * 2000,  # e-mail / handle parts
    "$" * 4000,
    "eeee" * 1000,  # repeats
    "s3" * 2000,  # leet
    "10 min " * 500,
    "\u200b" * 4000,
    "je vais " * 500,
]


def _best_of(fn: Callable[[str], object], text: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("fn", [normalize, extract_indicators, extract_signals],
                         ids=["normalize", "indicators", "signals"])
@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_quadrupling_input_at_most_quadruples_time(fn: Callable[[str], object],
                                                   text: str) -> None:
    small = _best_of(fn, text[:2000])
    large = _best_of(fn, text[:2000] * 4)
    # Linear -> ~4x; quadratic would be ~16x. Generous slack for timer noise.
    assert large <= max(8 * small, 0.02), (small, large)


@pytest.mark.parametrize("make", [
    # A "*" step whose words can also start the match: every start runs to the end of the
    # run unless shared work is remembered (was 3 s for one 16,000-character message).
    lambda n: "une " * n + "photo sinon",
    lambda n: "everyone " + "the " * n + "you follow",
], ids=["fr_star_overlaps_start", "en_long_star_run"])
def test_long_runs_for_repeating_pattern_steps_stay_linear(
        make: Callable[[int], str]) -> None:
    small = _best_of(extract_signals, make(500))
    large = _best_of(extract_signals, make(2000))
    assert extract_signals(make(2000)), "the input must fire the rule it attacks"
    assert large <= max(8 * small, 0.02), (small, large)
