"""A long-running service reads endless new words (typos, links, hashes): past a budget a
component starts a fresh tokenizer and matcher, without changing any result, and threads
scoring at once get the results they would get alone."""

from __future__ import annotations

import random
import string
import sys
import threading

import pytest

import sextortion_signals as ss
from sextortion_signals.match import component
from sextortion_signals.match.analyze import default_analyzer


def _texts(seed: int, n: int = 60) -> list[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 11)))

    fixed = ["send me 150$ now or i post your pics", "j'ai tes photos, paye ce soir",
             "are you home alone? dont tell your mom", "t'as quel âge ? tu es en 4e ?"]
    # New words in messages the prefilter lets through (so that they are tokenized).
    return [f"{fixed[i % len(fixed)]} {word()} {word()}" for i in range(n)]


def test_a_full_vocab_starts_afresh_and_results_do_not_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = ss.Scorer()
    texts = _texts(1)
    expected = [r.to_dict() for r in scorer.score_many(texts)]
    en = default_analyzer().components["en"]
    before = en.engine()
    monkeypatch.setattr(component, "MAX_LEXEMES", len(before.nlp.vocab) + 1)
    assert [r.to_dict() for r in scorer.score_many(_texts(2))]  # fills the vocab
    assert [r.to_dict() for r in scorer.score_many(texts)] == expected
    after = en.engine()
    assert after is not before  # a fresh engine...
    assert len(after.nlp.vocab) < len(before.nlp.vocab) + 200  # ...with a small vocab
    assert after.matcher.prefilter is before.matcher.prefilter  # the prefilter is kept


def test_threads_scoring_at_once_get_the_results_they_get_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(component, "MAX_LEXEMES", 0)  # a fresh engine on every batch
    scorer = ss.Scorer()
    batches = [_texts(10 + k, 40) for k in range(4)]
    expected = [[r.to_dict() for r in scorer.score_many(b)] for b in batches]
    got: list[list[dict[str, object]] | None] = [None] * len(batches)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(2):
                got[k] = [r.to_dict() for r in scorer.score_many(batches[k], batch_size=7)]
        except BaseException as err:  # reported below, with the thread's result
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns inside each other's batches
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors
    assert got == expected
