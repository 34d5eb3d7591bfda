"""The plain reference path the fast one is checked against: normalise -> detect the
language -> spaCy's own ``Matcher`` and ``PhraseMatcher`` with every rule, on every
message (no prefilter, no screen, no compiled automaton)."""

from __future__ import annotations

from functools import cache

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Span
from spacy.util import filter_spans

from sextortion_signals.match.component import blank
from sextortion_signals.match.matcher import MAX_HITS_PER_SIGNAL
from sextortion_signals.rules.compile import ruleset
from sextortion_signals.rules.registry import rule_languages
from sextortion_signals.text.language import detect
from sextortion_signals.text.normalize import normalize

Hit = tuple[str, int, int]  # (signal, start, end) in the original text


@cache
def _pack(lang: str) -> tuple[Language, Matcher, PhraseMatcher,
                              dict[str, tuple[str, frozenset[str]]]]:
    nlp = blank(lang)
    matcher = Matcher(nlp.vocab)
    phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
    info = {}
    for rule in ruleset(lang).rules:
        info[rule.id] = (rule.signal, rule.unless_next)
        if rule.pattern is not None:
            matcher.add(rule.id, [list(rule.pattern)])
        else:
            phrases.add(rule.id, [nlp.make_doc(lit) for lit in rule.literals])
    return nlp, matcher, phrases, info


def pack_hits(lang: str, text: str) -> set[Hit]:
    nlp, matcher, phrases, info = _pack(lang)
    norm = normalize(text)
    doc = nlp.make_doc(norm.text)
    by_signal: dict[str, list[Span]] = {}
    for match_id, start, end in [*matcher(doc), *phrases(doc)]:
        rule_id = nlp.vocab.strings[match_id]
        signal, unless_next = info[rule_id]
        if unless_next and end < len(doc) and doc[end].lower_ in unless_next:
            continue
        by_signal.setdefault(signal, []).append(Span(doc, start, end))
    out: set[Hit] = set()
    for signal, spans in by_signal.items():
        kept = sorted(filter_spans(spans), key=lambda s: s.start)[:MAX_HITS_PER_SIGNAL]
        for span in kept:
            start, end = norm.to_original(span.start_char, span.end_char)
            out.add((signal, start, end))
    return out


def reference_hits(text: str) -> set[Hit]:
    """Every hit of one message, as scoring should find it."""
    lang = detect(normalize(text).text)
    packs = (lang,) if lang in rule_languages() else rule_languages()
    return set().union(*(pack_hits(pack, text) for pack in packs))
