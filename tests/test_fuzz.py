"""Fuzzing the entry points a platform exposes to untrusted input: scoring, the signal and
indicator layers, the CLI line reader, the monitor and the model loader. Each either gives
a correct, well-formed result or raises one of the documented errors; none crashes or
hangs (operation counts bound the time: tests/test_complexity.py)."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sextortion_signals as ss
from sextortion_signals import cli
from sextortion_signals.model import default_model_path, model_from_dict
from sextortion_signals.monitor import Monitor

# Pieces offenders and broken clients send: invisible and bidirectional marks, combining
# marks, look-alikes, l33t, spaced letters, lone surrogates, long runs, emoji sequences.
PIECES = ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u034f", "\u0301" * 40,
          "\ud800", "\udfff", "ſ", "İ", "ı", "ß", "ﬁ", "ｐａｙ", "р а у", "s3nd", "p.a.y",
          "$", "€", "@", "💸", "👨‍👩‍👧", "🏳️‍🌈", "\x00", "\r\n", "\t", " ", "a" * 3000,
          "1" * 500, "!" * 500, "ha" * 400, "i have your pics", "or i send them to your mom",
          "pay 100$", "t'as 10 min", "sinon je balance", "how old r u", "dont tell anyone",
          "lol jk", "http://x.y/" + "a/" * 200, "+33 6 12 34 56 78", "@" + "x" * 300]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=30), max_size=12).map("".join)
messages = st.lists(st.fixed_dictionaries(
    {"text": texts},
    optional={"sender": st.sampled_from(["a", "b", ""]) | st.text(max_size=5),
              "timestamp": st.sampled_from(["2026-01-01T10:00:00Z", "2026-01-01T10:00:00",
                                            1767261600, 0, -1, 1e18, "yesterday", None])}),
    min_size=1, max_size=6)
FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def well_formed(result: ss.ScoreResult, conversation: list[dict[str, Any]]) -> None:
    for p in result.scores.values():
        assert 0.0 <= p <= 1.0 and math.isfinite(p)
    assert result.level in ("low", "medium", "high")
    for hit in result.signals:
        text = conversation[hit.message_index]["text"]
        assert 0 <= hit.start < hit.end <= len(text)
    json.dumps(result.to_dict())
    for locale in ("en-US", "fr-FR"):
        assert result.explain(locale)


@FUZZ
@given(messages)
def test_score_is_well_formed_and_deterministic_on_hostile_text(conv: list[dict]) -> None:
    try:
        first = ss.score(conv)
    except (ss.InvalidInputError, TypeError) as err:
        assert str(err)  # a documented refusal that says what to fix
        return
    from sextortion_signals.inputs import coerce_conversation

    coerced = [{"text": m.text} for m in coerce_conversation(conv).messages]
    well_formed(first, coerced)
    again = ss.score(copy.deepcopy(conv))
    assert again.scores == first.scores and again.signals == first.signals


@FUZZ
@given(texts)
def test_signal_and_indicator_layers_on_hostile_text(text: str) -> None:
    from sextortion_signals.inputs import coerce_conversation

    clean = coerce_conversation(text).messages[0].text
    for hit in ss.extract_signals(text):
        assert clean[hit.start:hit.end] == hit.text
    for ind in ss.extract_indicators(text):
        assert 0 <= ind.start < ind.end <= len(clean)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=60) | st.sampled_from([
    b'{"text": "pay 100$"}', b"\xef\xbb\xbf{}", b'{"messages": 3}', b"[" * 5000,
    b'"\\ud800"', b'{"text": "\\u0000"}', b"\xff\xfe\x00", b"null", b"{}"]), max_size=6))
def test_cli_reader_never_crashes_on_any_bytes(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_bytes(b"\n".join(lines))
        code = cli.main(["score", str(src), "-o", str(out), "--no-contributions"])
        assert code in (cli.EXIT_OK, cli.EXIT_BAD_INPUT, cli.EXIT_SKIPPED)
        for line in out.read_text(encoding="utf-8").splitlines():
            assert "scores" in json.loads(line)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3"]),
                          messages.map(lambda ms: ms[0])), min_size=1, max_size=8))
def test_monitor_on_hostile_streams(stream: list[tuple[str, dict]]) -> None:
    monitor = Monitor()
    for cid, message in stream:
        try:
            update = monitor.update(cid, message)
        except (ss.InvalidInputError, TypeError):
            continue
        assert 0 <= update.result.scores["sextortion"] <= 1
    restored = Monitor()
    restored.loads(monitor.dumps())
    assert len(restored) == len(monitor)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "lexical":  # its blob is checked by its own tests
                out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i in range(min(len(node), 3)):
            out += _paths(node[i], (*prefix, i))
    return out


RAW_MODEL = json.loads(default_model_path().read_text())
PATHS = [p for p in _paths(RAW_MODEL) if p]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(
    allow_nan=False) | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), json_values)
def test_model_loader_refuses_any_damage_clearly(path: tuple, value: Any) -> None:
    raw = copy.deepcopy(RAW_MODEL)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        model = model_from_dict(raw, "fuzzed")
    except ss.ModelFormatError as err:
        assert "fuzzed" in str(err)
        return
    # Accepted: it must then score like any model.
    result = ss.Scorer(model).score("i have your pics, pay 100$ or i send them to your mom")
    for p in result.scores.values():
        assert 0.0 <= p <= 1.0


@pytest.mark.parametrize("blob", [b"", b"\x80\x81", b"{" * 100000, b'{"a": ' + b"9" * 50 + b"}",
                                  b'{"a": NaN}', b"[]"])
def test_model_loader_on_hostile_bytes(blob: bytes, tmp_path: Path) -> None:
    (tmp_path / "model.json").write_bytes(blob)
    with pytest.raises(ss.ModelFormatError):
        ss.load_model(tmp_path)
