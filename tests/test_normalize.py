"""Normalisation undoes evasion and keeps an exact map back to the original text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sextortion_signals import extract_signals
from sextortion_signals.text.normalize import normalize


@pytest.mark.parametrize(("raw", "expected"), [
    ("s3nd m0ney", "send money"),
    ("p@y n0w", "pay now"),
    ("\u0440\u0430\u0443 me", "pay me"),  # Cyrillic look-alikes
    ("pa\u200by\u200d me", "pay me"),  # zero-width characters
    ("s e n d", "send"),
    ("p.a.y", "pay"),
    ("pleeeease", "please"),
    ("ＳＥＮＤ", "send"),  # full-width (NFKC)
    ("Ça va ?", "ca va ?"),
])
def test_evasions_are_undone(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize("raw", ["pay 500 now", "150€ by 10:30", "call 0612345678",
                                 "1000 dollars", "covid-19 in 2020", "@l33t_gamer"])
def test_numbers_and_handles_survive(raw: str) -> None:
    out = normalize(raw).text
    for token in ("500", "150", "10:30", "0612345678", "1000", "2020", "@l33t_gamer"):
        if token in raw:
            assert token.lower() in out


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_offset_map_is_total_and_monotone(text: str) -> None:
    norm = normalize(text)
    n = len(norm.text)
    prev_start = 0
    for i in range(n):
        start, end = norm.to_original(i, i + 1)
        assert 0 <= start <= end <= len(text)
        assert start >= prev_start
        prev_start = start
    assert norm.to_original(0, n)[1] <= len(text)


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_extractor_never_crashes_and_spans_point_into_original(text: str) -> None:
    for hit in extract_signals(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert text[hit.start:hit.end] == hit.text


_POSITIVES = [
    ("send me the money now or i post your pics to your family", "threat_to_share"),
    ("you have 10 minutes to pay", "deadline_urgency"),
    ("don't tell your parents about us", "secrecy_request"),
    ("how old are you", "age_probe"),
    ("j'ai tes photos", "possession_claim"),
    ("envoie 200 euros", "payment_demand"),
]

_LEET = str.maketrans({"a": "4", "e": "3", "o": "0", "s": "$"})
_HOMO = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440",
                       "c": "\u0441"})


def _spaced(text: str) -> str:
    words = text.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    words[longest] = " ".join(words[longest])
    return " ".join(words)


@pytest.mark.parametrize(("text", "signal"), _POSITIVES)
@pytest.mark.parametrize("variant", [
    lambda t: " ".join(w.translate(_LEET) if w.isalpha() and len(w) >= 3 else w
                       for w in t.split(" ")),
    lambda t: t.translate(_HOMO),
    lambda t: "\u200b".join(t),
    _spaced,
    lambda t: t.upper(),
], ids=["leet", "homoglyph", "zero_width", "spaced", "upper"])
def test_obfuscated_variants_still_fire(text: str, signal: str, variant: object) -> None:
    assert callable(variant)
    obfuscated = variant(text)
    assert obfuscated != text
    hits = [h for h in extract_signals(obfuscated) if h.name == signal]
    assert hits, f"{signal} lost on {obfuscated!r}"
    for h in hits:
        assert obfuscated[h.start:h.end] == h.text


@given(st.sampled_from(_POSITIVES), st.lists(st.sampled_from(["\u200b", "\u200e", "\u2060"]),
                                             min_size=1, max_size=3), st.integers(0, 30))
@settings(max_examples=100, deadline=None)
def test_invisible_characters_anywhere_do_not_hide_a_signal(
        case: tuple[str, str], junk: list[str], where: int) -> None:
    text, signal = case
    pos = min(where, len(text))
    # Invisible characters are only inserted inside words, never replacing a space.
    obfuscated = text[:pos] + "".join(junk) + text[pos:]
    assert signal in {h.name for h in extract_signals(obfuscated)}


# The regexes the scanners replaced (they nest a repeat under a repeat: fine on these short
# strings, a backtracking risk on hostile input): the scanners must find exactly their runs.
_OLD_SPACED_PHRASE = re.compile(r"(?<![a-z0-9.\-_*])[a-z](?: {1,3}[a-z]){2,}(?![a-z0-9])")
_OLD_INNER = re.compile(r"(?<![a-z0-9])[a-z]+(?:[.\-_*][a-z]+)+(?![a-z0-9])")


@given(st.text(alphabet="abc 9.-_*", max_size=40))
@settings(max_examples=500, deadline=None)
def test_run_scanners_find_what_the_nested_regexes_found(text: str) -> None:
    from sextortion_signals.text.normalize import _inner_words, _spaced_phrases

    assert list(_spaced_phrases(text)) == [(m.start(), m.group())
                                           for m in _OLD_SPACED_PHRASE.finditer(text)]
    assert list(_inner_words(text)) == [(m.start(), m.group())
                                        for m in _OLD_INNER.finditer(text)]
