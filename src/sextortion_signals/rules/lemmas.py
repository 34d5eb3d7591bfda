"""Lookup lemmas for the blank pipelines, from spacy-lookups-data.

The full French table has ~217k entries and takes over a second to load, so the package
ships a pruned, accent-folded table (``lemmas_data/<lang>.json``) holding only the inflected
forms of lemmas that some rule pattern uses. If the rules ask for a lemma the shipped
table does not cover (a user added a rule), the table is rebuilt from spacy-lookups-data
in memory: slower start, same result. Rebuild the shipped files with
``python -m sextortion_signals.rules.lemmas``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..text.normalize import normalize
from .registry import rule_languages, rules_for


def fold(word: str) -> str:
    return normalize(word).text


def pattern_lemmas(lang: str) -> frozenset[str]:
    """Every (folded) lemma a rule pattern of ``lang`` refers to."""
    wanted: set[str] = set()
    for rule in rules_for(lang):
        for token in rule.pattern or ():
            value: Any = token.get("LEMMA")
            if isinstance(value, str):
                wanted.add(fold(value))
            elif isinstance(value, dict):
                wanted.update(fold(v) for v in value.get("IN", []) if isinstance(v, str))
    return frozenset(wanted)


def _full_table(lang: str) -> dict[str, str]:
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / f"{lang}_lemma_lookup.json.gz"
    if not path.exists():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw: dict[str, Any] = json.load(fh)
    table: dict[str, str] = {}
    for form, lemma in raw.items():
        lemma_str = lemma[0] if isinstance(lemma, list) else lemma
        if isinstance(lemma_str, str):
            table.setdefault(fold(form), fold(lemma_str))
    return table


def build_table(lang: str, wanted: Iterable[str]) -> dict[str, str]:
    """Folded form -> folded lemma, restricted to lemmas in ``wanted``."""
    wanted_set = set(wanted)
    return {form: lemma for form, lemma in sorted(_full_table(lang).items())
            if lemma in wanted_set and form != lemma}


@cache
def lemma_table(lang: str) -> dict[str, str]:
    wanted = pattern_lemmas(lang)
    shipped = resources.files("sextortion_signals") / "rules" / "lemmas_data" / f"{lang}.json"
    if shipped.is_file():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        if set(data.get("lemmas", [])) >= wanted:
            table: dict[str, str] = data["table"]
            return table
    return build_table(lang, wanted)


def write_shipped_tables(folder: Path) -> None:
    for lang in rule_languages():
        wanted = sorted(pattern_lemmas(lang))
        data = {"source": "spacy-lookups-data lemma_lookup, accent-folded, pruned to rule lemmas",
                "lemmas": wanted, "table": build_table(lang, wanted)}
        (folder / f"{lang}.json").write_text(
            json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0) + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    write_shipped_tables(Path(__file__).parent / "lemmas_data")
