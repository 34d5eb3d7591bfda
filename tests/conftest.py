from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def signal_cases(lang: str) -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = json.loads(
        (DATA / "signal_cases" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def cases() -> dict[str, Any]:
    return {lang: signal_cases(lang) for lang in ("en", "fr")}
