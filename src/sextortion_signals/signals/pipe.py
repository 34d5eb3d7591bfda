"""spaCy side: the blank per-language pipeline and the component that applies every rule
of a language pack in one ``Matcher`` and one ``PhraseMatcher``."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, NamedTuple, cast

import spacy
from spacy.lang.char_classes import ALPHA
from spacy.lang.punctuation import TOKENIZER_INFIXES
from spacy.lang.tokenizer_exceptions import BASE_EXCEPTIONS
from spacy.language import BaseDefaults, Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.strings import StringStore
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex

from ..errors import RuleFormatError
from ..lang import word_lists
from .gate import RuleGate
from .lemmas import fold, lemma_table
from .registry import Rule, rules_for
from .token_patterns import TokenPattern, compile_pattern, doc_flags

SPAN_KEY = "ss_signals"


class RuleMatch(NamedTuple):
    """One rule hit: token span ``[start, end)`` and character span in the doc's text."""

    signal: str
    rule_id: str
    start: int
    end: int
    start_char: int
    end_char: int


# Split "10min", "150eur", "48h" into number + unit so patterns can see both.
_DIGIT_LETTER_INFIX = r"(?<=[0-9])(?=[a-z€$£])"


def _fold_pattern_value(value: Any) -> Any:
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {k: (_fold_pattern_value(v) if k in ("IN", "NOT_IN") else v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_fold_pattern_value(v) for v in value]
    return value


def _lemmas_to_forms(pattern: list[dict[str, Any]],
                     table: dict[str, str]) -> list[dict[str, Any]]:
    """Compile ``LEMMA`` constraints into ``LOWER`` sets with the lookup table.

    Text reaching the pipeline is lowercased, so a token's lookup lemma is
    ``table.get(lower, lower)``: LEMMA in L  <=>  LOWER is a form the table maps into L, or
    a word of L the table does not know. Same matches as running spaCy's lookup
    lemmatizer on every token, for none of its per-token cost."""
    inverse: dict[str, set[str]] = {}
    for form, lemma in table.items():
        inverse.setdefault(lemma, set()).add(form)
    out: list[dict[str, Any]] = []
    for token in pattern:
        spec = token.get("LEMMA")
        if spec is None:
            out.append(token)
            continue
        if "LOWER" in token or (isinstance(spec, dict) and set(spec) != {"IN"}):
            raise RuleFormatError(f"LEMMA may only be a string or {{'IN': [...]}} and not "
                                  f"be combined with LOWER: {token}")
        lemmas = {spec} if isinstance(spec, str) else set(spec["IN"])
        forms = {f for lemma in lemmas for f in inverse.get(lemma, ())}
        forms |= {w for w in lemmas if w not in table}
        rest = {k: v for k, v in token.items() if k != "LEMMA"}
        out.append({**rest, "LOWER": {"IN": sorted(forms)}})
    return out


def _fold_pattern(pattern: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # Patterns are written with accents; the text they meet is accent-folded.
    return [{k: (_fold_pattern_value(v) if k in ("LOWER", "LEMMA", "NORM", "ORTH") else v)
             for k, v in token.items()} for token in pattern]


def _token_values(token: dict[str, Any]) -> frozenset[str] | None:
    """The strings a pattern token can match on LOWER/LEMMA, or None if unconstrained."""
    values: set[str] = set()
    for key in ("LOWER",):
        v = token.get(key)
        if isinstance(v, str):
            values.add(v)
        elif isinstance(v, dict) and isinstance(v.get("IN"), list):
            values.update(x for x in v["IN"] if isinstance(x, str))
    return frozenset(values) if values else None


def _is_required(token: dict[str, Any]) -> bool:
    """The token must occur in every match: no operator, "+", or a count of at least 1."""
    op = token.get("OP")
    return op is None or op in ("+", "1") or (
        isinstance(op, str) and op.startswith("{") and op[1:2] not in ("0", ","))


def _required_sets(pattern: list[dict[str, Any]]) -> tuple[frozenset[str], ...]:
    sets = (_token_values(t) for t in pattern if _is_required(t))
    return tuple(v for v in sets if v)


def _anchor(pattern: list[dict[str, Any]]) -> frozenset[str] | None:
    """Words of which at least one must occur in a doc for ``pattern`` to match: the values
    of its most selective required token (longest shortest word, a cheap rarity proxy)."""
    best: frozenset[str] | None = None
    for token in pattern:
        if not _is_required(token):
            continue
        values = _token_values(token)
        if values and (best is None or min(map(len, values)) > min(map(len, best))):
            best = values
    return best


class SignalMatcher:
    """Adds one span per signal hit to ``doc.spans["ss_signals"]``: label = signal name,
    ``span.id_`` = rule id. Overlapping hits of the same signal keep the longest.

    spaCy's ``Matcher`` evaluates every ``IN`` predicate of every pattern on every token,
    which dominated scoring time. Each token-pattern rule therefore gets its own small
    ``Matcher`` that only runs on docs containing one of its anchor words."""

    def __init__(self, nlp: Language, name: str = "sextortion_signals",
                 rules: Iterable[Rule] | None = None) -> None:
        self.name = name
        self.rules = tuple(rules if rules is not None else rules_for(nlp.lang))
        self.matchers: list[Matcher] = []
        self._required: list[tuple[frozenset[int], ...]] = []  # per matcher, hash ids
        self._by_anchor: dict[int, list[int]] = {}  # word hash id -> matcher indices
        self._always: list[int] = []
        # Per matcher: (rule id hash, our compiled pattern), run instead of spaCy's
        # Matcher when the pattern fits the subset ``token_patterns`` supports.
        self._compiled: list[tuple[int, TokenPattern] | None] = []
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        strings = nlp.vocab.strings
        lemmas = lemma_table(nlp.lang)
        self._signal_of: dict[str, str] = {}
        self._unless_next: dict[str, frozenset[int]] = {}  # rule id -> next-word hash ids
        phrase_anchors: set[int] = set()  # per literal, the hash id of its rarest word
        literal_docs: list[Doc] = []  # every literal, tokenized once (matcher and gate)
        cost = _word_cost()
        for rule in self.rules:
            self._signal_of[rule.id] = rule.signal
            if rule.unless_next:
                self._unless_next[rule.id] = frozenset(strings.add(fold(w))
                                                       for w in rule.unless_next)
            try:
                if rule.pattern is not None:
                    pattern = _lemmas_to_forms(_fold_pattern(rule.pattern), lemmas)
                    matcher = Matcher(nlp.vocab, validate=True)  # validates the rule too
                    matcher.add(rule.id, [pattern])
                    k = len(self.matchers)
                    self.matchers.append(matcher)
                    compiled = compile_pattern(pattern, strings)
                    self._compiled.append(None if compiled is None
                                          else (strings.add(rule.id), compiled))
                    self._required.append(tuple(frozenset(strings.add(w) for w in req)
                                                for req in _required_sets(pattern)))
                    anchor = _anchor(pattern)
                    if anchor is None:
                        self._always.append(k)
                    for word in anchor or ():
                        self._by_anchor.setdefault(strings.add(word), []).append(k)
                else:
                    docs = [nlp.make_doc(fold(lit)) for lit in rule.literals]
                    self.phrases.add(rule.id, docs)
                    literal_docs.extend(docs)
                    phrase_anchors.update(
                        min(d, key=lambda t: (cost(t.lower_), -len(t.lower_))).lower
                        for d in docs if len(d))
            except (ValueError, KeyError) as err:
                raise RuleFormatError(f"{rule.source}: spaCy rejected rule {rule.id!r}: "
                                      f"{err}") from None
        self._anchor_words = frozenset(self._by_anchor)
        self._phrase_anchors = frozenset(phrase_anchors)
        # Match id (hash of the rule id) -> (rule id, signal), without the string store.
        self._rule_of = {strings.add(rule_id): (rule_id, signal)
                         for rule_id, signal in self._signal_of.items()}
        self.gate = RuleGate(self._gate_units(strings, literal_docs), _special_cases(nlp),
                             cost)

    def _gate_units(self, strings: StringStore,
                    literal_docs: list[Doc]) -> list[tuple[frozenset[str], ...]]:
        """Required token groups of every pattern and of every literal (each word)."""
        units: list[tuple[frozenset[str], ...]] = [
            tuple(frozenset(strings[h] for h in req) for req in required)
            for required in self._required]
        units.extend(tuple({frozenset([t.lower_]) for t in doc}) for doc in literal_docs)
        return units

    def may_match(self, text: str) -> bool:
        """False only if no rule can match this normalised text (see ``gate.py``)."""
        return self.gate.may_match(text)

    def find(self, doc: Doc, units: Sequence[int] | None = None) -> list[RuleMatch]:
        """Every signal hit in ``doc``, sorted by (start, end, signal). The scoring path
        calls this directly: no ``Span`` objects, no span group.

        ``units``: the gate units complete for this doc's text (``RuleGate.complete``,
        sorted), when the caller has them: the token-pattern rules among them are the only
        ones worth trying (a rule outside them lacks a required word), so the doc's own
        words need not be checked against every rule again. Same hits either way."""
        lowers = [token.lower for token in doc]  # hash ids of the doc's words
        flag: Callable[[int, str], bool] | None = None
        literals, rules = self._to_try(lowers, units)
        matches = self.phrases(doc) if literals else []
        for k in rules:
            compiled = self._compiled[k]
            if compiled is None:
                matches.extend(self.matchers[k](doc))
                continue
            key, pattern = compiled
            if flag is None:
                flag = doc_flags(doc)
            matches.extend((key, start, end) for start, end in pattern.spans(lowers, flag))
        if not matches:
            return []
        rule_of, unless_next, n = self._rule_of, self._unless_next, len(lowers)
        by_signal: dict[str, list[tuple[int, int, str]]] = {}
        for match_id, start, end in matches:
            rule_id, signal = rule_of[match_id]
            blocked = unless_next.get(rule_id)
            if blocked and end < n and lowers[end] in blocked:
                continue
            by_signal.setdefault(signal, []).append((start, end, rule_id))
        found: list[RuleMatch] = []
        for signal, group in by_signal.items():
            for start, end, rule_id in _longest_first(group):
                last = doc[end - 1]
                found.append(RuleMatch(signal, rule_id, start, end, doc[start].idx,
                                       last.idx + len(last)))
        if len(found) > 1:
            found.sort(key=_match_order)
        return found

    def _to_try(self, lowers: list[int], units: Sequence[int] | None,
                ) -> tuple[bool, list[int]]:
        """(whether a literal may match, the matcher positions worth trying, sorted).

        From the gate's complete units when given: the first units are the matchers', in
        order, the literals' come after. Else from the doc's words: a literal needs its
        rarest word, a matcher an anchor and a word of every required token."""
        n = len(self.matchers)
        if units is not None:
            first_literal = bisect_left(units, n)
            rules = list(units[:first_literal])
            if self._always:
                rules = sorted({*rules, *self._always})
            return first_literal < len(units), rules
        words = set(lowers)
        candidates: set[int] = set(self._always)
        for word in words & self._anchor_words:
            candidates.update(self._by_anchor[word])
        return not words.isdisjoint(self._phrase_anchors), [
            k for k in sorted(candidates)
            if not any(req.isdisjoint(words) for req in self._required[k])]

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[SPAN_KEY] = [Span(doc, m.start, m.end, label=m.signal, span_id=m.rule_id)
                               for m in self.find(doc)]
        return doc


def _match_order(m: RuleMatch) -> tuple[int, int, str]:
    return m.start, m.end, m.signal


def _special_cases(nlp: Language) -> dict[str, list[str]]:
    rules = cast(Tokenizer, nlp.tokenizer).rules or {}
    return {key: [str(piece.get(ORTH, piece.get("ORTH", ""))) for piece in pieces]
            for key, pieces in rules.items()}


def _word_cost() -> Callable[[str], float]:
    """Rough commonness for the gate's index: the ``lang`` lists' frequent words and very
    short words are common, anything else is taken as rare."""
    frequent = frozenset(w for words in word_lists().values() for w in words)
    return lambda word: 10.0 if word in frequent or len(word) <= 2 else 1.0


def _longest_first(group: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping matches, longest first: ``spacy.util.filter_spans`` on tuples."""
    if len(group) == 1:
        return group
    kept: list[tuple[int, int, str]] = []
    seen: set[int] = set()
    for start, end, rule_id in sorted(group, key=lambda m: (m[1] - m[0], -m[0]),
                                      reverse=True):
        if start not in seen and end - 1 not in seen:
            kept.append((start, end, rule_id))
            seen.update(range(start, end))
    return sorted(kept, key=lambda m: m[0])


@Language.factory("sextortion_signals", default_config={})
def make_signal_pipe(nlp: Language, name: str) -> SignalMatcher:
    return SignalMatcher(nlp, name)


_ELISION = "'’"


class _FrenchLiteDefaults(BaseDefaults):
    # spacy.lang.fr builds a huge TOKEN_MATCH regex at import (~3 s, most of our cold
    # start). Text reaching us is lowercased and accent-folded, so the base punctuation
    # rules plus French elision ("j'ai" -> "j'" "ai") give the same tokens on chat text.
    infixes = [*TOKENIZER_INFIXES,  # noqa: RUF012 (spaCy's own defaults pattern)
               rf"(?<=[{ALPHA}][{_ELISION}])(?=[{ALPHA}])"]
    tokenizer_exceptions = {  # noqa: RUF012
        **BASE_EXCEPTIONS, "aujourd'hui": [{ORTH: "aujourd'hui"}]}


class _FrenchLite(Language):  # type: ignore[no-untyped-call]
    lang = "fr"
    Defaults = _FrenchLiteDefaults


# Languages whose spaCy module is too slow to import get a light equivalent; any other
# language uses ``spacy.blank`` (adding a language stays a data-only change).
_LIGHT_LANGUAGES: dict[str, type[Language]] = {"fr": _FrenchLite}


def _blank(lang: str) -> Language:
    light = _LIGHT_LANGUAGES.get(lang)
    return light() if light is not None else spacy.blank(lang)


@cache
def build_nlp(lang: str) -> Language:
    """Blank pipeline for ``lang``: tokenizer (+ digit/letter split) and the signal
    matcher, whose LEMMA patterns are compiled with the lookup lemmas of
    spacy-lookups-data (pruned table, see ``lemmas.py``). Cached per process."""
    nlp = _blank(lang)
    infixes = [*(nlp.Defaults.infixes or ()), _DIGIT_LETTER_INFIX]
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.add_pipe("sextortion_signals")
    return nlp


def signal_matcher(nlp: Language) -> SignalMatcher:
    """The signal component of a pipeline made by ``build_nlp``."""
    return cast(SignalMatcher, nlp.get_pipe("sextortion_signals"))


# Lexemes a pipeline keeps from the text it reads. Every new word (a typo, a URL, a hash)
# adds one to the vocab and the tokenizer's cache, for the life of the process: 300,000
# messages of random words grew a pipeline by 440,000 lexemes and the process by ~130 MB.
# Past this many, a batch's new words are dropped after it (spaCy's memory zone); the
# words kept are the traffic's commonest (seen first, and seen again: cached).
MAX_LEXEMES = 200_000
# A memory zone frees the lexemes made during it, whichever thread made them: pipelines
# are used by one thread at a time (the GIL serialises the work anyway).
_PIPELINE_LOCK = threading.Lock()


@contextmanager
def bounded_vocab(nlp: Language) -> Iterator[None]:
    """Run the block with ``nlp`` to itself; once its vocab holds ``MAX_LEXEMES``, inside
    a memory zone, so that the words first seen in the block are dropped at its end. A
    ``Doc`` made in the block must not be used after it."""
    with _PIPELINE_LOCK:
        if len(nlp.vocab) < MAX_LEXEMES:
            yield
        else:
            with nlp.memory_zone():
                yield
