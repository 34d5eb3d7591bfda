"""A long-running service reads endless new words (typos, links, hashes): past a budget,
the words a batch teaches spaCy are dropped after it, without changing any result."""

from __future__ import annotations

import random
import string
import sys
import threading

import pytest

import sextortion_signals as ss
from sextortion_signals.signals import pipe
from sextortion_signals.signals.pipe import build_nlp


def _texts(seed: int, n: int = 60) -> list[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 11)))

    fixed = ["send me 150$ now or i post your pics", "j'ai tes photos, paye ce soir",
             "are you home alone? dont tell your mom", "t'as quel âge ? tu es en 4e ?"]
    # New words in messages the gate lets through (so that they are tokenized).
    return [f"{fixed[i % len(fixed)]} {word()} {word()}" for i in range(n)]


def test_words_past_the_budget_are_dropped_and_results_do_not_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = ss.Scorer()
    texts = _texts(1)
    expected = [r.to_dict() for r in scorer.score_many(texts)]
    monkeypatch.setattr(pipe, "MAX_LEXEMES", 0)  # every batch in a memory zone
    assert [r.to_dict() for r in scorer.score_many(texts)] == expected
    strings = {lang: len(build_nlp(lang).vocab.strings) for lang in ("en", "fr")}
    new = _texts(2)
    assert len(scorer.score_many(new)) == len(new)
    assert {lang: len(build_nlp(lang).vocab.strings) for lang in ("en", "fr")} == strings
    # Below the budget, a pipeline still learns the words it reads.
    monkeypatch.setattr(pipe, "MAX_LEXEMES", 10**9)
    scorer.score_many(_texts(3))
    assert len(build_nlp("en").vocab.strings) > strings["en"]


def test_threads_scoring_at_once_past_the_budget_get_the_same_results(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A memory zone frees what any thread made during it: pipelines are used one at a time.
    monkeypatch.setattr(pipe, "MAX_LEXEMES", 0)
    scorer = ss.Scorer()
    batches = [_texts(10 + k, 40) for k in range(4)]
    expected = [[r.to_dict() for r in scorer.score_many(b)] for b in batches]
    got: list[list[dict[str, object]] | None] = [None] * len(batches)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(3):
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
