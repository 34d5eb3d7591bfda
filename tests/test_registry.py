from __future__ import annotations

import json
from pathlib import Path

import pytest

from sextortion_signals import RuleFormatError, UnknownSignalError
from sextortion_signals.match.component import blank
from sextortion_signals.match.matcher import SignalMatcher
from sextortion_signals.rules import registry
from sextortion_signals.rules.compile import compile_rules

from .conftest import signal_cases

# DOMAIN.md's tactic table plus the context signals that lower risk.
REQUIRED = {
    "grooming": {"age_probe", "flattery", "trust_exclusivity", "isolation", "secrecy_request",
                 "risk_check", "gift_offer", "platform_move", "image_or_call_request"},
    "sextortion": {"possession_claim", "fabrication_claim", "threat_to_share",
                   "audience_enumeration", "payment_demand", "payment_channel",
                   "content_demand", "deadline_urgency", "repeat_demand"},
    "context": {"safety_talk", "joke_marker", "negation", "reported_speech"},
}


def test_registry_has_every_required_signal_in_the_right_category() -> None:
    for category, wanted in REQUIRED.items():
        got = {s.name for s in registry.available() if s.category == category}
        assert wanted <= got, f"missing {category} signals: {wanted - got}"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_signal_has_rules_and_enough_cases(lang: str) -> None:
    with_rules = {r.signal for r in registry.rules_for(lang)}
    cases = signal_cases(lang)
    for spec in registry.available():
        assert spec.name in with_rules, f"{spec.name} has no {lang} rules"
        assert len(cases[spec.name]["positive"]) >= 8, spec.name
        assert len(cases[spec.name]["negative"]) >= 5, spec.name


def test_descriptions_are_one_line() -> None:
    for spec in registry.available():
        assert "\n" not in spec.description and len(spec.description) < 200


def test_get_unknown_signal_names_the_known_ones() -> None:
    with pytest.raises(UnknownSignalError, match="age_probe"):
        registry.get("no_such_signal")


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "age_probe/en/x", "literal": "hi", "colour": 1}', "unknown key"),
    ('{"id": "age_probe/en/x"}', "exactly one of"),
    ('{"id": "wrong/en/x", "literal": "hi"}', "id must start with"),
    ('{"id": "age_probe/en/x", "pattern": "how old"}', "non-empty list"),
    ("{not json", "invalid JSON"),
])
def test_bad_rule_lines_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(RuleFormatError, match=message) as err:
        registry.parse_rules(["", line], "age_probe", "en", "rules/en/age_probe.jsonl")
    assert "rules/en/age_probe.jsonl:2" in str(err.value)


def test_rules_for_unknown_language_lists_available() -> None:
    with pytest.raises(RuleFormatError, match="en, fr"):
        registry.rules_for("xx")


def test_spacy_rejects_invalid_pattern_with_rule_id() -> None:
    bad = registry.parse_rules(['{"id": "age_probe/en/bad", "pattern": [{"LOWERR": "x"}]}'],
                               "age_probe", "en", "t.jsonl")
    with pytest.raises(RuleFormatError, match="age_probe/en/bad"):
        SignalMatcher(compile_rules("en", bad, {}), blank("en"))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rule_examples_fire_and_counter_examples_do_not(lang: str) -> None:
    from sextortion_signals import extract_signals

    checked = 0
    for rule in registry.rules_for(lang):
        for text in rule.examples:
            assert any(h.rule_id == rule.id for h in extract_signals(text)), (rule.id, text)
            checked += 1
        for text in rule.counter_examples:
            assert not any(h.name == rule.signal for h in extract_signals(text)), (rule.id, text)
            checked += 1
    assert checked or lang == "fr"


def test_registry_snapshot_is_current() -> None:
    """The registry snapshot in tests/data documents the signal set; a change to
    specs.toml must update it deliberately."""
    snapshot = json.loads((Path(__file__).parent / "data" / "registry.json").read_text())
    current = [{"name": s.name, "category": s.category, "description": s.description}
               for s in registry.available()]
    assert current == snapshot
