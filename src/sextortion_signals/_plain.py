"""Plain-data helper shared by the result dataclasses."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def flat_dict(obj: Any) -> dict[str, Any]:
    """Shallow ``dataclasses.asdict`` for flat dataclasses: the same dict, ~10x faster
    (``asdict`` deep-copies every value, which dominated CLI output time)."""
    return {name: getattr(obj, name) for name in _names(type(obj))}
