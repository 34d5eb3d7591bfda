"""Signal matching: the fast path (screen, prefilter, compiled automata) finds exactly what
the plain reference path finds (``oracle.py``), and the spaCy component is that path."""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher

import sextortion_signals as ss
from sextortion_signals import SignalHit, extract_signals, extract_signals_many
from sextortion_signals.frames import FRAME_PREFIX
from sextortion_signals.match.analyze import default_analyzer
from sextortion_signals.match.component import SPAN_KEY, SignalComponent, blank
from sextortion_signals.match.patterns import TokenPattern, compile_pattern, doc_flags
from sextortion_signals.rules.compile import ruleset
from sextortion_signals.text.normalize import normalize

from .oracle import pack_hits, reference_hits

LANGS = ("en", "fr")
ADVERSARIAL = ["gonna send it", "i cannot pay", "don't tell anyone", "c'mon", "wanna meet",
               "i'm 14", "im14", "ur 13?", "😂😂", "j'ai 13 ans", "t'as quel âge", "a/s/l", ":p",
               "s e n d  m e  p i c s", "1 h4v3 y0ur p1c5", "ｐａｙ ｍｅ 50$", "pay\u200bme",
               "une une une une photo sinon", '"' * 300, "lol " * 200, "i have your pics " * 40,
               "p\ufe0fa\ufe0fy me or everyone sees", "tout le monde va voir tes photos"]


@cache
def generated(lang: str) -> tuple[str, ...]:
    from sextortion_signals.synth import GenerationConfig, generate

    rows = [*generate(150, seed=11, config=GenerationConfig(langs=(lang,))),
            *generate(80, seed=12, config=GenerationConfig(langs=(lang,), heldout=True))]
    return tuple(dict.fromkeys(m["text"] for r in rows for m in r["messages"]))


@cache
def vocabulary(lang: str) -> tuple[str, ...]:
    """Words the rules ask for, the tokenizer's special cases, and filler."""
    words = {w for rule in ruleset(lang).rules for group in rule.required for w in group}
    words |= {w for rule in ruleset(lang).rules for lit in rule.literals for w in lit.split()}
    specials = {k.lower() for k in blank(lang).tokenizer.rules or {} if not k.isspace()}
    return tuple(sorted(words)[::3] + sorted(specials)[::7] + [
        "14", "150", "10min", "the", "lol", "😂", "?", "!", ",", "'", "-", "xyz", "moi", "\""])


def rule_hits(hits: list[SignalHit]) -> set[tuple[str, int, int]]:
    """The rules' hits (frame hits have their own reference: tests/test_frames.py)."""
    return {(h.name, h.start, h.end) for h in hits if not h.rule_id.startswith(FRAME_PREFIX)}


def found(text: str) -> set[tuple[str, int, int]]:
    return rule_hits(extract_signals(text))


@pytest.mark.parametrize("lang", LANGS)
def test_scoring_finds_what_the_reference_path_finds_on_generated_chat(lang: str) -> None:
    texts = generated(lang)
    batch = extract_signals_many(texts)
    total = 0
    for text, hits in zip(texts, batch, strict=True):
        expected = reference_hits(text)
        assert rule_hits(hits) == expected, text
        total += len(expected)
    assert total > 300  # the comparison covered many real hits


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_reference_path_on_adversarial_text(text: str) -> None:
    assert found(text) == reference_hits(text)


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_reference_path_on_random_rule_words(lang: str, data: st.DataObject) -> None:
    words = data.draw(st.lists(st.sampled_from(vocabulary(lang)), min_size=1, max_size=10))
    separators = data.draw(st.lists(st.sampled_from([" ", "  ", "\t", ", ", "\u00a0", "-"]),
                                    min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, separators, strict=True))
    assert found(text) == reference_hits(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_reference_path_on_any_text(text: str) -> None:
    hits = extract_signals(text)
    assert rule_hits(hits) == reference_hits(text)
    assert all(text[h.start:h.end] == h.text for h in hits)


def test_prefilter_rejects_most_chat_and_lets_firing_messages_through() -> None:
    texts = generated("en")
    screen = default_analyzer().screen
    passed = [t for t in texts if any(p == "en" for p, _ in screen.screen(normalize(t)).candidates)]
    assert 0.2 * len(texts) < len(passed) < 0.8 * len(texts)
    rejected = set(texts) - set(passed)
    assert all(not pack_hits("en", t) for t in rejected
               if screen.screen(normalize(t)).lang == "en")


# -- the compiled automaton follows spaCy's Matcher -----------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_every_shipped_pattern_compiles(lang: str) -> None:
    assert all(compile_pattern(list(r.pattern)) is not None for r in ruleset(lang).patterns)


def test_quantifiers_and_flags_follow_spacy() -> None:
    nlp = blank("en")
    patterns: list[list[dict[str, Any]]] = [
        [{"LOWER": "a"}, {"LOWER": "b", "OP": "?"}],
        [{"LOWER": "a", "OP": "+"}],
        [{"LOWER": "a", "OP": "*"}, {"LOWER": "b"}],
        [{"LOWER": "a"}, {"LOWER": {"IN": ["a", "b"]}, "OP": "*"}, {"LIKE_NUM": True}],
        [{"LOWER": "b", "OP": "?"}, {"IS_ALPHA": True}, {"IS_DIGIT": False, "OP": "?"}],
        [{"LOWER": "a"}, {"LOWER": "a", "OP": "*"}],
        [{"LOWER": {"IN": ["a", "b"]}}, {"LOWER": "a", "OP": "*"}, {"LOWER": "b"}],
    ]
    for pattern in patterns:
        compiled = compile_pattern(pattern)
        assert compiled is not None
        reference = Matcher(nlp.vocab)
        reference.add("p", [pattern])
        for text in ["a b", "a a a", "b a b a", "a b 3", "a a b b two", "b", "", "1 a b",
                     "a a a a a a 3", "b a a a b a a b", "a a a b a a a a"]:
            doc = nlp.make_doc(text)
            expected = {(s, e) for _, s, e in reference(doc)}
            assert set(compiled.spans([t.lower for t in doc], doc_flags(doc))) == expected


@pytest.mark.parametrize("pattern", [
    [{"LOWER": "a", "OP": "!"}], [{"LOWER": "a", "OP": "{2}"}],
    [{"LOWER": {"NOT_IN": ["a"]}}], [{"TEXT": {"REGEX": "^a"}}], [{"POS": "NOUN"}], []])
def test_patterns_outside_the_subset_are_left_to_spacy(pattern: list[dict[str, Any]]) -> None:
    assert compile_pattern(pattern) is None


def test_automaton_rows_stay_bounded_and_correct_when_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TokenPattern, "MAX_ROW", 2)
    nlp = blank("en")
    pattern: list[dict[str, Any]] = [{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "*"},
                                     {"LIKE_NUM": True}]
    compiled = compile_pattern(pattern)
    assert compiled is not None
    reference = Matcher(nlp.vocab)
    reference.add("p", [pattern])
    for text in ["a b c d e f g 3", "a x two", "a ten 4 y z", "a q r s t u v w", "a 3 a 4"]:
        doc = nlp.make_doc(text)
        got = set(compiled.spans([t.lower for t in doc], doc_flags(doc)))
        assert got == {(s, e) for _, s, e in reference(doc)}, text
    assert all(len(row) <= 2 for row in compiled._moves)


def test_a_star_run_costs_linear_work() -> None:
    # "une une une ... photo sinon": a "*" step whose words can also start a match; the
    # automaton remembers what follows each (position, state): states visited grow
    # linearly with the run (counted, not timed).
    pattern = [{"LOWER": "une"}, {"LOWER": "une", "OP": "*"}, {"LOWER": "photo"}]
    compiled = compile_pattern(pattern)
    assert compiled is not None
    nlp = blank("fr")
    visited = []
    for n in (100, 400):
        doc = nlp.make_doc("une " * n + "photo")
        calls = 0
        real = compiled._move

        def counting(*args: Any, _real: Any = real) -> int:
            nonlocal calls
            calls += 1
            return int(_real(*args))

        compiled._move = counting  # type: ignore[method-assign]
        compiled._moves = [{} for _ in compiled._moves]
        spans = compiled.spans([t.lower for t in doc], doc_flags(doc))
        compiled._move = real  # type: ignore[method-assign]
        assert len(spans) == n
        visited.append(calls)
    assert visited[1] <= 4 * visited[0] + 8


# -- the spaCy component is the path ---------------------------------------------------

@pytest.fixture(scope="module")
def pipelines() -> dict[str, Any]:
    out = {}
    for lang in LANGS:
        nlp = spacy.blank(lang)
        nlp.add_pipe("sextortion_signals")
        out[lang] = nlp
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_component_spans_are_the_hits_of_its_language(pipelines: dict[str, Any],
                                                      lang: str) -> None:
    nlp = pipelines[lang]
    texts = [*generated(lang)[:300], *ADVERSARIAL]
    for text, doc in zip(texts, nlp.pipe(texts), strict=True):
        expected = pack_hits(lang, text)
        spans = doc.spans[SPAN_KEY]
        assert len(spans) == len(expected), text
        for span, (signal, start, end) in zip(
                spans, sorted(expected, key=lambda h: (h[1], h[2], h[0])), strict=True):
            assert span.label_ == signal
            assert span.start_char <= start < end <= span.end_char  # token-aligned cover
        assert doc.text == text


@pytest.mark.slow
def test_component_round_trips_through_disk(pipelines: dict[str, Any], tmp_path: Path) -> None:
    nlp = pipelines["en"]
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    text = "i have your pics. pay 50$ in steam cards or everyone sees them"
    doc, expected = loaded(text), nlp(text)
    assert [(s.label_, s.start_char) for s in doc.spans[SPAN_KEY]] == \
        [(s.label_, s.start_char) for s in expected.spans[SPAN_KEY]]
    assert len(doc.spans[SPAN_KEY]) >= 4
    assert loaded.get_pipe("sextortion_signals").rules == \
        nlp.get_pipe("sextortion_signals").rules


def test_component_is_configured_through_spacy_config() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sextortion_signals", config={"max_hits_per_signal": 1})
    doc = nlp('he said "pay" and she said "now" and "ok"')
    assert sum(s.label_ == "reported_speech" for s in doc.spans[SPAN_KEY]) == 1
    assert nlp.config["components"]["sextortion_signals"]["max_hits_per_signal"] == 1


def test_component_serves_the_language_it_is_given() -> None:
    component = SignalComponent(None, lang="fr")
    assert [m.signal for m in component.find("t'as quel âge ?")] == ["age_probe"]


def test_eight_threads_find_what_one_thread_finds() -> None:
    texts = list(generated("en")[:200]) + list(generated("fr")[:200])
    expected = extract_signals_many(texts)
    results: list[Any] = [None] * 8
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        barrier.wait()
        results[k] = extract_signals_many(texts[k:] + texts[:k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, got in enumerate(results):
        assert got == expected[k:] + expected[:k]


def _child_scores() -> None:
    import sys

    # Words never seen before: the screen and the tokenizer take their locks to cache them.
    result = ss.score("zorblax quintessa, pay 100$ or i post your pics to your family")
    hits = {h.name for h in result.signals}
    sys.exit(0 if {"payment_demand", "threat_to_share"} <= hits else 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_scores_even_if_a_lock_was_held_at_fork() -> None:
    import multiprocessing

    scorer = ss.Scorer()  # the default analyzer, shared with ss.score
    scorer.score("warm up")
    held = [scorer.analyzer.screen._lock, *(c._lock for c in scorer.analyzer.components.values())]
    for lock in held:  # as if other threads were inside these caches when the process forked
        lock.acquire()
    try:
        child = multiprocessing.get_context("fork").Process(target=_child_scores)
        child.start()
        child.join(300)  # a hang fails the test instead of stalling the suite
        hung = child.is_alive()
        if hung:
            child.kill()
    finally:
        for lock in held:
            lock.release()
    assert not hung and child.exitcode == 0
