"""Bounded stores: records kept per word, chunk or input for the life of the process.

Each store is a plain dict, read with ``.get`` on a hot path; only a miss calls ``keep``.
A full store is emptied (memory stays bounded whatever the input; the common keys come
back at once), and text keys longer than ``MAX_TEXT_KEY`` are never kept (one long
message must not hold megabytes in a store)."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_TEXT_KEY = 64  # as normalisation's longest run: chat words and chunks fit


def keep(store: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key`` (emptying ``store`` first if it holds ``limit``)."""
    if len(store) >= limit:
        store.clear()
    store[key] = value
    return value


def keep_text(store: dict[str, V], key: str, value: V, limit: int) -> V:
    """``keep``, for a text key of at most ``MAX_TEXT_KEY`` characters; returns ``value``
    either way."""
    if len(key) <= MAX_TEXT_KEY:
        keep(store, key, value, limit)
    return value
