"""No catastrophic backtracking, no quadratic loop: checked by structure and by counting
operations (function calls), never by timing."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from importlib import import_module
from types import FrameType
from typing import Any

import pytest

from sextortion_signals import extract_indicators, extract_signals
from sextortion_signals.indicators import finder
from sextortion_signals.text.normalize import normalize

MODULES = ["sextortion_signals.text.normalize", "sextortion_signals.text.language",
           "sextortion_signals.indicators", "sextortion_signals.match.prefilter",
           "sextortion_signals.match.screen", "sextortion_signals.inputs",
           "sextortion_signals.match.component"]
ADVERSARIAL = [
    "a " * 500, "a." * 500, "0" * 1000, "1 " * 500, "x@" * 500, "$" * 1000, "eeee" * 250,
    "s3" * 500, "10 min " * 125, "\u200b" * 1000, "je vais " * 125, '"' * 1000, "lol " * 250,
    "p\ufe0f" * 500, "ſ" * 1000, "İ" * 1000, "[" * 1000, "une " * 250 + "photo sinon",
    "everyone " + "the " * 250 + "you follow", "12 345 678 9" * 50, "5 euros " * 125,
]


def _patterns() -> Iterator[re.Pattern[str]]:
    for name in MODULES:
        for value in vars(import_module(name)).values():
            if isinstance(value, re.Pattern):
                yield value
    f = finder()
    for field in type(f).__slots__:
        value = getattr(f, field)
        if isinstance(value, re.Pattern):
            yield value


def _nested_repeat(tree: Any, inside: bool = False) -> bool:
    """Whether a parsed regex has a repeat (or an alternation) under a repeat."""
    from re import _parser  # type: ignore[attr-defined]

    for op, arg in tree:
        if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
            _, high, sub = arg
            if (inside and high > 1) or _nested_repeat(sub, inside or high > 1):
                return True
        elif op is _parser.BRANCH:
            if inside or any(_nested_repeat(b, inside) for b in arg[1]):
                return True
        else:
            inner = {_parser.SUBPATTERN: -1, _parser.ASSERT: 1, _parser.ASSERT_NOT: 1}.get(op)
            if inner is not None and _nested_repeat(arg[inner], inside):
                return True
    return False


def test_no_regex_nests_a_repeat_or_an_alternation_under_a_repeat() -> None:
    from re import _parser  # type: ignore[attr-defined]

    patterns = list(_patterns())
    assert len(patterns) >= 15
    for pattern in patterns:
        assert not _nested_repeat(_parser.parse(pattern.pattern, pattern.flags)), pattern.pattern


def test_the_structure_check_catches_catastrophic_patterns() -> None:
    from re import _parser  # type: ignore[attr-defined]

    for bad in [r"(a+)+$", r"(a|aa)*b", r"(\w+\s?)*$"]:
        assert _nested_repeat(_parser.parse(bad))
    assert not _nested_repeat(_parser.parse(r"[a-z]{2,}\s?\d{1,4}"))


def _calls(fn: Callable[[str], object], text: str) -> int:
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    fn(text)  # warm caches and lazy tables first
    sys.setprofile(profile)
    try:
        fn(text)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("fn", [normalize, extract_indicators, extract_signals],
                         ids=["normalize", "indicators", "signals"])
@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_work_grows_linearly_with_input(fn: Callable[[str], object], text: str) -> None:
    small = _calls(fn, text)
    large = _calls(fn, text * 4)
    # Linear: ~4x the calls (plus a constant); quadratic would be ~16x.
    assert large <= 5 * small + 200, (small, large)


def test_a_long_star_run_still_fires_and_stays_linear() -> None:
    small = _calls(extract_signals, "une " * 200 + "photo sinon")
    large = _calls(extract_signals, "une " * 800 + "photo sinon")
    assert extract_signals("une " * 800 + "photo sinon")
    assert large <= 5 * small + 200
