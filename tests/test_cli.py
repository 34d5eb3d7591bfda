"""End-to-end CLI runs (marked slow where they train or build)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sextortion_signals.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "datasets" / "examples" / "conversations.jsonl"


def test_score_file_to_file(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(EXAMPLES), "-o", str(out), "--no-progress"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == len(EXAMPLES.read_text().splitlines())
    by_id = {r["id"]: r for r in rows}
    assert by_id["ex-sextortion-en"]["labels"] == ["sextortion"]
    assert by_id["ex-benign-joke"]["labels"] == []
    assert main(["score", str(EXAMPLES), "-o", str(out)]) == 2  # exists, no --force
    assert all(r["contributions"] for r in rows)
    lean = tmp_path / "lean.jsonl"
    assert main(["score", str(EXAMPLES), "-o", str(lean), "--no-contributions"]) == 0
    lean_rows = [json.loads(x) for x in lean.read_text().splitlines()]
    assert lean_rows == [{k: v for k, v in r.items() if k != "contributions"} for r in rows]


def test_bad_lines_are_reported_and_skipped(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('"hello"\n{not json\n{"messages": [{"txt": 1}]}\n["pay 50$ now"]\n')
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err
    assert [json.loads(x)["line"] for x in out.read_text().splitlines()] == [1, 4]
    assert main(["score", str(src), "-o", str(tmp_path / "o2.jsonl"), "--strict"]) == 2
    assert "line 2" in capsys.readouterr().err


def test_stdin_to_stdout() -> None:
    proc = subprocess.run([sys.executable, "-m", "sextortion_signals.cli", "score"],
                          input='{"text": "how old are you"}\n', capture_output=True,
                          text=True, check=True)
    row = json.loads(proc.stdout)
    assert row["signals"][0]["name"] == "age_probe"


def test_explain_prints_levels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "ex-grooming-en" in out and "Risk level: HIGH" in out


def test_generate_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for p in (a, b):
        assert main(["generate", "--n", "40", "--seed", "5", "-o", str(p)]) == 0
    assert a.read_bytes() == b.read_bytes() and len(a.read_text().splitlines()) == 40
    assert main(["generate", "--lang", "xx", "-o", str(tmp_path / "c.jsonl")]) == 2


def test_training_data_errors_name_the_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("conversation_id,text,grooming,sextortion\nc1,hi,0,0\nc1,yo,0,maybe\n")
    assert main(["train", str(bad), "-o", str(tmp_path / "m")]) == 2
    assert "bad.csv:3" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"text": "x"}], "labels": {"grooming": 0}}\n{oops\n')
    assert main(["train", str(bad), "-o", str(tmp_path / "m")]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


@pytest.mark.slow
def test_train_then_evaluate_own_data(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "train.jsonl"
    assert main(["generate", "--n", "600", "--seed", "11", "-o", str(data)]) == 0
    model_dir = tmp_path / "model"
    assert main(["train", str(data), "-o", str(model_dir), "--no-progress"]) == 0
    assert main(["evaluate", str(model_dir), str(data), "--json",
                 str(tmp_path / "report.json"), "--no-progress"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())[str(data)]
    s = report["labels"]["sextortion"]
    assert s["pr_auc"] > 0.9 and "early_warning" in s and "by_category" in s
    assert "pr_auc=" in capsys.readouterr().out
    # CSV: one message per row.
    csv = tmp_path / "own.csv"
    rows = ["conversation_id,sender,timestamp,text,grooming,sextortion"]
    for i, line in enumerate(data.read_text().splitlines()[:300]):
        conv = json.loads(line)
        for m in conv["messages"]:
            text = m["text"].replace('"', "'")
            rows.append(f'{i},{m["sender"]},{m["timestamp"] or ""},"{text}",'
                        f'{conv["labels"]["grooming"]},{conv["labels"]["sextortion"]}')
    csv.write_text("\n".join(rows) + "\n")
    assert main(["train", str(csv), "-o", str(tmp_path / "m2"), "--no-progress"]) == 0


@pytest.mark.slow
def test_same_seed_same_model(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    main(["generate", "--n", "300", "--seed", "3", "-o", str(data)])
    for name in ("a", "b"):
        assert main(["train", str(data), "-o", str(tmp_path / name), "--no-progress"]) == 0
    a = json.loads((tmp_path / "a" / "model.json").read_text())
    b = json.loads((tmp_path / "b" / "model.json").read_text())
    assert a["heads"] == b["heads"]


@pytest.mark.slow
def test_wheel_ships_the_model_and_scores_from_any_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    code = ("import sextortion_signals as ss, pathlib; "
            f"assert str(pathlib.Path(ss.__file__)).startswith({str(site)!r}), ss.__file__; "
            "r = ss.score('send 100$ or i post your pics to your family'); "
            "print(r.labels)")
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    assert "sextortion" in proc.stdout


@pytest.mark.slow
def test_shipped_model_is_reproducible_from_the_corpus(tmp_path: Path) -> None:
    """Rebuild the corpus and retrain with the documented command: same model."""
    from sextortion_signals.synth import build_corpus
    committed = json.loads((ROOT / "datasets" / "MANIFEST.json").read_text())
    build_corpus(tmp_path / "full", n=committed["n"], seed=committed["seed"])
    full = tmp_path / "full"
    assert main(["train", str(full / "train.jsonl"), "--valid", str(full / "valid.jsonl"),
                 "-o", str(tmp_path / "model"), "--seed", "0", "--no-progress"]) == 0
    ours = json.loads((tmp_path / "model" / "model.json").read_text())
    shipped = json.loads((ROOT / "models" / "default" / "model.json").read_text())
    assert ours["training"]["train_sha256"] == shipped["training"]["train_sha256"]
    assert ours["feature_names"] == shipped["feature_names"]
    for label, head in shipped["heads"].items():
        assert ours["heads"][label]["thresholds"] == head["thresholds"]
        assert ours["heads"][label]["coef"] == pytest.approx(head["coef"], abs=1e-9)
