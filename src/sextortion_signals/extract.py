"""Text -> signal hits and indicators, for one conversation or a batch.

Per message: read its chunks once (``scan.py``: normalise with an offset map, detect the
language, the packs whose gates pass, the indicator regexes worth running) -> one ``Doc``
per passing pack, through that pack's blank tokenizer and rules (``SignalMatcher``) ->
spans mapped back to the original text. Unknown-language messages try every pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from spacy.tokenizer import Tokenizer

from ._plain import flat_dict, slot_setters
from .indicators import Indicator, find_gated, find_indicators
from .messages import Conversation, Limits, coerce_conversation
from .normalize import NormalizedText
from .scan import scanner_for
from .signals.pipe import bounded_vocab, build_nlp, signal_matcher
from .signals.registry import get, rule_languages

__all__ = ["MessageAnalysis", "SignalHit", "analyse", "analyse_many", "extract_indicators",
           "extract_signals", "extract_signals_many"]


@dataclass(frozen=True, slots=True)
class SignalHit:
    name: str
    category: str
    message_index: int
    start: int  # offsets into the ORIGINAL message text
    end: int
    text: str
    lang: str
    rule_id: str

    def to_dict(self) -> dict[str, Any]:
        return flat_dict(self)


_HIT_SET = slot_setters(SignalHit, ("name", "category", "message_index", "start", "end",
                                    "text", "lang", "rule_id"))


def _hit(name: str, category: str, message_index: int, start: int, end: int, text: str,
         lang: str, rule_id: str) -> SignalHit:
    """``SignalHit(...)``, built slot by slot (a third of its ``__init__``'s cost: one
    is made per rule hit)."""
    hit = object.__new__(SignalHit)
    set_name, set_category, set_index, set_start, set_end, set_text, set_lang, set_rule = (
        _HIT_SET)
    set_name(hit, name)
    set_category(hit, category)
    set_index(hit, message_index)
    set_start(hit, start)
    set_end(hit, end)
    set_text(hit, text)
    set_lang(hit, lang)
    set_rule(hit, rule_id)
    return hit


class MessageAnalysis(NamedTuple):
    """Everything the scorer needs about one message, computed once. A named tuple: one
    is made per message, at a third of a frozen dataclass's cost."""

    message_index: int  # the caller's message index
    lang: str | None  # detected language, None if unknown or mixed
    hits: tuple[SignalHit, ...]
    indicators: tuple[Indicator, ...] = ()  # sorted by position


_new = tuple.__new__

# Per pack: (job key, caller message index, normalised text, complete gate units) of the
# messages its gate let through.
_Jobs = dict[str, list[tuple[int, int, NormalizedText, tuple[int, ...]]]]


def _run_packs(by_pack: _Jobs) -> dict[int, list[SignalHit]]:
    """Returns the hits of each job key of ``by_pack`` that has any."""
    out: dict[int, list[SignalHit]] = {}
    for pack, items in by_pack.items():
        nlp = build_nlp(pack)
        find = signal_matcher(nlp).find
        # Tokenizer + matcher called directly: no spaCy pipe plumbing, no Spans. Nothing
        # made of a doc outlives it (hits hold offsets and strings of our own).
        tokenizer = cast(Tokenizer, nlp.tokenizer)
        with bounded_vocab(nlp):
            docs = tokenizer.pipe([norm.text for _, _, norm, _ in items], batch_size=256)
            for (key, index, norm, units), doc in zip(items, docs, strict=True):
                for m in find(doc, units):
                    start, end = norm.to_original(m.start_char, m.end_char)
                    out.setdefault(key, []).append(_hit(
                        m.signal, get(m.signal).category, index, start, end,
                        norm.original[start:end], pack, m.rule_id))
    return out


def _dedupe(hits: list[SignalHit]) -> tuple[SignalHit, ...]:
    # The same span found by two packs (unknown language) counts once.
    if len(hits) < 2:
        return tuple(hits)
    seen: set[tuple[str, int, int]] = set()
    unique: list[SignalHit] = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end, h.name, h.lang)):
        key = (hit.name, hit.start, hit.end)
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    return tuple(unique)


def analyse_many(conversations: Sequence[Conversation]) -> list[list[MessageAnalysis]]:
    """Analyse every message of every conversation in one batched pass per language."""
    # Messages no rule of a pack can match are never tokenized (see signals/screen.py),
    # and are dropped here, before any bookkeeping: most messages stop at the screen.
    packs = rule_languages()
    scan = scanner_for(packs).scan
    by_pack: _Jobs = {pack: [] for pack in packs}
    # Flat id -> (conversation, message index, language, indicators).
    flat_index: list[tuple[int, int, str | None, tuple[Indicator, ...]]] = []
    for c, conv in enumerate(conversations):
        for index, msg in enumerate(conv.messages, start=conv.offset):
            norm, detected, passing, gates = scan(msg.text)
            flat = len(flat_index)
            flat_index.append((c, index, detected,
                               tuple(find_gated(msg.text, index, gates)) if gates else ()))
            if norm is not None:
                for pack, units in passing:
                    by_pack[pack].append((flat, index, norm, units))
    hits = _run_packs(by_pack)
    result: list[list[MessageAnalysis]] = [[] for _ in conversations]
    for flat, (c, index, detected, indicators) in enumerate(flat_index):
        found = hits.get(flat)
        # ``tuple.__new__``: half the cost of the named tuple's ``__new__``, per message.
        result[c].append(_new(MessageAnalysis, (index, detected,
                                                _dedupe(found) if found else (), indicators)))
    return result


def analyse(conversation: Conversation) -> list[MessageAnalysis]:
    return analyse_many([conversation])[0]


def extract_signals(messages: Any, *, limits: Limits | None = None) -> list[SignalHit]:
    """Signal hits of one message or conversation (see ``coerce_conversation``)."""
    conv = coerce_conversation(messages, limits)
    return [hit for m in analyse(conv) for hit in m.hits]


def extract_signals_many(conversations: Iterable[Any], *,
                         limits: Limits | None = None) -> list[list[SignalHit]]:
    """Batch form of ``extract_signals``: one batched tokenizer pass per language, then the
    signal component's ``find`` (the same hits ``nlp.pipe`` would put in ``doc.spans``)."""
    convs = [coerce_conversation(c, limits) for c in conversations]
    return [[hit for m in analysed for hit in m.hits] for analysed in analyse_many(convs)]


def extract_indicators(messages: Any, *, limits: Limits | None = None) -> list[Indicator]:
    """Typed indicators (amounts, payment handles, deadlines, platforms, handles, phones)."""
    conv = coerce_conversation(messages, limits)
    return [ind for i, msg in enumerate(conv.messages)
            for ind in find_indicators(msg.text, conv.offset + i)]
