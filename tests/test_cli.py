"""End-to-end CLI runs (marked slow where they train, build or evaluate a corpus)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sextortion_signals import cli
from sextortion_signals import score as ss_score
from sextortion_signals.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "datasets" / "examples" / "conversations.jsonl"
THREAT = "i have your pics, send 150$ in steam cards or i send them to all your followers"


def rows_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_score_file_to_file(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(EXAMPLES), "-o", str(out), "--no-progress"]) == 0
    rows = rows_of(out)
    assert len(rows) == len(EXAMPLES.read_text().splitlines())
    by_id = {r["id"]: r for r in rows}
    assert by_id["ex-sextortion-en"]["labels"] == ["sextortion"]
    assert by_id["ex-benign-joke"]["labels"] == []
    assert by_id["ex-sextortion-en"]["guidance"]["locale"].startswith("en")
    assert by_id["ex-sextortion-fr"]["guidance"]["locale"].startswith("fr")
    assert main(["score", str(EXAMPLES), "-o", str(out)]) == 2  # exists, no --force
    assert all(r["contributions"] for r in rows)
    lean = tmp_path / "lean.jsonl"
    assert main(["score", str(EXAMPLES), "-o", str(lean), "--no-contributions"]) == 0
    assert rows_of(lean) == [{k: v for k, v in r.items() if k != "contributions"}
                             for r in rows]


def test_metadata_is_passed_through(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "c1", "platform": "chat", "messages": [{"text": "hi"}]})
                   + "\n" + json.dumps({"id": 9, "text": "hey", "room": 4}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == 0
    a, b = rows_of(out)
    assert (a["id"], a["metadata"]) == ("c1", {"platform": "chat"})
    assert (b["id"], b["metadata"]) == (9, {"room": 4})


def test_bad_lines_are_named_skipped_and_set_the_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('"hello"\n{not json\n{"messages": [{"txt": 1}]}\n["pay 50$ now"]\n')
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == cli.EXIT_SKIPPED
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err and "'text'" in err
    assert [r["line"] for r in rows_of(out)] == [1, 4]
    assert main(["score", str(src), "-o", str(tmp_path / "o1.jsonl"), "--max-bad", "2"]) == 0
    # --strict stops at the first bad line, after writing the lines before it.
    strict = tmp_path / "o2.jsonl"
    assert main(["score", str(src), "-o", str(strict), "--strict"]) == cli.EXIT_BAD_INPUT
    assert "line 2" in capsys.readouterr().err
    assert [r["line"] for r in rows_of(strict)] == [1]


def test_plain_text_lines_get_a_hint_and_work_with_format_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.txt"
    src.write_text("how old are you\nsend 100$ now\n")
    assert main(["score", str(src), "-o", str(tmp_path / "a.jsonl")]) == cli.EXIT_SKIPPED
    assert "--format text" in capsys.readouterr().err
    out = tmp_path / "b.jsonl"
    assert main(["score", str(src), "-o", str(out), "--format", "text"]) == 0
    assert rows_of(out)[0]["signals"][0]["name"] == "age_probe"


def test_encodings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = json.dumps({"id": "é", "text": "t'as quel âge"}, ensure_ascii=False) + "\n"
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + line.encode())
    assert main(["score", str(bom), "-o", str(tmp_path / "1.jsonl")]) == 0
    assert rows_of(tmp_path / "1.jsonl")[0]["id"] == "é"
    utf16 = tmp_path / "u16.jsonl"
    utf16.write_bytes(line.encode("utf-16"))
    assert main(["score", str(utf16), "-o", str(tmp_path / "2.jsonl")]) == cli.EXIT_BAD_INPUT
    assert "utf-16" in capsys.readouterr().err
    assert main(["score", str(utf16), "-o", str(tmp_path / "2b.jsonl"), "--encoding",
                 "utf-16"]) == 0
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(line.encode("latin-1"))
    assert main(["score", str(latin), "-o", str(tmp_path / "3.jsonl")]) == cli.EXIT_BAD_INPUT
    assert "--encoding" in capsys.readouterr().err
    assert main(["score", str(latin), "-o", str(tmp_path / "3b.jsonl"), "--encoding",
                 "latin-1"]) == 0
    assert rows_of(tmp_path / "3b.jsonl")[0]["signals"][0]["name"] == "age_probe"


def test_over_long_lines_are_skipped_not_read_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "MAX_LINE_BYTES", 100)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "hi"}\n' + json.dumps({"text": "x" * 1000}) + '\n{"text": "yo"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--max-bad", "1"]) == 0
    assert [r["line"] for r in rows_of(out)] == [1, 3]
    assert "line 2: longer than 100 bytes" in capsys.readouterr().err


def test_output_mistakes_are_refused(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "hi"}\n')
    before = src.read_bytes()
    assert main(["score", str(src), "-o", str(src), "--force"]) == cli.EXIT_BAD_INPUT
    assert "also the input" in capsys.readouterr().err and src.read_bytes() == before
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["score", str(src), "-o", str(blocker / "out.jsonl")]) == cli.EXIT_BAD_INPUT
    assert "cannot write" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "missing.jsonl")]) == cli.EXIT_BAD_INPUT
    assert "no such input file" in capsys.readouterr().err


def test_lone_surrogates_in_ids_still_give_valid_json(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a\\udc80b", "text": "hi \\ud800 there"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == 0
    (row,) = rows_of(out)
    assert row["id"] == "a\udc80b"


def test_stdin_to_stdout_and_exit_code_in_a_pipe() -> None:
    proc = subprocess.run([sys.executable, "-m", "sextortion_signals.cli", "score"],
                          input='{"text": "how old are you"}\n{oops\n', capture_output=True,
                          text=True)
    assert proc.returncode == cli.EXIT_SKIPPED
    row = json.loads(proc.stdout.splitlines()[0])
    assert row["signals"][0]["name"] == "age_probe"
    assert "skipped line 2" in proc.stderr


def test_explain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["explain", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "ex-grooming-en" in out and "HIGH RISK" in out and "RISQUE ÉLEVÉ" in out
    assert "Do not pay" in out and "Ne paie pas" in out
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"text": THREAT}) + "\n")
    assert main(["explain", str(src), "--technical", "--locale", "fr-FR"]) == 0
    out = capsys.readouterr().out
    assert "Ne paie pas" in out and "log" in out.lower()


def test_watch_alerts_once_per_rise_and_keeps_state(tmp_path: Path) -> None:
    stream = [{"conversation_id": "c1", "sender": "x", "text": "hey"},
              {"conversation_id": "c2", "sender": "y", "text": "see you at practice"},
              {"conversation_id": "c1", "sender": "x", "text": THREAT},
              {"conversation_id": "c1", "sender": "x", "text": "you have 10 minutes"}]
    src = tmp_path / "stream.jsonl"
    src.write_text("".join(json.dumps(m) + "\n" for m in stream[:3]))
    out, state = tmp_path / "alerts.jsonl", tmp_path / "state.json"
    assert main(["watch", str(src), "-o", str(out), "--state", str(state)]) == 0
    (alert,) = rows_of(out)
    assert alert["conversation_id"] == "c1" and alert["message_index"] == 1
    assert any(a["label"] == "sextortion" for a in alert["alerts"])
    # Resumed from the saved state: the same conversation does not alert again at the
    # same level, and the message count carries on.
    src.write_text(json.dumps(stream[3]) + "\n")
    out2 = tmp_path / "all.jsonl"
    assert main(["watch", str(src), "-o", str(out2), "--state", str(state), "--all"]) == 0
    (row,) = rows_of(out2)
    assert row["message_index"] == 2 and row["alerts"] == []


def test_report_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(EXAMPLES)]) == cli.EXIT_BAD_INPUT
    assert "-o" in capsys.readouterr().err


def test_generate_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for p in (a, b):
        assert main(["generate", "--n", "40", "--seed", "5", "-o", str(p)]) == 0
    assert a.read_bytes() == b.read_bytes() and len(a.read_text().splitlines()) == 40
    assert main(["generate", "--lang", "xx", "-o", str(tmp_path / "c.jsonl")]) == 2


def test_generate_corpus_will_not_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "MANIFEST.json").write_text("{}")
    assert main(["generate", "--corpus", str(tmp_path), "--n", "10"]) == cli.EXIT_BAD_INPUT
    assert (tmp_path / "MANIFEST.json").read_text() == "{}"


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


def test_training_refuses_the_test_split(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    authored = ROOT / "datasets" / "authored"
    assert main(["train", f"{authored}:test", "-o", str(tmp_path / "m")]) == 2
    assert main(["train", f"{authored}:train", "--valid", f"{authored}:test",
                 "-o", str(tmp_path / "m")]) == 2
    assert "evaluation only" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_then_evaluate_own_data(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "train.jsonl"
    assert main(["generate", "--n", "600", "--seed", "11", "-o", str(data)]) == 0
    model_dir = tmp_path / "model"
    assert main(["train", str(data), "-o", str(model_dir)]) == 0
    assert "alert at p >=" in capsys.readouterr().err
    report_file = tmp_path / "report.json"
    plots = tmp_path / "plots"
    assert main(["evaluate", str(model_dir), str(data), "--json", str(report_file),
                 "--no-progress", "--perturb", "--peer", str(data), "--plots",
                 str(plots)]) == 0
    report = json.loads(report_file.read_text())["sources"][str(data)]
    s = report["labels"]["sextortion"]
    assert s["pr_auc"] > 0.9 and "early_warning" in s and "by_category" in s
    assert set(report["robustness"]) >= {"as_written", "leet", "spaced_letters"}
    assert report["peer"]["sextortion"]["pr_auc"] > 0.5
    assert all(Path(p).stat().st_size > 1000 for p in report["plots"])
    assert "PR-AUC" in capsys.readouterr().out
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
    assert main(["train", str(csv), "-o", str(tmp_path / "m2")]) == 0


@pytest.mark.slow
def test_same_seed_same_model(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    main(["generate", "--n", "300", "--seed", "3", "-o", str(data)])
    for name in ("a", "b"):
        assert main(["train", str(data), "-o", str(tmp_path / name)]) == 0
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
            "r = ss.score(['i have your pics', 'send 100$ or i post them to your family']); "
            "print(r.labels, r.scores['sextortion'])")
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    labels, probability = proc.stdout.rsplit(" ", 1)
    here = ss_score(["i have your pics", "send 100$ or i post them to your family"])
    assert "sextortion" in labels and float(probability) == pytest.approx(
        here.scores["sextortion"], abs=1e-12)  # the wheel's model is the repository's
