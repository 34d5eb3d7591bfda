"""The scoring hot path takes shortcuts; each must give exactly what the plain
implementation it replaces gives."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from spacy.tokens import Span
from spacy.util import filter_spans

import sextortion_signals as ss
from sextortion_signals import indicators, lang, normalize
from sextortion_signals.messages import coerce_conversation
from sextortion_signals.scoring import featurize_many, flag
from sextortion_signals.signals.pipe import (
    SPAN_KEY,
    SignalMatcher,
    _is_required,
    _longest_first,
    build_nlp,
    signal_matcher,
)
from sextortion_signals.signals.registry import Rule

_SPANS = st.lists(st.tuples(st.integers(0, 12), st.integers(1, 5), st.sampled_from("abc")),
                  max_size=12)


@given(_SPANS)
@settings(max_examples=300, deadline=None)
def test_longest_first_is_spacys_filter_spans(raw: list[tuple[int, int, str]]) -> None:
    doc = build_nlp("en").make_doc(" ".join(["w"] * 20))
    group = [(start, start + length, rule) for start, length, rule in raw]
    spans = [Span(doc, s, e, label=r) for s, e, r in group]
    expected = [(s.start, s.end, s.label_) for s in filter_spans(spans)]
    assert (_longest_first(group) if group else []) == expected


@pytest.mark.parametrize("text", ["answer now or else", "send me a pic or i post it",
                                  "t'as quel âge ? envoie une photo", "hello there"])
def test_find_and_the_spacy_component_agree(text: str) -> None:
    nlp = build_nlp("fr" if "âge" in text else "en")
    found = signal_matcher(nlp).find(nlp.make_doc(text))
    doc = nlp(text)
    assert bool(found) == ("hello" not in text)  # three texts fire, one does not
    assert [(m.signal, m.rule_id, m.start_char, m.end_char) for m in found] == [
        (s.label_, s.id_, s.start_char, s.end_char) for s in doc.spans[SPAN_KEY]]


def _reference_fold(text: str) -> str:
    return "".join(normalize._fold_char(ch) for ch in text)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_fold_table_equals_per_character_fold(text: str) -> None:
    folded, starts, _ = normalize._fold(text)
    expected = _reference_fold(text) if not text.isascii() else folded
    assert folded == expected
    if starts is None:  # claimed aligned: must really be one to one
        assert len(folded) == len(text)


def test_fold_table_stays_correct_when_it_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    # A clear in the middle of a translate must not make a text with a zero-width
    # character look aligned.
    table = normalize._FoldTable()
    monkeypatch.setattr(normalize, "_FOLD", table)
    monkeypatch.setattr(normalize._FoldTable, "MAX_SIZE", 3)
    text = "s\u200bé\u00e0\u00e8nd"
    folded, starts, _ = normalize._fold(text)
    assert folded == _reference_fold(text)
    assert starts is not None and len(starts) == len(folded)


def _reference_detect(text: str) -> str | None:
    lists = lang.word_lists()
    counts = dict.fromkeys(lists, 0)
    for token in lang.TOKEN.findall(text):
        for code, words in lists.items():
            if token in words or token.rstrip("'") in words:
                counts[code] += 1
    ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    best, hits = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0
    return best if hits >= lang.MIN_HITS and hits >= lang.MARGIN * runner and hits > runner \
        else None


@given(st.lists(st.sampled_from(["j'", "ai", "the", "you", "tu", "l'", "c'est", "qu'", "and",
                                 "d'", "xyz", "n'", "est", "is"]), max_size=8))
@settings(max_examples=300, deadline=None)
def test_detect_equals_the_per_language_count(words: list[str]) -> None:
    text = " ".join(words)
    assert lang.detect(text) == _reference_detect(text)


def test_flag_rows() -> None:
    thresholds = [("grooming", 0.5, 0.2), ("sextortion", 0.6, 0.3)]
    P = np.array([[0.1, 0.1], [0.25, 0.1], [0.1, 0.7], [0.5, 0.6], [0.19, 0.29]])
    assert flag(thresholds, P) == [((), "low"), ((), "medium"), (("sextortion",), "high"),
                                   (("grooming", "sextortion"), "high"), ((), "low")]


def test_transform_many_rows_equal_transform_one() -> None:
    scorer = ss.Scorer()
    convs = [["hello"], ["send 150$ now or i post it"],
             [{"text": "hi", "sender": "a", "timestamp": 1}, {"text": "hey", "timestamp": 5}],
             ["quel âge as-tu ?", "envoie une photo"]]
    items = featurize_many([coerce_conversation(c) for c in convs])
    X = scorer.vectorize(items)
    for row, item in enumerate(items):
        one = scorer.vectorizer.transform_one(item.conversation, item.analyses,
                                              item.indicators)
        assert X[row].tolist() == one.tolist()
    assert X[0].sum() == 0 and X[2].sum() > 0  # timestamps alone give burst features


def _general_row(vectorizer: Any, item: Any) -> list[float]:
    # The row computed without the single-message memo: every feature from ``_values``.
    X = np.zeros((1, len(vectorizer.feature_names)))
    vectorizer._place(X, 0, vectorizer._values(item.conversation, item.analyses,
                                               item.indicators, len(item.analyses)))
    return X[0].tolist()


def test_single_message_rows_are_the_general_rows() -> None:
    from sextortion_signals.synth import generate

    texts = [m["text"] for row in generate(120, seed=21) for m in row["messages"]]
    texts += ["i am 14 and he says send 150$ now or he posts it", "je suis en 4e"]
    scorer = ss.Scorer()
    # The same texts with and without a sender, and timed, in one batch: all share the
    # memo (timed messages must not take the shortcuts: bursts count them).
    items = featurize_many([coerce_conversation([{"text": t, "sender": sender,
                                                   "timestamp": stamp}])
                            for sender, stamp in ((None, None), ("them", None), ("them", 9))
                            for t in texts])
    X = scorer.vectorize(items)  # fills the memo ...
    X_again = scorer.vectorize(items)  # ... and reads it
    rows = []
    for row, item in enumerate(items):
        expected = _general_row(scorer.vectorizer, item)
        assert X[row].tolist() == expected and X_again[row].tolist() == expected, row
        rows.append(expected)
    assert sum(map(any, rows)) > 200 and scorer.vectorizer._single_rows
    # Whether the sender is known changes a feature: the memo must tell the two apart.
    assert rows[len(texts) - 2] != rows[2 * len(texts) - 2]
    assert all(any(row) for row in rows[2 * len(texts):])


def test_single_message_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals import features

    monkeypatch.setattr(features, "_MAX_SINGLE_ROWS", 2)
    scorer = ss.Scorer()
    texts = ["send 150$ now", "or i post it", "snap me", "don't tell your parents",
             "send 150$ now"]
    items = featurize_many([coerce_conversation(t) for t in texts])
    X = scorer.vectorize(items)
    assert len(scorer.vectorizer._single_rows) <= 2
    for row, item in enumerate(items):
        assert X[row].tolist() == _general_row(scorer.vectorizer, item)


@pytest.mark.parametrize("lang_code", ["en", "fr"])
def test_find_equals_nlp_pipe_spans_on_generated_messages(lang_code: str) -> None:
    from sextortion_signals.synth import GenerationConfig, generate

    texts = [normalize.normalize(m["text"]).text
             for row in generate(150, seed=3, config=GenerationConfig(langs=(lang_code,)))
             for m in row["messages"]]
    nlp = build_nlp(lang_code)
    matcher = signal_matcher(nlp)
    fired = 0
    for doc in nlp.pipe(texts):
        found = matcher.find(nlp.make_doc(doc.text))
        fired += bool(found)
        assert [(m.signal, m.rule_id, m.start_char, m.end_char) for m in found] == [
            (s.label_, s.id_, s.start_char, s.end_char) for s in doc.spans[SPAN_KEY]]
    assert fired > 100  # the comparison covered many real hits


# Lexicon words, look-alikes that re.IGNORECASE equates with ASCII letters ("İ", "ı", "ſ",
# Kelvin sign), accents, digits and separators: the indicator lexicon shortcut must not
# change what the regexes find.
_INDICATOR_PIECES = ["snap", "SNAPCHAT", "İnsta", "ınsta", "ſnap", "\u212aik", "kik", "ce",
                     "soir", "CE SOIR", "gift", "card", "carte", "cadeau", "paypal", "x.com",
                     "v-bucks", "fin de journée", "journee", "immédiatement", "tout de suite",
                     "d'ici demain", "aujourd'hui", "right now", "😂", "é", "_", "-", "@",
                     "10", "min", "$", "€"]


# Indicator pieces joined by separators and whitespace of every kind.
_INDICATOR_TEXTS = st.tuples(
    st.lists(st.sampled_from(_INDICATOR_PIECES), max_size=8),
    st.lists(st.sampled_from([" ", "", ", ", "!", "\n", "\t", "\u00a0", "\u2003"]),
             min_size=8, max_size=8),
).map(lambda ps: "".join(p + s for p, s in zip(*ps, strict=False)))


def _indicators_without_shortcut(text: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    # Every gate open: lexicons and characters, whatever the chunks' kept bits say.
    with monkeypatch.context() as m:
        m.setattr(indicators, "_gates", lambda text, c: indicators._ALL_GATES)
        return indicators.find_indicators(text)


@given(_INDICATOR_TEXTS)
@settings(max_examples=400, deadline=None)
def test_indicator_lexicon_shortcut_finds_what_the_regexes_find(
        text: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        assert indicators.find_indicators(text) == _indicators_without_shortcut(text, mp)


@given(_INDICATOR_TEXTS)
@settings(max_examples=300, deadline=None)
def test_a_texts_indicator_gates_are_its_chunks_gates_together(
        text: str) -> None:
    # What lets the scan keep gate bits per chunk (``scan.py``).
    together = 0
    for chunk in text.split():
        together |= indicators.chunk_gates(chunk)
    assert together == indicators._gates(text, indicators._compiled())


def test_indicator_lexicon_shortcut_skips_and_still_finds() -> None:
    c = indicators._compiled()
    assert indicators._lexicons_in("see you at school", c) == 0  # no regex runs
    assert indicators._lexicons_in("add me on snap", c) == indicators._PLATFORMS
    assert indicators._lexicons_in("bonsoir snapchats", c) == 0  # only inside longer runs
    assert indicators._lexicons_in("a snap_", c) == indicators._PLATFORMS  # "_" is no letter
    assert indicators._lexicons_in("İnstagram", c) == indicators._ALL_LEXICONS  # 2 chars
    assert indicators._lexicons_in("ınsta", c) == indicators._ALL_LEXICONS  # ı is i
    assert [(i.kind, i.text) for i in indicators.find_indicators("add me on ſnap ce soir")
            ] == [("platform", "ſnap"), ("deadline", "ce soir")]


@pytest.mark.parametrize(("op", "required"), [(None, True), ("+", True), ("{2}", True),
                                              ("{1,3}", True), ("?", False), ("*", False),
                                              ("!", False), ("{0,2}", False),
                                              ("{,2}", False)])
def test_which_pattern_tokens_are_required(op: str | None, required: bool) -> None:
    token: dict[str, Any] = {"LOWER": "x"} if op is None else {"LOWER": "x", "OP": op}
    assert _is_required(token) is required


def test_a_negated_token_does_not_gate_its_rule() -> None:
    # "pay" not followed by "back": the rule must run on docs without the word "back".
    rule = Rule("payment_demand/en/test", "payment_demand", "en", (),
                ({"LOWER": "pay"}, {"LOWER": "back", "OP": "!"}), (), (), (), "test")
    nlp = build_nlp("en")
    matcher = SignalMatcher(nlp, "test_matcher", rules=[rule])
    assert [m.rule_id for m in matcher.find(nlp.make_doc("pay me"))] == [rule.id]
    assert matcher.find(nlp.make_doc("pay back")) == []


@pytest.mark.parametrize("enabled", [True, False])
def test_score_many_pauses_the_collector_and_restores_it(enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        ss.Scorer().score_many(["pay now or i post it", "hello"])
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_validated_conversations_are_freed_before_the_collector_resumes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The first young collection after the pause traverses whatever the pause left alive:
    # the results must be all (the caller keeps them), not the validated conversations.
    from sextortion_signals import scoring
    from sextortion_signals.messages import Conversation

    alive_at_resume: list[int] = []

    class _Collector:
        isenabled, disable = staticmethod(gc.isenabled), staticmethod(gc.disable)

        @staticmethod
        def enable() -> None:
            alive_at_resume.append(sum(isinstance(o, Conversation) for o in gc.get_objects()))
            gc.enable()

    monkeypatch.setattr(scoring, "gc", _Collector)
    before = sum(isinstance(o, Conversation) for o in gc.get_objects())
    results = ss.Scorer().score_many([f"message {i}" for i in range(300)], batch_size=64)
    assert len(results) == 300 and alive_at_resume
    assert alive_at_resume[-1] - before < 10


def test_worker_batches_are_extracted_with_the_collector_paused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals import scoring

    seen: list[bool] = []
    real = scoring.extract

    def spy(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(scoring, "extract", spy)
    gc.enable()
    scorer = ss.Scorer()
    rows, evidence = scoring._extract_chunk(scorer.model.feature_names, scorer.limits,
                                            ["pay 150$ now or i post it", "hello"])
    assert seen == [False] and gc.isenabled()
    assert rows.shape[0] == 2 and evidence[0][0]


def test_scoring_creates_no_reference_cycles() -> None:
    # Pausing the collector is only free if scoring leaves no cyclic garbage behind.
    scorer = ss.Scorer()
    convs = [["send 150$ now or i post it", "t'as quel âge ?"], ["hello"],
             [{"text": "pay", "sender": "a", "timestamp": 1}]] * 20
    scorer.score_many(convs)
    gc.collect()
    gc.disable()
    try:
        results = scorer.score_many(convs)
        for r in results:
            r.to_dict()
        del results
        assert gc.collect() == 0
    finally:
        gc.enable()


def _same_as_without_prefilter(prefilter: str, run: Callable[[str], Any], text: str) -> None:
    """``run(text)`` gives what it gives when the prefilter (``normalize._steps_needed``,
    which says which steps may change a text) says that every step may."""
    expected = run(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(normalize, prefilter, lambda _text: normalize._ALL_STEPS)
        assert run(text) == expected


@given(st.text(alphabet="abiuxyzw .-_*0\n", max_size=40))
@settings(max_examples=400, deadline=None)
@example("got a parking fine").via("three single-looking letters, the first inside a word")
@example("d.o.n.t t e l l").via("two spaced runs")
@example("x a b c1").via("a run followed by a digit")
def test_deletion_steps_are_never_skipped_when_needed(text: str) -> None:
    assert (normalize._deletions(text, normalize._steps_needed(text))
            == normalize._deletions(text, normalize._ALL_STEPS))


@given(st.text(alphabet="abcdeost 0123457$@.,-", max_size=40))
@settings(max_examples=400, deadline=None)
@example("pay 500 now, 5 min").via("digits, none next to a letter")
@example("s3nd 10min @me $ 4r3").via("l33t, units and handles")
@example("h3ee").via("a l33t edit that makes a letter three times")
def test_leet_step_is_never_skipped_when_needed(text: str) -> None:
    _same_as_without_prefilter("_steps_needed", normalize.normalize, text)


@given(st.text(alphabet="abceiostuwxyz .-_*0123456789$@\n\x00éЕ\u200b", max_size=90))
@settings(max_examples=400, deadline=None)
@example("w" * 70).via("a run longer than the tokenizer's limit")
@example("s3nd it").via("l33t")
@example("s7op").via("l33t with a digit the alphabet draws rarely")
@example("pleeease").via("a letter three times")
@example("d_o_n_t tell").via("a spaced run")
@example(" ".join("abcdefghijklmnopqrstuvwxyz" * 3)).via("spaced letters joined into a long run")
def test_no_step_is_skipped_when_needed(text: str) -> None:
    _same_as_without_prefilter("_steps_needed", normalize.normalize, text)


def test_ascii_control_characters_still_become_spaces() -> None:
    assert normalize.normalize("pay\x00now\x1b!").text == "pay now !"
    assert normalize.normalize("tab\tand\nline").text == "tab\tand\nline"


def test_messages_the_gate_rules_out_are_never_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    from sextortion_signals.signals.pipe import build_nlp, signal_matcher

    seen: list[str] = []
    for pack in ("en", "fr"):
        matcher = signal_matcher(build_nlp(pack))
        monkeypatch.setattr(matcher, "find", lambda doc, units=None, find=matcher.find:
                            seen.append(doc.text) or find(doc, units))
    results = ss.Scorer().score_many(["the weather is nice today", "à demain",
                                      "qui a gagné le match ?",
                                      "send me 150$ or i post it"])
    assert seen == ["send me 150$ or i post it"]
    assert results[3].signals and not any(r.signals for r in results[:3])


def test_hits_built_slot_by_slot_are_the_dataclass_s_own() -> None:
    import dataclasses

    from sextortion_signals._plain import slot_setters
    from sextortion_signals.extract import SignalHit, _hit

    values = ("threat_to_share", "sextortion", 3, 10, 14, "post", "en", "threat/en/1")
    built, made = SignalHit(*values), _hit(*values)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert type(made) is SignalHit and made.to_dict() == built.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.start = 0  # type: ignore[misc]
    hits = ss.extract_signals("i have your photos, pay 150$ or i post them")
    assert hits and all(type(h) is SignalHit for h in hits)
    # A field added to the dataclass stops the import until the constructor is updated.
    with pytest.raises(RuntimeError, match="fields changed"):
        slot_setters(SignalHit, ("name", "category"))
