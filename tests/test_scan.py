"""The scanner (one read of a raw message's chunks for normalisation, the screen and the
indicators' gates) must answer what normalising, screening and finding indicators apart
answer, on generated, random and adversarial text."""

from __future__ import annotations

import sys
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sextortion_signals import scan as scan_module
from sextortion_signals.indicators import find_gated, find_indicators
from sextortion_signals.normalize import (
    CHANGES,
    _fold_char,
    fold_only,
    normalize,
    read_chunk,
    spaced_run_possible,
)
from sextortion_signals.scan import Scanner, scanner_for
from sextortion_signals.signals.registry import rule_languages
from sextortion_signals.signals.screen import screen_for

PACKS = rule_languages()
_WHITESPACE = [" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\u3000", "\u2028"]


def _apart(text: str) -> tuple[object, ...]:
    norm = normalize(text)
    detected, passing = screen_for(PACKS).screen(norm.text)
    return (norm if passing else None), detected, passing, find_indicators(text, 3)


def _scanned(scanner: Scanner, text: str) -> tuple[object, ...]:
    norm, detected, passing, gates = scanner.scan(text)
    assert type(passing) is tuple  # pairs, the screen's kept answer (never changed)
    return norm, detected, dict(passing), find_gated(text, 3, gates)


@cache
def _generated() -> tuple[str, ...]:
    from sextortion_signals.synth import GenerationConfig, generate

    rows = [*generate(150, seed=31), *generate(60, seed=32, config=GenerationConfig(
        heldout=True))]
    return tuple(dict.fromkeys(m["text"] for r in rows for m in r["messages"]))


def test_scan_answers_what_normalising_screening_and_indicators_answer() -> None:
    scanner = Scanner(screen_for(PACKS))
    texts = _generated()
    scanned = [_scanned(scanner, t) for t in texts]
    assert scanned == [_apart(t) for t in texts]
    # Not vacuous: most messages are read by their chunks alone, some pass a pack, some
    # have indicators, and some are normalised the long way.
    shapes = [[read_chunk(c)[1] for c in t.split()] for t in texts]
    plain = [not any(s & CHANGES for s in ss) and not spaced_run_possible(ss)
             for ss in shapes]
    assert 0.5 * len(texts) < sum(plain) < len(texts)
    assert any(p and s[0] is not None for p, s in zip(plain, scanned, strict=True))
    assert any(s[3] for s in scanned)


# Letters, l33t digits and symbols, every spacing separator, accents, a Cyrillic and a
# full-width look-alike, a zero-width space, controls, and whitespace of every kind.
_ALPHABET = st.sampled_from([*"abcdeilnopstuxyz", *"0134579$@", *".-_*'!?,", "é", "à",
                             "\u0430", "\uff41", "\u200b", "\x01", "\x7f", "İ",
                             *(w for w in _WHITESPACE if len(w) == 1)])
_PIECES = st.sampled_from(["a", "i", "y", "x", "b", "(a", "c)", "d.", "ab", "pay", "send",
                           "now", "snap", "ce", "soir", "150", "$", "10min", "pleeease",
                           "s.e.n.d", "j'ai", "t'as", "âge", "photo", "l'", "😂"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(_ALPHABET, max_size=40),
                 st.lists(st.tuples(_PIECES, st.sampled_from(_WHITESPACE)), max_size=10)
                 .map(lambda pairs: "".join(p + w for p, w in pairs))))
@example("s e n d me")
@example("(a b c) now")
@example("i am a boy")
@example("x  y  z")
@example("a\tb\tc")
def test_scan_on_random_text(text: str) -> None:
    assert _scanned(scanner_for(PACKS), text) == _apart(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_PIECES, st.sampled_from(_WHITESPACE)), max_size=10)
       .map(lambda pairs: "".join(p + w for p, w in pairs)))
@example("t e l l me")
@example("a b c")
@example("j'ai a b")
def test_chunks_that_normalisation_leaves_alone_are_folded_only(text: str) -> None:
    # Why the scanner may skip normalisation's steps 2-5 (see ``read_chunk``).
    shapes = [read_chunk(chunk)[1] for chunk in text.split()]
    if not any(s & CHANGES for s in shapes) and not spaced_run_possible(shapes):
        assert normalize(text) == fold_only(text)


def test_every_whitespace_character_folds_to_one_whitespace_character() -> None:
    # ``read_chunk`` only reads the chunks: the whitespace between them must fold one to
    # one, and stay whitespace, for the folded chunks to be the folded text's chunks.
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if ch.isspace():
            folded = _fold_char(ch)
            assert len(folded) == 1 and folded.isspace(), hex(code)


def test_chunk_shapes() -> None:
    assert read_chunk("Pay")[1] == 0  # a word, left alone
    assert read_chunk("s3nd")[1] & CHANGES  # l33t
    assert read_chunk("pleeease")[1] & CHANGES  # repeats
    assert read_chunk("s.e.n.d")[1] & CHANGES  # dotted letters
    assert read_chunk("w" + "x" * 70)[1] & CHANGES  # a run too long for the tokenizer
    assert read_chunk("\u200bhi")[1] & CHANGES  # drops a character: not one to one
    assert read_chunk("a\x01b")[1] & CHANGES  # a control becomes a space
    assert not read_chunk("âge")[1] & CHANGES  # accents fold one to one
    assert spaced_run_possible([read_chunk(c)[1] for c in ["(a", "b", "c)"]])
    assert not spaced_run_possible([read_chunk(c)[1] for c in ["i", "am", "a", "boy"]])


def test_scan_stays_correct_when_its_records_are_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "_MAX_CHUNKS", 3)
    scanner = Scanner(screen_for(PACKS))
    for text in _generated()[:300]:
        assert _scanned(scanner, text) == _apart(text)
    assert len(scanner._raws) <= 3
    long_chunk = "pay?" * 20  # read, never kept (over MAX_TEXT_KEY characters)
    text = f"{long_chunk} snap now"
    assert _scanned(scanner, text) == _apart(text) and long_chunk not in scanner._raws
