"""The authored corpus: writers split apart, the test writers never trained or tuned on,
the content rule kept, and no near-copy across splits. (Reads the test split by code
only: nothing here prints its text.)"""

from __future__ import annotations

import json

import pytest

from sextortion_signals.model import default_model
from sextortion_signals.rules.registry import available
from sextortion_signals.synth import authored

from .conftest import ROOT

AUTHORED = ROOT / "datasets" / "authored"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(authored.read(AUTHORED))


def test_every_pass_is_in_exactly_one_split_with_its_brief() -> None:
    splits = authored.read_splits(AUTHORED)
    seen = [a for names in splits.values() for a in names]
    assert len(seen) == len(set(seen)) == 32
    folders = {p.name for p in AUTHORED.iterdir() if p.is_dir()}
    assert folders == set(seen)
    for author in seen:
        assert (AUTHORED / author / authored.BRIEF).read_text(encoding="utf-8").strip()


def test_rows_carry_their_author_split_and_consistent_labels(rows: list[dict]) -> None:
    split_of = {a: s for s, names in authored.read_splits(AUTHORED).items() for a in names}
    tactics = {s.name for s in available()}
    for row in rows:
        assert row["split"] == split_of[row["author"]]
        assert row["labels"] == authored.labels_of(row["category"])
        assert len(row["tags"]) == len(row["messages"])
        assert {t for tags in row["tags"] for t in tags} <= tactics, row["id"]
    assert len({r["id"] for r in rows}) == len(rows)


def test_no_text_breaks_the_content_rule(rows: list[dict]) -> None:
    texts = [m["text"] for r in rows for m in r["messages"]]
    assert len(texts) > 40_000
    assert authored.content_hits(texts) == []


def test_content_rule_scan_catches_a_term() -> None:
    term = authored.explicit_terms()[0]
    assert authored.content_hits(["fine", f"x {term.upper()} y"]) == [(1, term)]


@pytest.mark.slow
def test_no_near_duplicate_across_splits(rows: list[dict]) -> None:
    assert authored.near_duplicates(rows) == []


def test_shipped_model_never_trained_or_tuned_on_test_writers() -> None:
    splits = authored.read_splits(AUTHORED)
    training = default_model().training
    assert set(training["train_authors"]) == set(splits["train"])
    assert set(training["valid_authors"]) == set(splits["validation"])
    assert not set(training["train_authors"]) & set(splits["test"])


def test_splits_file_is_what_assemble_writes() -> None:
    raw = json.loads((AUTHORED / authored.SPLITS_FILE).read_text(encoding="utf-8"))
    assert set(raw) == set(authored.SPLITS)
