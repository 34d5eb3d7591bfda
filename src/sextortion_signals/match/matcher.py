"""Where a tokenized message meets the rules: one ``SignalMatcher`` per language.

Token-pattern rules run in our automaton (``patterns.py``), literals in one spaCy
``PhraseMatcher``; only the rules the prefilter lets through are tried. Overlapping hits
of one signal keep the longest, and each signal keeps at most ``MAX_HITS_PER_SIGNAL`` per
message (a message of 20,000 quote marks is not 20,000 pieces of evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, cast

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from ..errors import RuleFormatError
from ..rules.compile import RuleSet
from ..text.language import word_lists
from .patterns import TokenPattern, compile_pattern, doc_flags
from .prefilter import Candidates, Prefilter

MAX_HITS_PER_SIGNAL = 8


class RuleMatch(NamedTuple):
    """One rule hit: token span ``[start, end)`` and character span in the doc's text."""

    signal: str
    rule_id: str
    start: int
    end: int
    start_char: int
    end_char: int


class SignalMatcher:
    """Every signal hit of a ``RuleSet`` in a doc made by ``nlp``'s tokenizer."""

    def __init__(self, rules: RuleSet, nlp: Language,
                 max_hits_per_signal: int = MAX_HITS_PER_SIGNAL,
                 prefilter: Prefilter | None = None) -> None:
        self.rules = rules
        self.max_hits_per_signal = max_hits_per_signal
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        # Per pattern rule (units 0..n-1), our automaton or, outside its subset, a Matcher.
        self._patterns: list[TokenPattern | Matcher] = []
        self._unless_next: dict[int, frozenset[int]] = {}  # rule id hash -> next words
        self._rule_of: dict[int, tuple[str, str]] = {}  # rule id hash -> (id, signal)
        self._pattern_ids: list[int] = []
        units: list[tuple[frozenset[str], ...]] = []
        literal_units: list[tuple[frozenset[str], ...]] = []
        for rule in rules.rules:
            key = hash_string(rule.id)
            self._rule_of[key] = (rule.id, rule.signal)
            if rule.unless_next:
                self._unless_next[key] = frozenset(hash_string(w) for w in rule.unless_next)
            try:
                if rule.pattern is not None:
                    pattern = list(rule.pattern)
                    compiled = compile_pattern(pattern)
                    if compiled is None:
                        matcher = Matcher(nlp.vocab, validate=True)
                        matcher.add(rule.id, [pattern])
                    else:
                        Matcher(nlp.vocab, validate=True).add(rule.id, [pattern])  # validates
                    self._patterns.append(compiled if compiled is not None else matcher)
                    self._pattern_ids.append(key)
                    units.append(rule.required)
                else:
                    docs = [nlp.make_doc(lit) for lit in rule.literals]
                    self.phrases.add(rule.id, docs)
                    literal_units.extend(tuple({frozenset([t.lower_]) for t in doc})
                                         for doc in docs)
            except (ValueError, KeyError) as err:
                raise RuleFormatError(f"{rule.source}: spaCy rejected rule {rule.id!r}: "
                                      f"{err}") from None
        self._first_literal = len(units)
        # The prefilter depends on the rules and the tokenizer's special cases only, so a
        # matcher made for a fresh vocab may reuse its predecessor's.
        self.prefilter = prefilter or Prefilter([*units, *literal_units], _special_cases(nlp),
                                                _word_cost())

    def candidates(self, text: str) -> Candidates:
        """The prefilter's answer for a normalised text (empty: no rule can match)."""
        return self.prefilter.candidates(text)

    def find(self, doc: Doc, candidates: Candidates | None = None) -> list[RuleMatch]:
        """Every signal hit in ``doc``, sorted by (start, end, signal)."""
        if candidates is None:
            candidates = self.candidates(doc.text)
        units = candidates.units
        lowers = [token.lower for token in doc]
        matches: list[tuple[int, int, int]] = []
        if units and units[-1] >= self._first_literal:
            matches.extend(self.phrases(doc))
        flag: Callable[[int, str], bool] | None = None
        for k in units:
            if k >= self._first_literal:
                break
            pattern, key = self._patterns[k], self._pattern_ids[k]
            if type(pattern) is TokenPattern:
                flag = flag or doc_flags(doc)
                matches.extend([(key, start, end) for start, end in pattern.spans(lowers, flag)])
            else:
                matches.extend(cast(Matcher, pattern)(doc))
        if not matches:
            return []
        by_signal: dict[str, list[tuple[int, int, str]]] = {}
        n = len(lowers)
        for match_id, start, end in matches:
            rule_id, signal = self._rule_of[match_id]
            blocked = self._unless_next.get(match_id)
            if blocked and end < n and lowers[end] in blocked:
                continue
            by_signal.setdefault(signal, []).append((start, end, rule_id))
        found: list[RuleMatch] = []
        for signal, group in by_signal.items():
            for start, end, rule_id in _longest_first(group)[:self.max_hits_per_signal]:
                last = doc[end - 1]
                found.append(RuleMatch(signal, rule_id, start, end, doc[start].idx,
                                       last.idx + len(last)))
        found.sort(key=lambda m: (m.start, m.end, m.signal))
        return found


def _longest_first(group: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping matches, longest first (``spacy.util.filter_spans`` on tuples),
    returned in text order."""
    if len(group) == 1:
        return group
    kept: list[tuple[int, int, str]] = []
    seen: set[int] = set()
    for start, end, rule_id in sorted(group, key=lambda m: (m[1] - m[0], -m[0]), reverse=True):
        if start not in seen and end - 1 not in seen:
            kept.append((start, end, rule_id))
            seen.update(range(start, end))
    return sorted(kept, key=lambda m: m[0])


def _special_cases(nlp: Language) -> dict[str, list[str]]:
    rules = cast(Tokenizer, nlp.tokenizer).rules or {}
    return {key: [str(piece.get(ORTH, piece.get("ORTH", ""))) for piece in pieces]
            for key, pieces in rules.items()}


def _word_cost() -> Callable[[str], float]:
    """Rough commonness for the prefilter's index: the language lists' frequent words and
    very short words are common, anything else is taken as rare."""
    frequent = frozenset(w for words in word_lists().values() for w in words)
    return lambda word: 10.0 if word in frequent or len(word) <= 2 else 1.0
