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


def reference_frame_hits(conversation: object) -> set[tuple[str, int, int, int]]:
    """Frame hits of a conversation the plain way: every message's concepts looked for, every
    frame checked in every scope, bursts rebuilt from the message list.
    Returns (frame id, message index, start, end)."""
    from sextortion_signals import frames as fr
    from sextortion_signals.inputs import Limits, coerce_conversation
    from sextortion_signals.match.analyze import default_analyzer

    conv = coerce_conversation(conversation, Limits())
    analyzer = default_analyzer()
    langs = [a.lang for a in analyzer.analyse([conv])[0]]
    norms = [normalize(m.text) for m in conv.messages]
    found = [fr.matcher(lang, analyzer.languages).find(n.text)
             for lang, n in zip(langs, norms, strict=True)]
    out: set[tuple[str, int, int, int]] = set()

    def add(frame: fr.Frame, k: int, occurrences: list[fr.Occurrence]) -> None:
        parts = frame.parts(occurrences)
        if parts:
            lo, hi = min(o.start for o in parts), max(o.end for o in parts)
            start, _ = norms[k].to_original(lo, lo)
            _, end = norms[k].to_original(hi - 1, hi)
            out.add((frame.id, k, start, end))

    for k, msg in enumerate(conv.messages):
        burst = [k]  # this sender's consecutive messages, each close to the one before
        j = k
        while (j > 0 and len(burst) < fr.BURST_MESSAGES
               and conv.messages[j - 1].sender == msg.sender):
            t0, t1 = conv.messages[j - 1].timestamp, conv.messages[j].timestamp
            if t0 is not None and t1 is not None and not 0 <= t1 - t0 <= fr.BURST_SECONDS:
                break
            j -= 1
            burst.insert(0, j)
        mine = {o.concept for o in found[k]}
        for frame in fr.frames():
            if frame.scope == "clause":
                for clause in sorted({o.clause for o in found[k]}):
                    in_clause = [o for o in found[k] if o.clause == clause]
                    if frame.satisfied({o.concept for o in in_clause}):
                        add(frame, k, in_clause)
                        break
            elif frame.scope == "message":
                if frame.satisfied(mine):
                    add(frame, k, found[k])
            elif len(burst) > 1 and not frame.satisfied(mine):
                core = {*frame.all, *frame.any}
                together = {o.concept for i in burst for o in found[i]}
                if frame.satisfied(together) and mine & core:
                    for i in burst:
                        if any(o.concept in core for o in found[i]):
                            add(frame, i, found[i])
    return out
