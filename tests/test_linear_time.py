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
