"""Regression tests for what a new user and fuzzing found (issue 23): nothing is lost
silently, every failure says what to fix, and no character or process event breaks scoring.
Each test here failed on the code the issue was filed against."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import sextortion_signals as ss
from sextortion_signals import cli
from sextortion_signals.cli import main
from sextortion_signals.data import Labelled, _from_raw, read_labelled
from sextortion_signals.errors import TrainingDataError
from sextortion_signals.train import check_training_data

THREAT = "i have your pics, send 150$ in steam cards or i send them to all your followers"
CSV_HEADER = "conversation_id,text,grooming,sextortion\n"


def _cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sextortion_signals.cli", *args],
                          input=stdin, capture_output=True, env=env, timeout=300, check=False)


# --- the command line ------------------------------------------------------------------

def test_report_refuses_to_overwrite_its_input(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": THREAT}) + "\n")
    before = src.read_bytes()
    assert main(["report", str(src), "-o", str(src), "--force"]) == cli.EXIT_BAD_INPUT
    assert "also the input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_a_line_that_breaks_scoring_does_not_lose_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = ss.Scorer.score

    def score_many(self: ss.Scorer, convs: Any, **_: Any) -> Any:
        raise RuntimeError("a bug no check foresaw")

    def score(self: ss.Scorer, conv: Any) -> Any:
        if "poison" in conv.messages[0].text:
            raise RuntimeError("still broken")
        return original(self, conv)

    monkeypatch.setattr(ss.Scorer, "score_many", score_many)
    monkeypatch.setattr(ss.Scorer, "score", score)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                           for i, t in enumerate(["hello", "poison", THREAT])))
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == cli.EXIT_SKIPPED
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 2] and rows[1]["labels"] == ["sextortion"]
    err = capsys.readouterr().err
    assert "scoring lines 1-3 together failed (RuntimeError: a bug no check foresaw)" in err
    assert "skipped line 2: could not be scored (RuntimeError: still broken)" in err


def test_lines_before_an_unreadable_line_are_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    good = "".join(json.dumps({"id": i, "text": "see you at 5"}) + "\n" for i in range(5))
    src.write_bytes(good.encode() + b'{"text": "caf\xe9"}\n' + good.encode())
    out = tmp_path / "out.jsonl"
    code = main(["score", str(src), "-o", str(out), "--batch-size", "2"])
    assert code == cli.EXIT_BAD_INPUT
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == list(range(5))
    assert "line 6: not utf-8" in capsys.readouterr().err


def test_command_line_rows_follow_the_documented_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((Path(ss.__file__).parent / "schemas" / "score_result.schema.json"
                         ).read_text())
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "room": 4, "text": THREAT}) + "\n"
                   + json.dumps(["hi", "how old are you"]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    for row in rows:
        jsonschema.validate(row, schema)
    assert rows[0]["metadata"] == {"room": 4} and rows[1]["id"] == 2


def test_explain_names_skipped_lines_and_sets_the_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": THREAT}) + "\n{bad\n")
    assert main(["explain", str(src)]) == cli.EXIT_SKIPPED
    captured = capsys.readouterr()
    assert "skipped line 2" in captured.err and "1 line(s) skipped" in captured.err
    assert "steam cards" in captured.out
    assert main(["explain", str(src), "--max-bad", "1"]) == cli.EXIT_OK


def test_no_progress_bar_when_stderr_is_not_a_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "hi"}) + "\n")
    assert main(["score", str(src), "-o", str(tmp_path / "out.jsonl")]) == 0
    assert "conv" not in capsys.readouterr().err  # tqdm's unit, had it drawn a bar


def test_non_utf8_stdin_under_a_strict_locale_is_a_clear_error() -> None:
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii:strict"}
    proc = _cli("score", stdin=b'{"text": "caf\xe9"}\n', env=env)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == cli.EXIT_BAD_INPUT  # an encoding is the whole input's problem
    assert "--encoding" in err and "Traceback" not in err
    latin = _cli("score", "--encoding", "latin-1", stdin=b'{"text": "caf\xe9"}\n', env=env)
    assert latin.returncode == 0 and json.loads(latin.stdout)["level"] == "low"


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX")
def test_interrupt_exits_130_without_a_traceback_and_keeps_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sextortion_signals.cli", "watch", "--all", "--state", str(state)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's default
    assert proc.stdin is not None and proc.stdout is not None
    line = {"conversation_id": "c", "sender": "x", "text": THREAT}
    proc.stdin.write((json.dumps(line) + "\n").encode())
    proc.stdin.flush()
    lines: list[bytes] = []  # --all: one line per message, then it waits for more
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()),
                              daemon=True)
    reader.start()
    reader.join(120)  # a CLI that never answers fails the test instead of hanging it
    if not lines:
        proc.kill()
    assert lines and json.loads(lines[0])["conversation_id"] == "c"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_INTERRUPTED
    assert b"interrupted" in err and b"Traceback" not in err
    assert '"c"' in state.read_text()  # the open conversation was saved on the way out


SUBCOMMANDS = ["score", "explain", "report", "watch", "serve", "train", "evaluate", "generate"]


def test_help_is_written_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and all(name in top for name in SUBCOMMANDS)
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        assert "example" in text and "``" not in text, name


# --- training data ---------------------------------------------------------------------

def _csv(tmp_path: Path, name: str, rows: list[str], prefix: bytes = b"",
         encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(prefix + (CSV_HEADER + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


def test_too_little_training_data_says_how_much_is_needed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"c{i},{'pay 100$ or i post your pics' if i < 2 else 'see you at 5'},0,"
            f"{int(i < 2)}" for i in range(10)]
    path = _csv(tmp_path, "ten.csv", rows)
    assert main(["train", str(path), "-o", str(tmp_path / "m")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "at least" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def _labelled(i: int, harmful: int) -> Labelled:
    return _from_raw({"id": f"c{i}", "messages": [{"text": f"message {i}"}],
                      "labels": {"grooming": harmful, "sextortion": harmful}}, "test", i)


def test_a_small_validation_split_is_a_warning_saying_what_is_used_instead() -> None:
    train = [_labelled(i, int(i % 2 == 0)) for i in range(40)]
    valid = [_labelled(100 + i, int(i == 0)) for i in range(6)]
    notes = check_training_data(train, valid)
    assert any("falls back" in n for n in notes)
    with pytest.raises(TrainingDataError, match="at least"):
        check_training_data(train[:3], valid)


def test_latin1_training_csv_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = _csv(tmp_path, "lat.csv", ["c1,café,0,0"], encoding="latin-1")
    with pytest.raises(TrainingDataError, match=r"lat\.csv:2: not UTF-8"):
        list(read_labelled(path))


def test_a_bom_does_not_hide_the_header(tmp_path: Path) -> None:
    rows = ["c1,hi,0,0", "c1,how are you,0,0", "c2,pay 100$ now,0,1"]
    plain = list(read_labelled(_csv(tmp_path, "plain.csv", rows)))
    bom = list(read_labelled(_csv(tmp_path, "bom.csv", rows, prefix=b"\xef\xbb\xbf")))
    assert [(x.id, x.labels, x.messages) for x in bom] == \
        [(x.id, x.labels, x.messages) for x in plain]
    assert len(plain) == 2


def test_rows_of_one_conversation_must_be_consecutive(tmp_path: Path) -> None:
    path = _csv(tmp_path, "split.csv", ["c1,hi,0,0", "c2,yo,0,0", "c1,again,0,0"])
    with pytest.raises(TrainingDataError, match=r"split\.csv:4: conversation 'c1' continues "
                                                r"here but its rows ended .*line 2"):
        list(read_labelled(path))


# --- characters and processes ----------------------------------------------------------

CASE_FOLD_TRAPS = [("pay in 10 ſec", "deadline"), ("pay in 10 mİn", "deadline"),
                   ("pay 10 bıtcoin", "payment_channel"), ("pay 50 dollarſ", "amount"),
                   ("send me 500 ſkins", "payment_channel")]


@pytest.mark.parametrize(("text", "kind"), CASE_FOLD_TRAPS)
def test_characters_that_change_under_case_folding_score(text: str, kind: str) -> None:
    result = ss.score(text)
    assert kind in {i.kind for i in result.indicators}
    for found in [*result.signals, *result.indicators]:
        assert text[found.start:found.end] == found.text


INVISIBLE = ["\ufe0f", "\ufe00", "\U000e0100", "\u034f", "\u180b", "\u17b4", "\u3164",
             "\u115f", "\u1160", "\uffa0", "\u20dd", "\u20e3", "\u0489"]


@pytest.mark.parametrize("mark", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_do_not_switch_detection_off(mark: str) -> None:
    plain = ss.score(THREAT)
    hidden_text = THREAT.replace("a", "a" + mark).replace("e", "e" + mark)
    hidden = ss.score(hidden_text)
    assert hidden.level == plain.level == "high"
    assert {h.name for h in hidden.signals} == {h.name for h in plain.signals}
    for hit in hidden.signals:
        assert hidden_text[hit.start:hit.end] == hit.text


def _forked_child_state() -> None:
    enabled = gc.isenabled()
    hits = {h.name for h in ss.score("zork quux pay 100$ or i post your pics").signals}
    os._exit(0 if enabled and "payment_demand" in hits else 3)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_children_forked_while_a_thread_scores_keep_the_collector_and_score() -> None:
    import multiprocessing

    ss.score("warm up")
    stop = threading.Event()

    def work() -> None:
        i = 0
        while not stop.is_set():
            ss.score(f"word{i} pay 100$ or i post your pics")
            i += 1

    thread = threading.Thread(target=work)
    thread.start()
    codes = []
    try:
        for _ in range(5):
            child = multiprocessing.get_context("fork").Process(target=_forked_child_state)
            child.start()
            child.join(120)  # a hang fails the test instead of stalling the suite
            if child.is_alive():
                child.kill()
            codes.append(child.exitcode)
    finally:
        stop.set()
        thread.join()
    assert codes == [0] * 5 and gc.isenabled()


def test_a_live_conversations_bad_message_is_named_by_its_number() -> None:
    monitor = ss.Monitor()
    monitor.update("c", {"text": "hi"})
    with pytest.raises(ss.InvalidInputError, match=r"conversation 'c', message 1: "):
        monitor.update("c", {"text": "later", "timestamp": "not a time"})
    assert monitor.update("c", "fine").message_index == 1  # the refused one changed nothing


LONG_HARMLESS = ["hello friend " * 4000, "lol " * 5000,
                 "the weather is nice today and we went to the park. " * 40,
                 "pay me now " * 4546]


@pytest.mark.parametrize("text", LONG_HARMLESS, ids=["hello", "lol", "weather", "pay-me-now"])
def test_length_and_repetition_do_not_make_a_message_risky(text: str) -> None:
    result = ss.score(text)
    assert result.level == "low", result.scores


def test_small_command_line_mistakes_say_what_to_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(tmp_path)]) == cli.EXIT_BAD_INPUT
    assert "is a folder" in capsys.readouterr().err
    assert main(["generate", "--n", "-3", "-o", str(tmp_path / "g.jsonl")]) == \
        cli.EXIT_BAD_INPUT
    assert "--n must be at least 1" in capsys.readouterr().err
    src = tmp_path / "stream.jsonl"
    src.write_text("hello\n")
    assert main(["watch", str(src)]) == cli.EXIT_SKIPPED
    assert "line 1: not JSON" in capsys.readouterr().err


def test_a_class_without_any_sample_weight_is_refused() -> None:
    from sextortion_signals.estimators import SignConstrainedLogisticRegression

    X = [[0.0], [1.0], [0.2], [0.9]]
    with pytest.raises(ValueError, match="one class no weight"):
        SignConstrainedLogisticRegression().fit(X, [0, 1, 0, 1], sample_weight=[1, 0, 1, 0])


def test_a_model_of_the_previous_format_is_refused_with_the_fix(tmp_path: Path) -> None:
    from sextortion_signals.model import default_model, load_model

    raw = json.loads(Path(default_model().source).read_text(encoding="utf-8"))
    raw["format_version"] = 2  # its learned evidence counted repeated words
    (tmp_path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ss.ModelFormatError, match=r"format version 2 .* retrain"):
        load_model(tmp_path)
