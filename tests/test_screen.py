"""The screen (one pass: language + every pack's gate) must answer exactly what language
detection and each pack's gate answer apart, on generated, random and adversarial text."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sextortion_signals import lang
from sextortion_signals._store import MAX_TEXT_KEY
from sextortion_signals.normalize import normalize
from sextortion_signals.signals.gate import _RUN, RuleGate
from sextortion_signals.signals.pipe import build_nlp, signal_matcher
from sextortion_signals.signals.registry import rule_languages
from sextortion_signals.signals.screen import Screen, screen_for

PACKS = rule_languages()


def _expected(text: str) -> tuple[str | None, list[str]]:
    detected = lang.detect(text)
    candidates = (detected,) if detected in PACKS else PACKS
    return detected, [p for p in candidates if signal_matcher(build_nlp(p)).may_match(text)]


def _packs(screen: Screen, text: str) -> tuple[str | None, list[str]]:
    """The screen's answer without the complete units (checked apart, below)."""
    detected, passing = screen.screen(text)
    return detected, list(passing)


@cache
def _generated() -> tuple[str, ...]:
    from sextortion_signals.synth import GenerationConfig, generate

    rows = [*generate(150, seed=21), *generate(60, seed=22, config=GenerationConfig(
        heldout=True))]
    return tuple(dict.fromkeys(normalize(m["text"]).text for r in rows
                               for m in r["messages"]))


@cache
def _vocabulary() -> tuple[str, ...]:
    words: set[str] = set()
    for pack in PACKS:
        matcher = signal_matcher(build_nlp(pack))
        strings = build_nlp(pack).vocab.strings
        words |= {strings[h] for req in matcher._required for group in req for h in group}
        words |= {k.lower() for k in build_nlp(pack).tokenizer.rules or {} if not k.isspace()}
    function_words = sorted(w for ws in lang.word_lists().values() for w in ws)
    return tuple(sorted(words)[::5] + function_words[::9] + [
        "14", "10min", "j'", "l'", "qu'", "c'est", "😂", "?", "!", "'", "a/s/l", ":p", "xyz"])


def test_screen_answers_what_detection_and_gates_answer_on_generated_chat() -> None:
    screen = screen_for(PACKS)
    texts = _generated()
    results = [_packs(screen, t) for t in texts]
    assert results == [_expected(t) for t in texts]
    assert any(p for _, p in results) and not all(p for _, p in results)
    assert {d for d, _ in results} >= {*PACKS, None}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_vocabulary()), min_size=0, max_size=10),
       st.sampled_from([" ", "", "-", "'", ", "]))
def test_screen_on_random_word_sequences(words: list[str], sep: str) -> None:
    text = normalize(sep.join(words)).text
    assert _packs(screen_for(PACKS), text) == _expected(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_screen_on_arbitrary_text(raw: str) -> None:
    text = normalize(raw).text
    assert _packs(screen_for(PACKS), text) == _expected(text)


@cache
def _substring_keys() -> tuple[str, ...]:
    """Every token the gates look for as a substring, those with a space included."""
    keys: set[str] = set()
    for pack in PACKS:
        gate = signal_matcher(build_nlp(pack)).gate
        for automaton in (gate._inner, gate._spanning):
            keys.update(automaton.keys() if automaton is not None else ())
    return tuple(sorted(keys))


_WHITESPACE = [" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\u3000"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_substring_keys()), st.sampled_from(_vocabulary())),
                min_size=1, max_size=8),
       st.lists(st.sampled_from(["", *_WHITESPACE]), min_size=8, max_size=8))
def test_screen_reads_chunks_as_the_whole_text_would_be_read(
        pieces: list[str], gaps: list[str]) -> None:
    # Chunk records hold the substrings without whitespace; the ones with a space ("come
    # over") can cross chunks, and any whitespace (not only " ") cuts chunks.
    text = "".join(piece + gap for piece, gap in zip(pieces, gaps, strict=False))
    assert _packs(screen_for(PACKS), text) == _expected(text)


def test_words_no_token_can_have_never_open_the_gate() -> None:
    # "come over" is in a rule's word list, but no token has a space (there is no such
    # special case): its unit needs "come" or another word of the list.
    screen = screen_for(PACKS)
    assert _packs(screen, "if you income over") == _expected("if you income over") == (
        "en", [])
    assert _packs(screen, "if you come over") == ("en", ["en"])


def test_substrings_with_whitespace_are_found_across_chunks() -> None:
    # A special case whose key has a space makes a token with one ("come over"); the
    # screen looks for it in the whole text, as the gate does.
    units = [(frozenset({"if"}), frozenset({"come over"})), (frozenset({"x"}),)]
    made = RuleGate(units, {"come over": ["come over"]}, lambda _word: 1.0)
    never = RuleGate(units, {}, lambda _word: 1.0)
    assert made.spanning and not never.spanning
    for gate in (made, never):
        screen = Screen({"en": gate})
        for text in ["if come over", "if income overt", "if come\tover", "if come  over",
                     "come over if", "if come", "x", ""]:
            _, passing = screen.screen(text)
            assert list(passing) == (["en"] if gate.may_match(text) else []), text
    assert Screen({"en": made}).screen("if come over")[1] == {"en": (0,)}
    assert Screen({"en": never}).screen("if come over")[1] == {}


def test_long_chunks_are_read_but_not_kept() -> None:
    screen = Screen({p: signal_matcher(build_nlp(p)).gate for p in PACKS})
    long_chunk = "pay?" * (MAX_TEXT_KEY // 4 + 1)
    text = f"{long_chunk} now"
    assert _packs(screen, text) == _expected(text)
    assert long_chunk not in screen._chunks and "now" in screen._chunks
    long_word = "w" * (MAX_TEXT_KEY + 1)  # read as one token, never kept either
    assert _packs(screen, f"{long_word} now") == _expected(f"{long_word} now")
    assert long_word not in screen._words and long_word not in screen._chunks


def test_screen_stays_correct_when_its_word_records_are_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sextortion_signals.signals.screen as screen_module

    monkeypatch.setattr(screen_module, "_MAX_WORDS", 3)
    screen = Screen({p: signal_matcher(build_nlp(p)).gate for p in PACKS})
    for text in _generated()[:300]:
        assert _packs(screen, text) == _expected(text)
    assert len(screen._words) <= 3 and len(screen._chunks) <= 3


def _units_are_enough(text: str) -> None:
    """The complete units the screen gives a pack hold every rule its matcher would try
    on the doc (a required word of each), and give the same hits."""
    _, passing = screen_for(PACKS).screen(text)
    for pack, units in passing.items():
        matcher = signal_matcher(build_nlp(pack))
        doc = build_nlp(pack).tokenizer(text)
        lowers = [token.lower for token in doc]
        literals, rules = matcher._to_try(lowers, None)
        literals_by_units, rules_by_units = matcher._to_try(lowers, units)
        assert set(rules) <= set(rules_by_units)
        assert literals_by_units or not literals or not matcher.phrases(doc)
        assert matcher.find(doc, units) == matcher.find(doc)


def test_complete_units_hold_every_rule_worth_trying_on_generated_chat() -> None:
    texts = _generated()
    for text in texts:
        _units_are_enough(text)
    # Not vacuous: many messages pass, some with several complete units.
    units = [u for t in texts for u in screen_for(PACKS).screen(t)[1].values()]
    assert len(units) > 200 and any(len(u) > 1 for u in units)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_vocabulary()), min_size=1, max_size=12),
       st.sampled_from([" ", "-", ", "]))
def test_complete_units_hold_every_rule_worth_trying(words: list[str], sep: str) -> None:
    _units_are_enough(normalize(sep.join(words)).text)


def _gate_lookups(gate: RuleGate, text: str) -> tuple[int, list[tuple[int, ...]]]:
    """The groups ``text`` meets and the masks of the units indexed under its words, by the
    gate's own lookups (as ``may_match`` makes them)."""
    satisfied, masks = gate.substrings(text)
    for run in set(_RUN.findall(text)):
        bits, indexed = gate.entry(run)
        satisfied |= bits
        masks.append(indexed)
    return satisfied, masks


def _reference(text: str) -> tuple[str | None, dict[str, tuple[int, ...]]]:
    """The screen's whole answer computed from scratch: ``lang.detect``, then for each
    candidate pack the gate's own lookups and ``complete``."""
    detected = lang.detect(text)
    out: dict[str, tuple[int, ...]] = {}
    for pack in (detected,) if detected in PACKS else PACKS:
        gate = signal_matcher(build_nlp(pack)).gate
        units = gate.complete(*_gate_lookups(gate, text))
        if units or gate.always_open:
            out[pack] = units
    return detected, out


def test_kept_answers_are_the_answers_computed_afresh() -> None:
    # Answers are kept per (language, groups met): texts that share them share an answer.
    screen = Screen({p: signal_matcher(build_nlp(p)).gate for p in PACKS})
    texts = _generated()
    assert [screen.screen(t) for t in texts] == [_reference(t) for t in texts]
    assert len(screen._answers) < len(texts)  # not vacuous: some answers are reused


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_vocabulary()), min_size=0, max_size=10),
       st.sampled_from([" ", "", "-", ", "]))
def test_kept_answers_on_random_word_sequences(words: list[str], sep: str) -> None:
    text = normalize(sep.join(words)).text
    assert screen_for(PACKS).screen(text) == _reference(text)


def test_screen_stays_correct_when_its_answers_are_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sextortion_signals.signals.screen as screen_module

    monkeypatch.setattr(screen_module, "_MAX_ANSWERS", 2)
    screen = Screen({p: signal_matcher(build_nlp(p)).gate for p in PACKS})
    for text in _generated()[:300]:
        assert screen.screen(text) == _reference(text)
    assert len(screen._answers) <= 2 and len(screen._decided) <= 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_substring_keys()), st.sampled_from(_vocabulary())),
                min_size=1, max_size=10))
def test_complete_units_follow_from_the_groups_met(words: list[str]) -> None:
    # Why an answer can be kept per groups met: ``complete`` gives exactly the units all of
    # whose groups are met, though it only looks at those indexed under the words found.
    text = normalize(" ".join(words)).text
    for pack in PACKS:
        gate = signal_matcher(build_nlp(pack)).gate
        satisfied, masks = _gate_lookups(gate, text)
        every = sorted(unit for mask, units in gate._units_of.items()
                       if satisfied & mask == mask for unit in units)
        assert list(gate.complete(satisfied, masks)) == every


def test_votes_decide_the_language_as_detection_does() -> None:
    # One integer per message, a field per language; counts far past a byte or a short.
    screen = screen_for(PACKS)
    for text in ["the " * 70_000 + "le " * 40_000, "le " * 70_000 + "the " * 50_000,
                 "the le " * 3, "", "xyz 123"]:
        assert screen.screen(text)[0] == lang.detect(text)
