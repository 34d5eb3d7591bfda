"""The one registry of signals and their per-language rules.

Signals are declared in ``rules/specs.toml``; rules are JSONL data files in
``rules/<lang>/<signal>.jsonl``. A new language is a new folder, not new code. Everything
is validated when loaded: unknown keys, duplicate ids and unknown signals raise
``RuleFormatError`` naming the file and line.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Literal, cast

from ..errors import RuleFormatError, UnknownSignalError

Category = Literal["grooming", "sextortion", "context"]
CATEGORIES: tuple[Category, ...] = ("grooming", "sextortion", "context")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_LANG_CODE = re.compile(r"[a-z]{2,3}")  # a rules folder per ISO 639 code
_SPEC_KEYS = frozenset({"name", "category", "description", "default_on", "group"})
_GROUP_KEYS = frozenset({"name", "label", "description"})
_RULE_KEYS = frozenset({"id", "literal", "pattern", "unless_next", "examples",
                        "counter_examples"})


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str  # snake_case, unique
    category: Category
    description: str  # one sentence a moderator reads
    default_on: bool = True
    group: str | None = None  # tactic group of a risk signal (``groups()``)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A tactic group: what the learned lexical model scores each message for."""

    name: str
    label: str  # the label it is evidence for: grooming | sextortion
    description: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One matching rule. ``literals`` are matched as phrases on the normalised lowercase
    text; ``pattern`` is a spaCy token pattern (used instead when given)."""

    id: str  # "<signal>/<lang>/<slug>"
    signal: str
    lang: str
    literals: tuple[str, ...]
    pattern: tuple[dict[str, Any], ...] | None
    # A match is dropped when the next token is one of these ("je rigole" + "pas").
    unless_next: tuple[str, ...]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    source: str  # "rules/en/age_probe.jsonl:3"


def _data_root() -> Traversable:
    return resources.files("sextortion_signals") / "rules"


def _parse_specs(text: str, where: str) -> tuple[SignalSpec, ...]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RuleFormatError(f"{where}: invalid TOML: {err}") from None
    specs: list[SignalSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("signal", [])):
        here = f"{where}: signal #{i + 1}"
        unknown = set(entry) - _SPEC_KEYS
        if unknown:
            raise RuleFormatError(f"{here}: unknown key(s) {sorted(unknown)}; "
                                  f"allowed: {sorted(_SPEC_KEYS)}")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise RuleFormatError(f"{here}: name must be snake_case, got {name!r}")
        if name in seen:
            raise RuleFormatError(f"{here}: signal {name!r} is registered twice")
        if entry.get("category") not in CATEGORIES:
            raise RuleFormatError(f"{here} ({name}): category must be one of {CATEGORIES}, "
                                  f"got {entry.get('category')!r}")
        if not isinstance(entry.get("description"), str) or not entry["description"].strip():
            raise RuleFormatError(f"{here} ({name}): description is required")
        group = entry.get("group")
        if (group is None) != (entry["category"] == "context"):
            raise RuleFormatError(f"{here} ({name}): a grooming or sextortion signal needs a "
                                  f"'group' (one of the [[group]] names); a context one has none")
        seen.add(name)
        specs.append(SignalSpec(name, cast(Category, entry["category"]),
                                entry["description"], bool(entry.get("default_on", True)),
                                group))
    if not specs:
        raise RuleFormatError(f"{where}: no [[signal]] entries")
    return tuple(specs)


def _parse_groups(text: str, where: str) -> tuple[GroupSpec, ...]:
    raw = tomllib.loads(text)
    out: list[GroupSpec] = []
    for i, entry in enumerate(raw.get("group", [])):
        here = f"{where}: group #{i + 1}"
        unknown = set(entry) - _GROUP_KEYS
        if unknown or set(entry) != _GROUP_KEYS:
            raise RuleFormatError(f"{here}: a group has exactly the keys {sorted(_GROUP_KEYS)}")
        if entry["label"] not in ("grooming", "sextortion"):
            raise RuleFormatError(f"{here}: label must be grooming or sextortion")
        out.append(GroupSpec(entry["name"], entry["label"], entry["description"]))
    return tuple(out)


@lru_cache(maxsize=1)
def groups() -> tuple[GroupSpec, ...]:
    """The tactic groups, in declaration order; every risk signal names one."""
    path = _data_root() / "specs.toml"
    found = _parse_groups(path.read_text(encoding="utf-8"), "rules/specs.toml")
    names = {g.name for g in found}
    for spec in available():
        if spec.group is not None and spec.group not in names:
            raise RuleFormatError(f"rules/specs.toml: signal {spec.name!r} names unknown group "
                                  f"{spec.group!r}; groups: {', '.join(sorted(names))}")
    return found


@lru_cache(maxsize=1)
def available() -> tuple[SignalSpec, ...]:
    """Every registered signal, in declaration order."""
    path = _data_root() / "specs.toml"
    return _parse_specs(path.read_text(encoding="utf-8"), "rules/specs.toml")


def names() -> tuple[str, ...]:
    return tuple(s.name for s in available())


@lru_cache(maxsize=1)
def _by_name() -> dict[str, SignalSpec]:
    return {spec.name: spec for spec in available()}


def get(name: str) -> SignalSpec:
    spec = _by_name().get(name)
    if spec is None:
        raise UnknownSignalError(name, list(names()))
    return spec


def _str_tuple(value: object, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    raise RuleFormatError(f"{where}: {key!r} must be a string or a list of non-empty strings")


def parse_rules(lines: Iterable[str], signal: str, lang: str, where: str) -> list[Rule]:
    """Parse one rules file (JSONL). ``where`` names it in error messages."""
    known = names()
    if signal not in known:
        raise RuleFormatError(f"{where}: file names unknown signal {signal!r}; known signals: "
                              f"{', '.join(known)}")
    rules: list[Rule] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        here = f"{where}:{lineno}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise RuleFormatError(f"{here}: invalid JSON ({err.msg}); one rule per line like "
                                  '{"id": "age_probe/en/how_old", "literal": "how old are '
                                  'you"}') from None
        if not isinstance(raw, dict):
            raise RuleFormatError(f"{here}: a rule must be a JSON object")
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise RuleFormatError(f"{here}: unknown key(s) {sorted(unknown)}; allowed: "
                                  f"{sorted(_RULE_KEYS)}")
        rule_id = raw.get("id")
        prefix = f"{signal}/{lang}/"
        if not isinstance(rule_id, str) or not rule_id.startswith(prefix):
            raise RuleFormatError(f"{here}: id must start with {prefix!r}, got {rule_id!r}")
        literals = _str_tuple(raw.get("literal"), "literal", here)
        pattern = raw.get("pattern")
        if (not literals) == (pattern is None):
            raise RuleFormatError(f"{here}: give exactly one of 'literal' or 'pattern'")
        if pattern is not None and (not isinstance(pattern, list) or not pattern
                                    or not all(isinstance(t, dict) for t in pattern)):
            raise RuleFormatError(f"{here}: 'pattern' must be a non-empty list of spaCy token "
                                  'dicts, e.g. [{"LOWER": "how"}, {"LOWER": "old"}]')
        rules.append(Rule(
            id=rule_id, signal=signal, lang=lang,
            literals=tuple(lit.lower() for lit in literals),
            pattern=None if pattern is None else tuple(pattern),
            unless_next=tuple(w.lower() for w in _str_tuple(raw.get("unless_next"),
                                                             "unless_next", here)),
            examples=_str_tuple(raw.get("examples"), "examples", here),
            counter_examples=_str_tuple(raw.get("counter_examples"), "counter_examples", here),
            source=here,
        ))
    return rules


@cache
def rules_for(lang: str) -> tuple[Rule, ...]:
    """All rules of one language pack, validated (duplicate ids are an error)."""
    folder = _data_root() / lang
    if not folder.is_dir():
        raise RuleFormatError(f"no rules folder for language {lang!r}; available: "
                              f"{', '.join(rule_languages())}")
    rules: list[Rule] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jsonl"):
            where = f"rules/{lang}/{entry.name}"
            lines = entry.read_text(encoding="utf-8").splitlines()
            rules.extend(parse_rules(lines, entry.name[:-6], lang, where))
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleFormatError(f"{rule.source}: duplicate rule id {rule.id!r} "
                                  f"(first at {seen[rule.id]})")
        seen[rule.id] = rule.source
    return tuple(rules)


@lru_cache(maxsize=1)
def rule_languages() -> tuple[str, ...]:
    """Languages that have a rules folder."""
    root = _data_root()
    return tuple(sorted(e.name for e in root.iterdir()
                        if e.is_dir() and _LANG_CODE.fullmatch(e.name)))
