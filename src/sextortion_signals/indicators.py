"""Typed indicator extraction: amounts with currency, payment handles and channels,
deadlines, platforms, @handles, phone numbers.

Runs on the ORIGINAL text (offsets need no mapping, wallet addresses stay intact). Every
regex is linear: bounded character classes, literal alternations, no nested quantifiers.
Lexicons are data (``data/indicators.json``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import ahocorasick

from ._plain import flat_dict
from .lang import word_lists

__all__ = ["Indicator", "chunk_gates", "find_gated", "find_indicators"]


@dataclass(frozen=True, slots=True)
class Indicator:
    kind: str  # amount | crypto_wallet | cashtag | email | payment_channel | deadline |
    #            platform | handle | phone
    value: str  # canonical form: "150 EUR", "gift_card", "600 s", "snapchat"...
    message_index: int
    start: int
    end: int
    text: str
    amount: float | None = None
    currency: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return flat_dict(self)


def _alternation(terms: list[str]) -> str:
    # Longest first so "gift card" wins over "gift"; each term escaped (data, not regex).
    return "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))


def _starts_with_one_of(terms: list[str]) -> str:
    """Lookahead on the terms' first characters: the same condition the alternation checks
    first, but as one character class, so most positions are rejected at once."""
    firsts = sorted({t[0] for t in terms if t})
    return "(?=[" + "".join(re.escape(ch) for ch in firsts) + "])"


@dataclass(frozen=True, slots=True)
class _Compiled:
    amount_prefix: re.Pattern[str]
    amount_suffix: re.Pattern[str]
    currency_of: dict[str, str]
    channel: re.Pattern[str]
    channel_kind: dict[str, str]
    platform: re.Pattern[str]
    duration: re.Pattern[str]
    unit_seconds: dict[str, float]
    deadline_phrase: re.Pattern[str]
    # Which lexicon regexes may match a text: see ``_lexicons_in``.
    keys: Any  # ahocorasick.Automaton: key run -> (its length, bits of its lexicons)
    always: int  # bits of lexicons with a term without letters: their regex always runs
    run_chars: frozenset[str]  # the letters the lexicons use (a-z and a few others)


_NUMBER = r"\d[\d.,]{0,12}"
_BTC = re.compile(r"(?<![A-Za-z0-9])(?:bc1[a-z0-9]{25,62}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})"
                  r"(?![A-Za-z0-9])")
_ETH = re.compile(r"(?<![A-Za-z0-9])0x[a-fA-F0-9]{40}(?![A-Za-z0-9])")
_CASHTAG = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z0-9_]{1,20}(?![\w])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[A-Za-z]{2,12}(?![\w])")
_DIGIT = re.compile(r"\d")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d .-]{6,16}\d(?!\w)")
_LETTERS = re.compile(r"[^\W\d_]+")


def _key_runs(terms: list[str]) -> frozenset[str] | None:
    """One letter run of each term, the rarest by a rough guess: not a frequent word of
    any language (``lang`` word lists), then the longest ("soir" of "ce soir")."""
    frequent = {w for words in word_lists().values() for w in words}
    keys: set[str] = set()
    for term in terms:
        runs = _LETTERS.findall(term.lower())
        if not runs:
            return None
        keys.add(max(runs, key=lambda r: (r not in frequent, len(r))))
    return frozenset(keys)


_CHANNELS, _PLATFORMS, _PHRASES = 1, 2, 4  # lexicon bits
_ALL_LEXICONS = _CHANNELS | _PLATFORMS | _PHRASES
_DIGITS, _AT, _DOLLAR = 8, 16, 32  # characters that other regexes need
_ALL_GATES = _ALL_LEXICONS | _DIGITS | _AT | _DOLLAR


def _key_automaton(keys: dict[int, frozenset[str] | None]) -> tuple[Any, int, frozenset[str]]:
    """(automaton of every key run -> (length, lexicon bits), bits of lexicons without
    keys, the letters of all key runs)."""
    bits_of: dict[str, int] = {}
    always = 0
    for bit, words in keys.items():
        if words is None:
            always |= bit
            continue
        for word in words:
            bits_of[word] = bits_of.get(word, 0) | bit
    automaton = ahocorasick.Automaton()
    for word, bits in bits_of.items():
        automaton.add_word(word, (len(word), bits))
    automaton.make_automaton()
    return automaton, always, frozenset("abcdefghijklmnopqrstuvwxyz").union(*bits_of)


def _lexicons_in(text: str, c: _Compiled) -> int:
    """Bits of the lexicons whose regex may match ``text``.

    Terms match between non-word characters, so every letter run of a matched term is a
    whole letter run of the text: a lexicon none of whose key runs occurs in the text as a
    whole run (of the letters the lexicons use) cannot match, and its regex (~3-5 us a
    message) is skipped. The key runs are found in one pass (Aho-Corasick, pyahocorasick,
    as in the rule gate); each occurrence counts if no such letter touches it. Every regex
    runs where ``str.lower`` and ``re.IGNORECASE`` may disagree: "İ" lowers to two
    characters, and the regex engine also equates "ı" with "i" and "ſ" with "s"."""
    low = text.lower()
    if len(low) != len(text) or (not low.isascii() and ("ı" in low or "ſ" in low)):
        return _ALL_LEXICONS
    bits, letters, last = c.always, c.run_chars, len(low) - 1
    for end, (length, key_bits) in c.keys.iter(low):
        if bits & key_bits == key_bits:
            continue
        start = end - length + 1
        if ((start == 0 or low[start - 1] not in letters)
                and (end == last or low[end + 1] not in letters)):
            bits |= key_bits
    return bits


def _gates(text: str, c: _Compiled) -> int:
    """Which regexes may match ``text``, a whole text or one whitespace-free chunk of it:
    lexicon bits (``_lexicons_in``) and characters. The characters are not whitespace,
    and a lexicon key (a whole run of letters) lies inside one chunk, where a chunk's edge
    counts as its edge in the text (whitespace is no letter): so a text's bits are its
    chunks' bits together, which ``scan.py`` keeps per distinct chunk."""
    bits = _lexicons_in(text, c)
    if _DIGIT.search(text) is not None:
        bits |= _DIGITS
    if "@" in text:
        bits |= _AT
    if "$" in text:
        bits |= _DOLLAR
    return bits


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    path = resources.files("sextortion_signals") / "data" / "indicators.json"
    lex = json.loads(path.read_text(encoding="utf-8"))
    currency_of: dict[str, str] = {}
    symbols: list[str] = []
    words: list[str] = []
    for code, spec in lex["currencies"].items():
        for s in spec["symbols"]:
            currency_of[s.lower()] = code
            symbols.append(s)
        for w in spec["words"]:
            currency_of[w.lower()] = code
            words.append(w)
    channel_kind = {term.lower(): kind for kind, terms in lex["payment_channels"].items()
                    for term in terms}
    unit_seconds = {}
    factor = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
    for unit, spellings in lex["duration_units"].items():
        for sp in spellings:
            unit_seconds[sp.lower()] = factor[unit]
    phrases = [p for per_lang in lex["deadline_phrases"].values() for p in per_lang]
    keys, always, run_chars = _key_automaton({
        _CHANNELS: _key_runs(list(channel_kind)), _PLATFORMS: _key_runs(lex["platforms"]),
        _PHRASES: _key_runs(phrases)})
    return _Compiled(
        amount_prefix=re.compile(rf"(?<![\w$€£])({_alternation(symbols)})\s?({_NUMBER})(?!\d)",
                                 re.IGNORECASE),
        amount_suffix=re.compile(
            rf"(?<![\w.,])({_NUMBER})\s?({_alternation(symbols + words)})(?![A-Za-z])",
            re.IGNORECASE),
        currency_of=currency_of,
        channel=re.compile(rf"{_starts_with_one_of(list(channel_kind))}(?<!\w)"
                           rf"({_alternation(list(channel_kind))})(?!\w)",
                           re.IGNORECASE),
        channel_kind=channel_kind,
        platform=re.compile(rf"{_starts_with_one_of(lex['platforms'])}(?<![\w@])"
                            rf"({_alternation(lex['platforms'])})(?!\w)",
                            re.IGNORECASE),
        duration=re.compile(rf"(?<![\w.,])(\d{{1,4}})\s?({_alternation(list(unit_seconds))})"
                            r"(?![A-Za-z])", re.IGNORECASE),
        unit_seconds=unit_seconds,
        deadline_phrase=re.compile(rf"{_starts_with_one_of(phrases)}(?<!\w)"
                                   rf"({_alternation(phrases)})(?!\w)", re.IGNORECASE),
        keys=keys, always=always, run_chars=run_chars,
    )


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


def chunk_gates(chunk: str) -> int:
    """Gate bits of one whitespace-free chunk of a text: those of a text are its chunks'
    bits together (see ``_gates``), for a caller that reads the chunks anyway."""
    return _gates(chunk, _compiled())


def find_indicators(text: str, message_index: int = 0) -> list[Indicator]:
    """All indicators in one message, sorted by position."""
    # Cheap gates first: most chat messages have no digit, "$" or "@" and no lexicon key,
    # so most of the regexes below never need to run, and most messages stop here.
    gates = _gates(text, _compiled())
    return find_gated(text, message_index, gates) if gates else []


def find_gated(text: str, message_index: int, gates: int) -> list[Indicator]:
    """``find_indicators`` given the text's gate bits (its chunks' ``chunk_gates``)."""
    if not gates:
        return []
    c = _compiled()
    has_digit, has_at = gates & _DIGITS, gates & _AT
    found: list[Indicator] = []

    def add(kind: str, value: str, m: re.Match[str], group: int = 0, **extra: Any) -> None:
        found.append(Indicator(kind, value, message_index, m.start(group), m.end(group),
                               m.group(group), **extra))

    if has_digit:
        for m in c.amount_prefix.finditer(text):
            amount = _parse_number(m.group(2))
            if amount is not None:
                cur = c.currency_of[m.group(1).lower()]
                add("amount", f"{amount:g} {cur}", m, amount=amount, currency=cur)
        for m in c.amount_suffix.finditer(text):
            amount = _parse_number(m.group(1))
            if amount is not None:
                cur = c.currency_of[m.group(2).lower()]
                add("amount", f"{amount:g} {cur}", m, amount=amount, currency=cur)
        for m in _BTC.finditer(text):
            if any(ch.isalpha() for ch in m.group()) and any(ch.isdigit() for ch in m.group()):
                add("crypto_wallet", "btc", m)
        for m in _ETH.finditer(text):
            add("crypto_wallet", "eth", m)
    if gates & _DOLLAR:
        for m in _CASHTAG.finditer(text):
            add("cashtag", m.group().lower(), m)
    if has_at:
        for m in _EMAIL.finditer(text):
            add("email", m.group().lower(), m)
    if gates & _CHANNELS:
        for m in c.channel.finditer(text):
            add("payment_channel", c.channel_kind[m.group(1).lower()], m, 1)
    if gates & _PLATFORMS:
        for m in c.platform.finditer(text):
            add("platform", m.group(1).lower(), m, 1)
    if has_at:
        for m in _HANDLE.finditer(text):
            add("handle", m.group().lower().rstrip("."), m)
    if has_digit:
        for m in c.duration.finditer(text):
            seconds = int(m.group(1)) * c.unit_seconds[m.group(2).lower()]
            add("deadline", f"{seconds:g} s", m, seconds=seconds)
    if gates & _PHRASES:
        for m in c.deadline_phrase.finditer(text):
            add("deadline", m.group(1).lower(), m, 1)
    if has_digit:
        for m in _PHONE.finditer(text):
            digits = sum(ch.isdigit() for ch in m.group())
            if 8 <= digits <= 15:
                add("phone", "".join(ch for ch in m.group() if ch.isdigit() or ch == "+"), m)
    if len(found) > 1:
        found.sort(key=_position)
    return found


def _position(indicator: Indicator) -> tuple[int, int, str]:
    return indicator.start, indicator.end, indicator.kind
