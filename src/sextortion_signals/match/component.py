"""The spaCy component, and the path every signal hit takes.

``nlp.add_pipe("sextortion_signals")`` on ``spacy.blank("en")`` or ``spacy.blank("fr")``
adds a ``SignalComponent``; its hits go to ``doc.spans["sextortion_signals"]`` (label: the
signal, ``id_``: the rule). The library's own scoring calls the same component's
``find_many``: one path.

The component normalises the doc's text (``text/normalize.py``), asks the prefilter which
rules may match, tokenizes the normalised text with a tokenizer of its own and matches
(``matcher.py``); offsets are mapped back to the doc's text. Its tokenizer is a blank
pipeline of the rules' language (plus a digit/letter split, "10min" -> "10" "min"),
whatever the host pipeline's, so the same text gets the same hits in every pipeline.
French uses a light equivalent of ``spacy.blank("fr")``, whose tokenizer exceptions take
seconds to build: text reaching it is lowercase and accent-folded, where the two agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple, cast

import spacy
from spacy.lang.char_classes import ALPHA
from spacy.lang.punctuation import TOKENIZER_INFIXES
from spacy.lang.tokenizer_exceptions import BASE_EXCEPTIONS
from spacy.language import BaseDefaults, Language
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex

from ..locks import owned_lock
from ..rules.compile import CompiledRule, RuleSet, ruleset
from ..text.normalize import NormalizedText, normalize
from .matcher import MAX_HITS_PER_SIGNAL, SignalMatcher
from .prefilter import Candidates, Prefilter

SPAN_KEY = "sextortion_signals"
# Lexemes a component's tokenizer keeps from the text it reads. Every new word (a typo, a
# URL, a hash) adds one to its vocab for the life of the process; past this many, the
# component starts a fresh tokenizer and matcher (rare: the common words come back at once).
MAX_LEXEMES = 200_000
_DIGIT_LETTER_INFIX = r"(?<=[0-9])(?=[a-z€$£])"
_ELISION = "'’"


class Match(NamedTuple):
    """One hit, with offsets into the text the component was given."""

    signal: str
    rule_id: str
    start: int
    end: int


class _FrenchLiteDefaults(BaseDefaults):
    infixes = [*TOKENIZER_INFIXES,  # noqa: RUF012 (spaCy's own defaults pattern)
               rf"(?<=[{ALPHA}][{_ELISION}])(?=[{ALPHA}])"]
    tokenizer_exceptions = {  # noqa: RUF012
        **BASE_EXCEPTIONS, "aujourd'hui": [{ORTH: "aujourd'hui"}]}


class _FrenchLite(Language):  # type: ignore[no-untyped-call]
    lang = "fr"
    Defaults = _FrenchLiteDefaults


_LIGHT_LANGUAGES: dict[str, type[Language]] = {"fr": _FrenchLite}


def blank(lang: str) -> Language:
    """The component's own tokenizer pipeline for ``lang``: ``spacy.blank(lang)`` (or its
    light equivalent) with the digit/letter split."""
    light = _LIGHT_LANGUAGES.get(lang)
    nlp = light() if light is not None else spacy.blank(lang)
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    infixes = [*(nlp.Defaults.infixes or ()), _DIGIT_LETTER_INFIX]
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    return nlp


class _Engine(NamedTuple):
    nlp: Language
    matcher: SignalMatcher


class SignalComponent:
    """Finds the signal hits of one language's rules (see the module docstring)."""

    def __init__(self, nlp: Language | None, name: str = "sextortion_signals", *,
                 lang: str | None = None, rules: RuleSet | None = None,
                 max_hits_per_signal: int = MAX_HITS_PER_SIGNAL) -> None:
        self.name = name
        self.lang: str = lang or (nlp.lang if nlp is not None and nlp.lang else "en")
        self.rules = rules if rules is not None else ruleset(self.lang)
        self.max_hits_per_signal = max_hits_per_signal
        self._lock = owned_lock(self)
        self._engine = self._new_engine()
        self.prefilter = self._engine.matcher.prefilter

    def _new_engine(self, prefilter: Prefilter | None = None) -> _Engine:
        nlp = blank(self.lang)
        return _Engine(nlp, SignalMatcher(self.rules, nlp, self.max_hits_per_signal, prefilter))

    def engine(self) -> _Engine:
        """The tokenizer and matcher to use now (fresh once the vocab is full)."""
        engine = self._engine
        if len(engine.nlp.vocab) < MAX_LEXEMES:
            return engine
        with self._lock:
            if self._engine is engine:  # else another thread just made a fresh one
                self._engine = self._new_engine(self.prefilter)
            return self._engine

    def find_many(self, texts: Sequence[NormalizedText],
                  candidates: Sequence[Candidates] | None = None) -> list[list[Match]]:
        """The hits of each normalised text, offsets into its original text, sorted.
        ``candidates``: the prefilter's answers, when the caller has them."""
        engine = self.engine()
        matcher = engine.matcher
        if candidates is None:
            candidates = [matcher.candidates(t.text) for t in texts]
        out: list[list[Match]] = [[] for _ in texts]
        todo = [k for k, c in enumerate(candidates) if c]
        tokenizer = cast(Tokenizer, engine.nlp.tokenizer)
        docs = tokenizer.pipe([texts[k].text for k in todo], batch_size=256)
        for k, doc in zip(todo, docs, strict=True):
            norm = texts[k]
            for m in matcher.find(doc, candidates[k]):
                start, end = norm.to_original(m.start_char, m.end_char)
                out[k].append(Match(m.signal, m.rule_id, start, end))
        return out

    def find(self, text: str) -> list[Match]:
        """The hits of one raw text, offsets into it."""
        return self.find_many([normalize(text)])[0]

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._set_spans(batch)
                batch = []
        yield from self._set_spans(batch)

    def _set_spans(self, docs: list[Doc]) -> list[Doc]:
        found = self.find_many([normalize(doc.text) for doc in docs])
        for doc, matches in zip(docs, found, strict=True):
            spans: list[Span] = []
            for m in matches:
                span = doc.char_span(m.start, m.end, label=m.signal, span_id=m.rule_id,
                                     alignment_mode="expand")
                if span is not None:
                    spans.append(span)
            doc.spans[SPAN_KEY] = spans
        return docs

    # -- spaCy serialisation: rules.jsonl (the compiled plan) + cfg.json ----------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "rules.jsonl").open("w", encoding="utf-8") as fh:
            for rule in self.rules.rules:
                row = asdict(rule)
                row["required"] = [sorted(group) for group in rule.required]
                row["unless_next"] = sorted(rule.unless_next)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        cfg = {"lang": self.lang, "max_hits_per_signal": self.max_hits_per_signal}
        (folder / "cfg.json").write_text(json.dumps(cfg) + "\n", encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> SignalComponent:
        folder = Path(path)
        cfg = json.loads((folder / "cfg.json").read_text(encoding="utf-8"))
        rules: list[CompiledRule] = []
        for line in (folder / "rules.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rules.append(CompiledRule(
                row["id"], row["signal"], row["category"],
                None if row["pattern"] is None else tuple(row["pattern"]),
                tuple(row["literals"]), tuple(frozenset(g) for g in row["required"]),
                frozenset(row["unless_next"]), row["source"]))
        self.lang = str(cfg["lang"])
        self.max_hits_per_signal = int(cfg["max_hits_per_signal"])
        self.rules = RuleSet(self.lang, tuple(rules))
        self._engine = self._new_engine()
        self.prefilter = self._engine.matcher.prefilter
        return self


@Language.factory("sextortion_signals",
                  default_config={"lang": None, "max_hits_per_signal": MAX_HITS_PER_SIGNAL})
def make_signal_component(nlp: Language, name: str, lang: str | None,
                          max_hits_per_signal: int) -> SignalComponent:
    return SignalComponent(nlp, name, lang=lang, max_hits_per_signal=max_hits_per_signal)
