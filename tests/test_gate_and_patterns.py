"""The two shortcuts of the signal matcher must never change a hit: the gate that skips
tokenizing messages no rule can match, and our compiled token patterns that replace
spaCy's ``Matcher`` calls."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sextortion_signals.normalize import normalize
from sextortion_signals.signals.pipe import SignalMatcher, build_nlp, signal_matcher
from sextortion_signals.signals.token_patterns import compile_pattern, doc_flags

LANGS = ("en", "fr")


@cache
def _generated(lang: str) -> tuple[str, ...]:
    from sextortion_signals.synth import GenerationConfig, generate

    rows = [*generate(120, seed=11, config=GenerationConfig(langs=(lang,))),
            *generate(60, seed=12, config=GenerationConfig(langs=(lang,), heldout=True))]
    return tuple(dict.fromkeys(normalize(m["text"]).text for r in rows
                               for m in r["messages"]))


@cache
def _vocabulary(lang: str) -> tuple[str, ...]:
    """Words the rules ask for, the tokenizer's special cases, and filler."""
    matcher = signal_matcher(build_nlp(lang))
    strings = build_nlp(lang).vocab.strings
    words = {strings[h] for req in matcher._required for group in req for h in group}
    specials = {k.lower() for k in build_nlp(lang).tokenizer.rules or {} if not k.isspace()}
    return tuple(sorted(words)[::3] + sorted(specials)[::7] + [
        "14", "150", "10min", "the", "lol", "😂", "?", "!", ",", "'", "-", "xyz", "moi"])


def _texts(lang: str) -> Any:
    return st.lists(st.sampled_from(_vocabulary(lang)), min_size=1, max_size=9).map(
        lambda words: normalize(" ".join(words)).text)


def _spacy_spans(matcher: SignalMatcher, k: int, doc: Any) -> set[tuple[int, int]]:
    return {(start, end) for _, start, end in matcher.matchers[k](doc)}


def _check_patterns(lang: str, text: str) -> int:
    nlp = build_nlp(lang)
    matcher = signal_matcher(nlp)
    doc = nlp.make_doc(text)
    lowers = [t.lower for t in doc]
    found = 0
    for k, compiled in enumerate(matcher._compiled):
        assert compiled is not None  # every shipped pattern fits the supported subset
        expected = _spacy_spans(matcher, k, doc)
        assert set(compiled[1].spans(lowers, doc_flags(doc))) == expected, (k, text)
        found += len(expected)
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_patterns_match_what_spacys_matcher_matches(lang: str) -> None:
    found = sum(_check_patterns(lang, text) for text in _generated(lang))
    assert found > 200  # the comparison covered many real matches


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_patterns_on_random_word_sequences(lang: str, data: st.DataObject) -> None:
    _check_patterns(lang, data.draw(_texts(lang)))


def test_quantifiers_and_flags_follow_spacy() -> None:
    nlp = build_nlp("en")
    patterns: list[list[dict[str, Any]]] = [
        [{"LOWER": "a"}, {"LOWER": "b", "OP": "?"}],
        [{"LOWER": "a", "OP": "+"}],
        [{"LOWER": "a", "OP": "*"}, {"LOWER": "b"}],
        [{"LOWER": "a"}, {"LOWER": {"IN": ["a", "b"]}, "OP": "*"}, {"LIKE_NUM": True}],
        [{"LOWER": "b", "OP": "?"}, {"IS_ALPHA": True}, {"IS_DIGIT": False, "OP": "?"}],
        [{"LOWER": "a"}, {"LOWER": "a", "OP": "*"}],  # every pair of a run: shared ends
        [{"LOWER": {"IN": ["a", "b"]}}, {"LOWER": "a", "OP": "*"}, {"LOWER": "b"}],
    ]
    from spacy.matcher import Matcher

    for pattern in patterns:
        compiled = compile_pattern(pattern, nlp.vocab.strings)
        assert compiled is not None
        reference = Matcher(nlp.vocab)
        reference.add("p", [pattern])
        for text in ["a b", "a a a", "b a b a", "a b 3", "a a b b two", "b", "", "1 a b",
                     "a a a a a a 3", "b a a a b a a b", "a a a b a a a a"]:
            doc = nlp.make_doc(text)
            expected = {(s, e) for _, s, e in reference(doc)}
            got = set(compiled.spans([t.lower for t in doc], doc_flags(doc)))
            assert got == expected, (pattern, text)


@pytest.mark.parametrize("pattern", [
    [{"LOWER": "a", "OP": "!"}], [{"LOWER": "a", "OP": "{2}"}],
    [{"LOWER": {"NOT_IN": ["a"]}}], [{"TEXT": {"REGEX": "^a"}}], [{"POS": "NOUN"}], []])
def test_patterns_outside_the_subset_keep_spacys_matcher(pattern: list[dict[str, Any]]) -> None:
    assert compile_pattern(pattern, build_nlp("en").vocab.strings) is None


def _check_gate(lang: str, text: str) -> bool:
    nlp = build_nlp(lang)
    matcher = signal_matcher(nlp)
    doc = nlp.make_doc(text)
    words = matcher.gate.words(text)
    for token in doc:  # the invariant the gate rests on
        low = token.lower_
        if low.isascii() and (low.isalpha() or low.isdigit()):
            assert low in words, (text, low)
    passed = matcher.may_match(text)
    if not passed:
        assert matcher.find(doc) == [], text
    return passed


@pytest.mark.parametrize("lang", LANGS)
def test_gate_never_rejects_a_message_that_fires(lang: str) -> None:
    texts = _generated(lang)
    passed = sum(_check_gate(lang, text) for text in texts)
    assert 0 < passed < len(texts)  # it does reject some, and lets some through


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_gate_on_random_word_sequences(lang: str, data: st.DataObject) -> None:
    _check_gate(lang, data.draw(_texts(lang)))


@pytest.mark.parametrize("text", ["gonna send it", "i cannot pay", "don't tell anyone",
                                  "c'mon", "wanna meet", "i'm 14", "im14", "ur 13?",
                                  "😂😂", "j'ai 13 ans", "t'as quel âge", "a/s/l", ":p"])
def test_gate_on_special_cases_and_symbols(text: str) -> None:
    for lang in LANGS:
        _check_gate(lang, normalize(text).text)


def test_pattern_tables_stay_bounded_and_correct_when_rows_are_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Rows of remembered moves are capped; clearing one must never change a match.
    from sextortion_signals.signals.token_patterns import TokenPattern

    monkeypatch.setattr(TokenPattern, "MAX_ROW", 2)
    nlp = build_nlp("en")
    compiled = compile_pattern([{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "*"},
                                {"LIKE_NUM": True}], nlp.vocab.strings)
    assert compiled is not None
    from spacy.matcher import Matcher

    reference = Matcher(nlp.vocab)
    reference.add("p", [[{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "*"}, {"LIKE_NUM": True}]])
    for text in ["a b c d e f g 3", "a x two", "a ten 4 y z", "a q r s t u v w", "a 3 a 4"]:
        doc = nlp.make_doc(text)
        got = set(compiled.spans([t.lower for t in doc], doc_flags(doc)))
        assert got == {(s, e) for _, s, e in reference(doc)}, text
    assert all(len(row) <= 2 for row in compiled._moves)


def test_text_reaching_the_matcher_is_lowercase_so_lower_ids_are_lexemes() -> None:
    # Compiled patterns remember a flag's answer per lowercase id (token_patterns.py).
    assert all(chr(c).lower().lower() == chr(c).lower() for c in range(0x110000))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalised_text_is_its_own_lowercase(text: str) -> None:
    folded = normalize(text).text
    assert folded.lower() == folded
