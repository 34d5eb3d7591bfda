"""Typed indicators: amounts with currency, payment handles and channels, deadlines,
platforms, @handles, phone numbers.

Lexicon terms (currencies, channels, platforms, durations, deadline phrases, number words;
``data/indicators.json``) are matched on the normalised text, so "ſnapchat", "P4YPAL" and
"G I F T card" read as they are meant and every value is canonical; spans are mapped back
to the caller's text. Identifiers whose case matters (wallets) and those with symbols
(cashtags, e-mails, @handles, phones) are matched on the original text. Every regex is
linear: bounded character classes, literal alternations, no nested quantifiers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntFlag
from functools import cache
from importlib import resources
from typing import Any

from .results import Indicator
from .text.language import word_lists
from .text.normalize import NormalizedText, normalize

__all__ = ["Indicator", "IndicatorFinder", "IndicatorGate", "find_indicators", "finder"]


class IndicatorGate(IntFlag):
    """What a text holds that some indicator regex needs; a regex runs only when its
    gates are open. A lexicon's gate opens when the text has one of its key words (for
    each term, one of its letter runs: a term matches on word boundaries, so its runs are
    whole runs of the text)."""

    NONE = 0
    DIGIT = 1  # amounts, wallets, phones, durations in figures
    DOLLAR = 2  # cashtags
    AT = 4  # e-mails, @handles
    CHANNEL = 8
    PLATFORM = 16
    PHRASE = 32  # deadline phrases
    NUMBER_WORD = 64  # "two", "deux"...
    UNIT = 128  # duration units


# Hot paths combine the bits as plain ints (making an IntFlag costs microseconds).
_DIGIT_GATE, _DOLLAR_GATE, _AT_GATE = (int(IndicatorGate.DIGIT), int(IndicatorGate.DOLLAR),
                                       int(IndicatorGate.AT))
_CHANNEL_GATE, _PLATFORM_GATE, _PHRASE_GATE = (int(IndicatorGate.CHANNEL),
                                               int(IndicatorGate.PLATFORM),
                                               int(IndicatorGate.PHRASE))
_NUMBER_GATE, _UNIT_GATE = int(IndicatorGate.NUMBER_WORD), int(IndicatorGate.UNIT)

_NUMBER = r"\d[\d.,]{0,12}"
_BTC = re.compile(r"(?<![A-Za-z0-9])(?:bc1[a-z0-9]{25,62}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})"
                  r"(?![A-Za-z0-9])")
_ETH = re.compile(r"(?<![A-Za-z0-9])0x[a-fA-F0-9]{40}(?![A-Za-z0-9])")
_CASHTAG = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z0-9_]{1,20}(?![\w])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[A-Za-z]{2,12}(?![\w])")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d .-]{6,16}\d(?!\w)")
_WORD_RUN = re.compile(r"[a-z]+")
_DIGIT = re.compile(r"\d")
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def _alternation(terms: Iterable[str]) -> str:
    """Longest first so "gift card" wins over "gift"; each term escaped (data, not regex);
    an apostrophe stands for either apostrophe."""
    return "|".join(re.escape(t).replace("'", "['’]")
                    for t in sorted(set(terms), key=len, reverse=True))


def _with_plurals(term: str) -> list[str]:
    """``term`` and the forms where each of its words may take a plural -s or -x."""
    forms = [""]
    for k, word in enumerate(term.split(" ")):
        options = [word] if not word[-1:].isalpha() else [word, word + "s", word + "x"]
        forms = [f + (" " if k else "") + o for f in forms for o in options]
    return forms


def _fold(term: str) -> str:
    return normalize(term).text


def _key_runs(terms: Iterable[str]) -> set[str]:
    """One letter run of each term: the rarest by a rough guess (not a frequent word of
    any language list, then the longest: "soir" of "ce soir"). A term without letters
    cannot be gated by words (none ships)."""
    frequent = {w for words in word_lists().values() for w in words}
    keys: set[str] = set()
    for term in terms:
        runs = _WORD_RUN.findall(term)
        if not runs:
            raise ValueError(f"indicator term {term!r} has no letters to gate on")
        keys.add(max(runs, key=lambda r: (r not in frequent, len(r))))
    return keys


@dataclass(frozen=True, slots=True)
class IndicatorFinder:
    """Compiled lexicons (immutable: share it between threads)."""

    amount_prefix: re.Pattern[str]
    amount_suffix: re.Pattern[str]
    currency_of: dict[str, str]
    channel: re.Pattern[str]
    channel_kind: dict[str, str]
    platform: re.Pattern[str]
    duration: re.Pattern[str]
    unit_seconds: dict[str, float]
    number_of: dict[str, float]
    deadline_phrase: re.Pattern[str]
    keys: dict[str, IndicatorGate]  # key run -> the lexicon gates it opens

    def word_gates(self, run: str) -> int:
        """The lexicon gates (``IndicatorGate`` bits) one letter run of a normalised text
        opens."""
        return int(self.keys.get(run, 0))

    def text_gates(self, original: str, word_gates: int = 0) -> int:
        """All gates of a message, given what the runs of its normalised text open
        (``word_gates``, OR-ed); characters are looked for in the original text (l33t
        undoing turns "$" and "@" into letters)."""
        gates = word_gates
        if _DIGIT.search(original) is not None:
            gates |= _DIGIT_GATE
        if "$" in original:
            gates |= _DOLLAR_GATE
        if "@" in original:
            gates |= _AT_GATE
        return gates  # ``IndicatorGate`` bits as an int: no enum is made

    def gates(self, norm: NormalizedText) -> int:
        """All gates of a normalised message."""
        bits = 0
        for run in _WORD_RUN.findall(norm.text):
            bits |= self.keys.get(run, 0)
        return self.text_gates(norm.original, bits)

    def find(self, norm: NormalizedText, message_index: int = 0,
             gates: int | None = None) -> list[Indicator]:
        """All indicators of one normalised message, sorted by position. ``gates``: the
        text's gates, when the caller has them (``gates(norm.text)``)."""
        if gates is None:
            gates = self.gates(norm)
        if not gates:
            return []
        text, original = norm.text, norm.original
        found: list[Indicator] = []

        def add(kind: str, value: str, m: re.Match[str], group: int = 0, *,
                mapped: bool = True, **extra: Any) -> None:
            start, end = m.span(group)
            if mapped:
                start, end = norm.to_original(start, end)
            found.append(Indicator(kind, value, message_index, start, end,
                                   original[start:end], **extra))

        has_digit = gates & _DIGIT_GATE
        if has_digit:
            self._amounts(text, add)
            for m in _BTC.finditer(original):
                if any(c.isalpha() for c in m.group()) and any(c.isdigit() for c in m.group()):
                    add("crypto_wallet", "btc", m, mapped=False)
            for m in _ETH.finditer(original):
                add("crypto_wallet", "eth", m, mapped=False)
        if gates & _DOLLAR_GATE:
            for m in _CASHTAG.finditer(original):
                add("cashtag", m.group().lower(), m, mapped=False)
        if gates & _AT_GATE:
            for m in _EMAIL.finditer(original):
                add("email", m.group().lower(), m, mapped=False)
            for m in _HANDLE.finditer(original):
                add("handle", m.group().lower().rstrip("."), m, mapped=False)
        if gates & _CHANNEL_GATE:
            for m in self.channel.finditer(text):
                add("payment_channel", self.channel_kind[m.group(1)], m, 1)
        if gates & _PLATFORM_GATE:
            for m in self.platform.finditer(text):
                add("platform", m.group(1), m, 1)
        if gates & _PHRASE_GATE:
            for m in self.deadline_phrase.finditer(text):
                add("deadline", m.group(1), m, 1)
        if gates & _UNIT_GATE and gates & (_DIGIT_GATE | _NUMBER_GATE):
            for m in self.duration.finditer(text):
                count = m.group(1)
                n = _parse_number(count) if count[0].isdigit() else self.number_of.get(count)
                unit = self.unit_seconds.get(m.group(2))
                if n is not None and unit is not None and (count[0].isdigit() or n):
                    seconds = n * unit
                    add("deadline", f"{seconds:g} s", m, seconds=seconds)
        if has_digit:
            for m in _PHONE.finditer(original):
                digits = sum(c.isdigit() for c in m.group())
                if 8 <= digits <= 15:
                    add("phone", "".join(c for c in m.group() if c.isdigit() or c == "+"), m,
                        mapped=False)
        found.sort(key=lambda i: (i.start, i.end, i.kind))
        return found

    def _amounts(self, text: str, add: Callable[..., None]) -> None:
        for pattern, number, currency in ((self.amount_prefix, 2, 1),
                                          (self.amount_suffix, 1, 2)):
            for m in pattern.finditer(text):
                amount = _parse_number(m.group(number))
                if amount is not None:
                    cur = self.currency_of[m.group(currency)]
                    add("amount", f"{amount:g} {cur}", m, amount=amount, currency=cur)


def _parse_number(raw: str) -> float | None:
    """'1.500,50' / '1,500.50' / '150' / '150,5' -> float; ambiguous junk -> None."""
    s = raw.rstrip(".,")
    if not s:
        return None
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    dec = max(last_dot, last_comma)
    if dec != -1 and len(s) - dec - 1 in (1, 2):
        int_part, frac = s[:dec], s[dec + 1:]
    else:
        int_part, frac = s, ""
    int_digits = int_part.replace(".", "").replace(",", "")
    if not int_digits.isdigit() or (frac and not frac.isdigit()):
        return None
    return float(f"{int_digits}.{frac or 0}")


def _build(lex: dict[str, Any]) -> IndicatorFinder:
    currency_of: dict[str, str] = {}
    symbols: list[str] = []
    words: list[str] = []
    for code, spec in lex["currencies"].items():
        for s in spec["symbols"]:
            currency_of[_fold(s)] = code
            symbols.append(_fold(s))
        for w in spec["words"]:
            currency_of[_fold(w)] = code
            words.append(_fold(w))
    channel_kind = {form: kind for kind, terms in lex["payment_channels"].items()
                    for term in terms for form in _with_plurals(_fold(term))}
    platforms = [_fold(p) for p in lex["platforms"]]
    unit_seconds = {_fold(sp): _UNIT_SECONDS[unit]
                    for unit, spellings in lex["duration_units"].items() for sp in spellings}
    number_of = {_fold(w): float(n) for per_lang in lex["number_words"].values()
                 for w, n in per_lang.items()}
    phrases = [_fold(p) for per_lang in lex["deadline_phrases"].values() for p in per_lang]
    keys: dict[str, IndicatorGate] = {}
    for gate, terms in ((IndicatorGate.CHANNEL, channel_kind), (IndicatorGate.PLATFORM, platforms),
                        (IndicatorGate.PHRASE, phrases), (IndicatorGate.NUMBER_WORD, number_of),
                        (IndicatorGate.UNIT, unit_seconds)):
        for run in _key_runs(terms):
            keys[run] = keys.get(run, IndicatorGate.NONE) | gate
    count = rf"\d{{1,4}}(?:[.,]\d)?|{_alternation(number_of)}"
    return IndicatorFinder(
        amount_prefix=re.compile(rf"(?<![\w$€£])({_alternation(symbols)})\s?({_NUMBER})(?!\d)"),
        amount_suffix=re.compile(
            rf"(?<![\w.,])({_NUMBER})\s?({_alternation(symbols + words)})(?![a-z])"),
        currency_of=currency_of,
        channel=re.compile(rf"(?<!\w)({_alternation(channel_kind)})(?!\w)"),
        channel_kind=channel_kind,
        platform=re.compile(rf"(?<![\w@])({_alternation(platforms)})(?!\w)"),
        duration=re.compile(rf"(?<![\w.,])({count})[ -]?({_alternation(unit_seconds)})(?![a-z])"),
        unit_seconds=unit_seconds,
        number_of=number_of,
        deadline_phrase=re.compile(rf"(?<!\w)({_alternation(phrases)})(?!\w)"),
        keys=keys,
    )


@cache
def finder() -> IndicatorFinder:
    """The shipped lexicons, compiled once (immutable)."""
    path = resources.files("sextortion_signals") / "data" / "indicators.json"
    return _build(json.loads(path.read_text(encoding="utf-8")))


def find_indicators(text: str, message_index: int = 0) -> list[Indicator]:
    """All indicators in one raw message, sorted by position."""
    return finder().find(normalize(text), message_index)
