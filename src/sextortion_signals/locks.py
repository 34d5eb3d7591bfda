"""Locks that a forked child gets afresh.

A lock another thread holds when the process forks stays held forever in the child, which
would then hang on its first score. Every object that guards its caches with a lock takes
it from ``owned_lock``; after a fork, the child gives each such object a new lock (the
caches themselves are consistent: they are replaced, never left half-written).
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

# By id: an owner may be unhashable (a dict subclass).
_OWNERS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_OWNERS_LOCK = threading.Lock()


def owned_lock(owner: Any) -> threading.Lock:
    """A new lock for ``owner._lock``; a forked child's copy of ``owner`` gets another."""
    with _OWNERS_LOCK:
        _OWNERS[id(owner)] = owner
    return threading.Lock()


def _after_fork_in_child() -> None:
    global _OWNERS_LOCK
    _OWNERS_LOCK = threading.Lock()
    for owner in list(_OWNERS.values()):
        owner._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
