from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "datasets" / "examples" / "conversations.jsonl"


def signal_cases(lang: str) -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = json.loads(
        (DATA / "signal_cases" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def cases() -> dict[str, Any]:
    return {lang: signal_cases(lang) for lang in ("en", "fr")}


OPTIONAL = ("pandas", "dask", "distributed", "fastapi", "httpx", "playwright", "matplotlib",
            "nbclient")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI (``SEXTORTION_SIGNALS_REQUIRE_ALL=1``) every test must run: a missing
    optional dependency or browser fails the run instead of skipping tests quietly."""
    import importlib.util
    import os
    import shutil

    if os.environ.get("SEXTORTION_SIGNALS_REQUIRE_ALL") != "1":
        return
    missing = [m for m in OPTIONAL if importlib.util.find_spec(m) is None]
    if not shutil.which("chromium"):
        missing.append("chromium (Debian package)")
    if missing:
        raise pytest.UsageError(f"CI runs every test, but these are missing: {missing}")
