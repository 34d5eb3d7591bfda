"""The README's examples run as pasted, and its first two lines are the set-up commands
CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_examples_run_as_pasted(tmp_path: Path) -> None:
    code = "\n".join(blocks("python"))
    assert code.strip()
    # In a fresh interpreter, from a directory of its own (files it writes land there).
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_first_commands_set_up_and_run_the_main_job_and_the_tests() -> None:
    first = blocks("bash")[0].strip().splitlines()
    assert first[0].startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert "sextortion-signals explain datasets/examples/conversations.jsonl" in first[0]
    assert first[1].endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert first[1] in ci, ".ci/run must run the README's test command as written"


@pytest.mark.parametrize("path", [p for p in re.findall(
    r"`((?:datasets|models|benchmarks|notebooks|src)/[^`\s]*)`", README) if "<" not in p])
def test_paths_the_readme_names_exist(path: str) -> None:
    assert (ROOT / path.split(":")[0]).exists(), path
