"""Bounded stores: emptied when full, long text keys never kept."""

from __future__ import annotations

from sextortion_signals._store import MAX_TEXT_KEY, keep, keep_text


def test_a_full_store_is_emptied_before_the_next_record() -> None:
    store: dict[int, str] = {}
    for k in range(3):
        assert keep(store, k, str(k), 3) == str(k)
    assert store == {0: "0", 1: "1", 2: "2"}
    keep(store, 9, "9", 3)
    assert store == {9: "9"}


def test_long_text_keys_are_returned_but_never_kept() -> None:
    store: dict[str, int] = {}
    assert keep_text(store, "x" * MAX_TEXT_KEY, 1, 10) == 1
    assert keep_text(store, "x" * (MAX_TEXT_KEY + 1), 2, 10) == 2
    assert store == {"x" * MAX_TEXT_KEY: 1}
