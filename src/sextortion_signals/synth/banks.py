"""Phrase banks: per-language TOML data files, expanded into families of phrasings.

A bank line is a *family*: ``"how old (are you|r u)"`` expands to its alternations (the
family's phrasings); ``{slot}`` is filled at generation time from the bank's ``slots``.
Every ``HELDOUT_EVERY``-th line of each list (index % 5 == 2) is a held-out family, and
every fifth slot filler a held-out filler.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import RuleFormatError

HELDOUT_EVERY = 5
HELDOUT_REMAINDER = 2
_GROUP = re.compile(r"\(([^()]*)\)(\?)?")  # "(a|b)" or optional "(a|b)?"
_SLOT = re.compile(r"\{([a-z_]+)\}")
_MAX_VARIANTS = 400


@dataclass(frozen=True, slots=True)
class Family:
    id: str  # "en:tactics:age_probe:3"
    heldout: bool
    phrasings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Bank:
    lang: str
    slots: dict[str, tuple[str, ...]]
    sections: dict[str, dict[str, tuple[Family, ...]]]  # section -> key -> families
    abbreviations: tuple[tuple[str, str], ...]

    def slot_values(self, slot: str, heldout: bool) -> tuple[str, ...]:
        """Slot fillers are split like families: held-out fillers (index % 5 == 2) only
        appear in the held-out test, so it cannot be solved by memorising names."""
        values = self.slots[slot]
        if len(values) < HELDOUT_EVERY:
            return values
        return tuple(v for i, v in enumerate(values)
                     if (i % HELDOUT_EVERY == HELDOUT_REMAINDER) == heldout)

    def families(self, section: str, key: str, heldout: bool) -> tuple[Family, ...]:
        pool = self.sections[section][key]
        chosen = tuple(f for f in pool if f.heldout == heldout)
        return chosen or pool  # a list too short to hold anything out is shared


def expand(template: str) -> tuple[str, ...]:
    """All phrasings of a family line: the product of its ``(a|b|c)`` groups; a group
    followed by ``?`` may also be left out."""
    choices: list[list[str]] = []
    pos = 0
    for m in _GROUP.finditer(template):
        choices.append([template[pos:m.start()]])
        options = m.group(1).split("|")
        choices.append([*options, ""] if m.group(2) else options)
        pos = m.end()
    choices.append([template[pos:]])
    out: list[str] = []
    for combo in itertools.islice(itertools.product(*choices), _MAX_VARIANTS):
        text = re.sub(r"\s+", " ", "".join(combo)).strip()
        out.append(re.sub(r"\s+([,.])", r"\1", text))  # a left-out group before a comma
    return tuple(dict.fromkeys(o for o in out if o))


def _families(lang: str, section: str, key: str, lines: Any, where: str,
              slots: dict[str, tuple[str, ...]]) -> tuple[Family, ...]:
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise RuleFormatError(f"{where}: [{section}] {key} must be a list of strings")
    fams: list[Family] = []
    for i, line in enumerate(lines):
        for slot in _SLOT.findall(line):
            if slot not in slots:
                raise RuleFormatError(f"{where}: [{section}] {key} line {i}: unknown slot "
                                      f"{{{slot}}}; known: {', '.join(sorted(slots))}")
        fams.append(Family(f"{lang}:{section}:{key}:{i}",
                           i % HELDOUT_EVERY == HELDOUT_REMAINDER, expand(line)))
    return tuple(fams)


@cache
def load_bank(lang: str) -> Bank:
    path = resources.files("sextortion_signals") / "synth" / "banks" / f"{lang}.toml"
    where = f"synth/banks/{lang}.toml"
    if not path.is_file():
        raise RuleFormatError(f"no phrase bank for language {lang!r} ({where})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise RuleFormatError(f"{where}: invalid TOML: {err}") from None
    slots = {k: tuple(v) for k, v in raw.get("slots", {}).items()}
    sections: dict[str, dict[str, tuple[Family, ...]]] = {}
    for section in ("tactics", "replies", "chatter", "benign"):
        sections[section] = {key: _families(lang, section, key, lines, where, slots)
                             for key, lines in raw.get(section, {}).items()}
    abbreviations = tuple((a, b) for a, b in raw.get("style", {}).get("abbreviations", []))
    return Bank(lang, slots, sections, abbreviations)


def bank_languages() -> tuple[str, ...]:
    folder = resources.files("sextortion_signals") / "synth" / "banks"
    return tuple(sorted(e.name[:-5] for e in folder.iterdir() if e.name.endswith(".toml")))
