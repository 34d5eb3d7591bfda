"""Where rules become an immutable plan: ``RuleSet``.

A rule file is written for people (accents, ``LEMMA`` constraints, literals as typed).
The text it meets is normalised (lowercase, accent-folded, see ``text/normalize.py``), and
the pipeline has no lemmatizer. Compiling once per language:
- folds every word of every literal and pattern as the text is folded;
- turns each ``LEMMA`` constraint into the ``LOWER`` forms spacy-lookups-data's lookup
  table maps into it (``LEMMA in L`` <=> ``LOWER`` is a form the table maps into L, or a
  word of L the table does not know): the same matches as running the lookup lemmatizer
  on every token, for none of its per-token cost;
- lists each pattern's required token groups, for the prefilter (``match/prefilter.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import RuleFormatError
from .lemmas import fold, lemma_table
from .registry import Rule, get, rules_for


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    signal: str
    category: str
    pattern: tuple[dict[str, Any], ...] | None  # folded, LEMMA compiled to LOWER
    literals: tuple[str, ...]  # folded
    required: tuple[frozenset[str], ...]  # per required pattern token, the words it allows
    unless_next: frozenset[str]  # a match is dropped when the next token is one of these
    source: str  # "rules/en/age_probe.jsonl:3"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every rule of one language, compiled. Immutable: share it between threads."""

    lang: str
    rules: tuple[CompiledRule, ...]

    @property
    def patterns(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.pattern is not None)

    @property
    def literal_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.pattern is None)


def _fold_values(value: Any) -> Any:
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {k: (_fold_values(v) if k in ("IN", "NOT_IN") else v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold_values(v) for v in value]
    return value


def _lemmas_to_forms(token: dict[str, Any], inverse: dict[str, set[str]],
                     table: dict[str, str], where: str) -> dict[str, Any]:
    spec = token.get("LEMMA")
    if spec is None:
        return token
    if "LOWER" in token or (isinstance(spec, dict) and set(spec) != {"IN"}):
        raise RuleFormatError(f"{where}: LEMMA may only be a string or {{'IN': [...]}} and "
                              f"not be combined with LOWER: {token}")
    lemmas = {spec} if isinstance(spec, str) else set(spec["IN"])
    forms = {f for lemma in lemmas for f in inverse.get(lemma, ())}
    forms |= {w for w in lemmas if w not in table}
    rest = {k: v for k, v in token.items() if k != "LEMMA"}
    return {**rest, "LOWER": {"IN": sorted(forms)}}


def _values(token: dict[str, Any]) -> frozenset[str] | None:
    """The words a pattern token can match on LOWER, or None if unconstrained."""
    value = token.get("LOWER")
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, dict) and isinstance(value.get("IN"), list):
        return frozenset(v for v in value["IN"] if isinstance(v, str)) or None
    return None


def _is_required(token: dict[str, Any]) -> bool:
    """The token must occur in every match: no operator, "+", or a count of at least 1."""
    op = token.get("OP")
    return op is None or op in ("+", "1") or (
        isinstance(op, str) and op.startswith("{") and op[1:2] not in ("0", ","))


def compile_rules(lang: str, rules: Iterable[Rule], lemmas: dict[str, str]) -> RuleSet:
    inverse: dict[str, set[str]] = {}
    for form, lemma in lemmas.items():
        inverse.setdefault(lemma, set()).add(form)
    out: list[CompiledRule] = []
    for rule in rules:
        unless = frozenset(fold(w) for w in rule.unless_next)
        category = get(rule.signal).category
        if rule.pattern is None:
            out.append(CompiledRule(rule.id, rule.signal, category, None,
                                    tuple(fold(lit) for lit in rule.literals), (), unless,
                                    rule.source))
            continue
        pattern = []
        for token in rule.pattern:
            folded = {k: (_fold_values(v) if k in ("LOWER", "LEMMA", "NORM", "ORTH") else v)
                      for k, v in token.items()}
            pattern.append(_lemmas_to_forms(folded, inverse, lemmas, rule.source))
        required = tuple(v for v in (_values(t) for t in pattern if _is_required(t)) if v)
        out.append(CompiledRule(rule.id, rule.signal, category, tuple(pattern), (), required,
                                unless, rule.source))
    return RuleSet(lang, tuple(out))


@cache
def ruleset(lang: str) -> RuleSet:
    """The shipped rules of ``lang``, compiled (once per process: the plan is immutable)."""
    return compile_rules(lang, rules_for(lang), lemma_table(lang))
