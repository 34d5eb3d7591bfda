"""Evasion-resistant, offset-preserving text normalisation.

Steps (each keeps a map back to the ORIGINAL text):
1. per character: drop invisible characters (format controls, default-ignorable code
   points such as variation selectors and Hangul fillers, combining and enclosing marks,
   so accents fold too: "âge" -> "age"), NFKD compatibility folding (full-width, math
   bold, "ſ" -> "s"), confusable homoglyphs (Cyrillic/Greek look-alikes, "ı") to Latin,
   lowercase;
2. undo l33t inside alphabetic words (s3nd -> send, p1c5 -> pics: an ambiguous character
   is read as the known word it makes, ``text/vocab.txt``) but never in numbers or amounts;
3. join s p a c e d and d.o.t.t.e.d single letters (a whole spaced phrase is cut back into
   known words: "s e n d m e" -> "send me") and separators inside a word ("se-nd");
4. squeeze runs of three or more identical letters (pleeease -> please);
5. break whitespace-free runs longer than 64 characters (keeps the tokenizer linear).

Every regex here is linear: no nested quantifiers, no alternation under a repeat.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Any, NamedTuple

import ahocorasick

from ..locks import owned_lock

__all__ = ["NormalizedText", "fold_char", "normalize"]

# What each l33t character may stand for, the likelier first ("1" is "i" or "l").
_LEET = {"4": "a", "3": "e", "1": "il", "0": "o", "$": "s", "@": "a", "7": "t", "5": "s",
         "9": "g"}
_MAX_LEET_READINGS = 32
_CONTRACTION_TAILS = frozenset({"s", "t", "d", "m", "ll", "re", "ve"})
# A word in which l33t may hide: letters, digits and the symbols above.
_WORD = re.compile(r"[a-z0-9$@]+")
_HAS_LETTER = re.compile(r"[a-z]")
_HAS_LEET = re.compile(r"[0-9$@]")
# Numbers with a unit or a prefix ("10min", "150eur", "48h", "mp3", "$200") stay as typed.
# A lone leading "0" ("0ld") or a single digit on both sides ("4r3") is l33t, not a number.
_NUMBERISH = re.compile(r"[$@]?(?:[1-9][0-9]*|0[0-9]+)[a-z]{0,6}|[a-z]{1,4}[0-9]+"
                        r"|[0-9]{2,}[a-z]{1,3}[0-9]+|[0-9]+[a-z]{1,3}[0-9]{2,}")
_MAX_LEET_WORD = 24  # longer runs are handles, hashes or wallets, not words

# Three or more single letters, one separator kind per run so that a change of separator
# keeps word boundaries ("d.o.n.t t e l l" -> "dont tell").
_SPACED = re.compile(r"(?<![a-z0-9.\-_*])[a-z](?:(?:\.[a-z]){2,}|(?:-[a-z]){2,}"
                     r"|(?:_[a-z]){2,}|(?:\*[a-z]){2,})(?![a-z0-9])")
# Single letters spaced out, a wider gap between words ("s e n d  m e  p i c s"): runs of
# three or more lone letters 1-3 spaces apart (``_spaced_phrases``; chained in code, as a
# single regex it would nest a repeat under a repeat).
_LONE_LETTER = re.compile(r"(?<![a-z0-9.\-_*])[a-z](?![a-z0-9])")
_WIDE_GAP = re.compile(r" {2,}")
# A separator inside a word ("se-nd", "p*ay"): joined when that makes a known word
# (``_inner_words``: letter runs chained over single separators).
_LETTER_RUN = re.compile(r"[a-z]+")
_INNER_SEP = frozenset(".-_*")
_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_SEP = frozenset(" .-_*")
# Runs made only of these are ordinary words ("u r a", "y a"), not spacing.
_SINGLE_LETTER_WORDS = frozenset("aiuryocken")

_REPEAT = re.compile(r"([a-vx-z])\1{2,}")  # not "w": keeps www. intact

MAX_RUN = 64  # longest whitespace-free run handed to the tokenizer
_LONG_RUN = re.compile(rf"\S{{{MAX_RUN + 1}}}")

# Default-ignorable code points that are not format controls (Cf is dropped by category):
# Hangul fillers are letters (Lo), variation selectors and Mongolian ones marks (Mn).
_IGNORABLE = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0,
                        *range(0x180B, 0x1810), *range(0xFE00, 0xFE10),
                        *range(0xE0100, 0xE01F0)])
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_CONTROLS = str.maketrans({c: " " for c in range(32) if chr(c) not in "\t\n\r"} | {127: " "})


class _Step(NamedTuple):
    leet: bool
    spacing: bool
    repeat: bool
    inner: bool = False


@cache
def _step_marks() -> Any:
    """One Aho-Corasick automaton (pyahocorasick) of what steps 2-4 need the folded text to
    contain: a l33t character, the start of a spaced run, a letter three times. Most
    messages contain none, and skip those steps; a regex alternation cost three times as
    much (sre tries each branch at nearly every position)."""
    automaton = ahocorasick.Automaton()
    letters = string.ascii_lowercase
    marks = [*((c, "leet") for c in "0123456789$@"),
             *((sep + c + sep, "spacing") for sep in sorted(_SEP) for c in letters),
             *((c * 3, "repeat") for c in letters if c != "w"),
             *((a + sep + b, "inner") for sep in ".-_*" for a in letters for b in letters)]
    for mark, step in marks:
        automaton.add_word(mark, step)
    automaton.make_automaton()
    return automaton


_NO_STEPS = _Step(False, False, False)


def _steps_needed(text: str) -> _Step:
    marks = _step_marks().iter(text)
    first = next(marks, None)
    if first is None:  # most messages
        return _NO_STEPS
    found = {first[1], *(step for _, step in marks)}
    return _Step("leet" in found, "spacing" in found, "repeat" in found, "inner" in found)


@cache
def _confusables() -> dict[str, str]:
    """Non-Latin letters that look like a Latin letter -> that letter (lowercase), from the
    Unicode confusables data of ``confusable_homoglyphs`` rather than a hand-made list;
    loaded lazily because ASCII text never needs it."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii() or not unicodedata.category(char).startswith("L"):
            continue
        for glyph in glyphs:
            c = glyph["c"]
            if len(c) == 1 and c.isascii() and c.isalpha():
                table[char] = c.lower()
                break
    return table


def fold_char(ch: str) -> str:
    """Step 1 for one character: the string it folds to (empty when it is dropped)."""
    code = ord(ch)
    cat = unicodedata.category(ch)
    if cat == "Cf" or code in _IGNORABLE or cat in ("Mn", "Me"):
        return ""
    if cat == "Cc":
        return ch if ch in "\t\n\r" else " "
    if cat in ("Cs", "Co", "Cn"):
        return ch
    table = _confusables()
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(c) in ("Mn", "Me") or ord(c) in _IGNORABLE:
            continue
        c = table.get(c, c).lower()
        out.append(c if len(c) == 1 else unicodedata.normalize("NFKD", c)[0])
    return "".join(out)


class _FoldTable(dict[int, str]):
    """``str.translate`` table of step 1, filled on first sight of each character and
    bounded. ``irregular`` holds the characters that do not fold to exactly one character
    (it only grows, and a character joins it before its fold is stored): a text without
    any of them folds one to one and needs no offset map."""

    MAX_SIZE = 65536

    def __init__(self) -> None:
        super().__init__()
        self._lock = owned_lock(self)
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        with self._lock:
            if len(folded) != 1:
                self.irregular.add(chr(code))
            if len(self) >= self.MAX_SIZE:
                self.clear()
            self[code] = folded
        return folded


_FOLD = _FoldTable()


class NormalizedText(NamedTuple):
    """``text`` is the normalised form; ``starts[i]``/``ends[i]`` give the original span of
    normalised character i (``None`` when the two are aligned one to one)."""

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised ``[start, end)`` span to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _fold(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    if text.isascii():
        if _ASCII_CONTROL.search(text):
            text = text.translate(_ASCII_CONTROLS)
        return text.lower(), None, None
    folded = text.translate(_FOLD)
    if _FOLD.irregular.isdisjoint(text):  # e.g. accents only: aligned one to one
        return folded, None, None
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        for c in _FOLD[ord(ch)]:
            pieces.append(c)
            starts.append(i)
            ends.append(i + 1)
    return "".join(pieces), starts, ends


@cache
def vocabulary() -> frozenset[str]:
    """Words obfuscated text is read back into (``text/vocab.txt``, built from train text,
    banks, word lists, rules and concepts by ``synth/vocab.py``)."""
    from importlib import resources

    raw = (resources.files("sextortion_signals") / "text" / "vocab.txt").read_text("utf-8")
    return frozenset(w for w in raw.split() if not w.startswith("#"))


def _readings(word: str) -> list[str]:
    """Readings of a l33t word, the likelier first (at most ``_MAX_LEET_READINGS``)."""
    out = [""]
    for c in word:
        options = _LEET.get(c, c)
        out = [o + x for o in out for x in options][:_MAX_LEET_READINGS]
    return out


def _leet_edits(text: str) -> dict[int, str]:
    """Edits that undo l33t. A word mixing letters and l33t characters is read back; in a
    heavily l33t message (two such words or more) short tokens that look like numbers
    ("m3", "1") are too, when their reading is a known word ("me", "i"); numbers of two
    digits or more ("10", "15") stay numbers: amounts, ages and deadlines are evidence."""
    edits: dict[int, str] = {}
    vocab = vocabulary()
    clear: list[re.Match[str]] = []
    unsure: list[re.Match[str]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        if len(word) > _MAX_LEET_WORD or not _HAS_LEET.search(word):
            continue
        if word[0] == "@" and word[1:2].isalpha():  # an @handle, not l33t
            continue
        if _HAS_LETTER.search(word) and not _NUMBERISH.fullmatch(word):
            clear.append(m)
        else:
            unsure.append(m)
    for m in clear:
        readings = _readings(m.group())
        _apply(edits, m, next((r for r in readings if r in vocab), readings[0]))
    mixed = sum(1 for m in unsure if _HAS_LETTER.search(m.group())
                or (m.start() > 0 and text[m.start() - 1] == "'"))
    if len(clear) + mixed >= 2:  # a heavily l33t message
        for m in unsure:
            if m.group().isdigit() and len(m.group()) > 1:
                continue  # "10 minutes", "15 ans": a number stays a number
            tail = m.start() > 1 and text[m.start() - 1] == "'" and text[m.start() - 2].isalpha()
            reading = next((r for r in _readings(m.group()) if r.isalpha() and (
                (r in vocab and len(r) > 1) or r in ("i", "a")
                or (tail and r in _CONTRACTION_TAILS))), None)
            if reading is not None:
                _apply(edits, m, reading)
    return edits


def _apply(edits: dict[int, str], m: re.Match[str], reading: str) -> None:
    for k, (a, b) in enumerate(zip(m.group(), reading, strict=True)):
        if a != b:
            edits[m.start() + k] = b


def segment(letters: str) -> list[str] | None:
    """Known words that spell ``letters`` ("sendmepics" -> send, me, pics), the fewest,
    or None. Linear in length for a bounded word length."""
    vocab = vocabulary()
    n = len(letters)
    if n > 60:
        return None
    best: list[list[str] | None] = [[]] + [None] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            head = best[start]
            piece = letters[start:end]
            if head is not None and (piece in vocab or piece in "iauy") and (
                    best[end] is None or len(head) + 1 < len(best[end])):  # type: ignore[arg-type]
                best[end] = [*head, piece]
    return best[n]


def _spaced_phrases(text: str) -> Iterator[tuple[int, str]]:
    """(start, text) of each run of three or more lone letters, 1-3 spaces apart."""
    start = end = -1
    count = 0
    for m in _LONE_LETTER.finditer(text):
        i = m.start()
        if count and 1 <= i - end <= 3 and text.count(" ", end, i) == i - end:
            end, count = i + 1, count + 1
            continue
        if count >= 3:
            yield start, text[start:end]
        start, end, count = i, i + 1, 1
    if count >= 3:
        yield start, text[start:end]


def _inner_words(text: str) -> Iterator[tuple[int, str]]:
    """(start, text) of each chain of two or more letter runs joined by single separators
    (``.-_*``), not touching a letter or digit at either end."""
    chain: list[tuple[int, int]] = []

    def flush() -> Iterator[tuple[int, str]]:
        runs = chain
        if runs and runs[0][0] > 0 and text[runs[0][0] - 1] in _ALNUM:
            runs = runs[1:]  # glued to a digit before: the chain starts one run later
        if runs and runs[-1][1] < len(text) and text[runs[-1][1]] in _ALNUM:
            runs = runs[:-1]  # glued to a digit after: it ends one run earlier
        if len(runs) >= 2:
            yield runs[0][0], text[runs[0][0]:runs[-1][1]]

    for m in _LETTER_RUN.finditer(text):
        if chain and m.start() == chain[-1][1] + 1 and text[chain[-1][1]] in _INNER_SEP:
            chain.append(m.span())
            continue
        yield from flush()
        chain = [m.span()]
    yield from flush()


def _spacing(text: str, steps: _Step) -> tuple[set[int], set[int]]:
    """Characters to drop and positions to insert a space before, for spaced-out and
    punctuated letters."""
    drop: set[int] = set()
    insert: set[int] = set()
    vocab = vocabulary()
    if steps.spacing:
        for m in _SPACED.finditer(text):
            drop.update(m.start() + k for k, c in enumerate(m.group()) if c in _SEP)
        for pos, run in _spaced_phrases(text):
            words = _WIDE_GAP.split(run)
            letters = [w.replace(" ", "") for w in words]
            if all(len(w) == 1 for w in letters) or all(
                    c in _SINGLE_LETTER_WORDS for c in run if c != " "):
                continue  # "u r a", "y a": ordinary one-letter words
            for k, c in enumerate(run):
                if c == " " and not (k > 0 and run[k - 1] == " " and
                                     k + 1 < len(run) and run[k + 1] != " "):
                    drop.add(pos + k)  # one space of a wide gap stays
            if len(words) == 1 and letters[0] not in vocab:
                parts = segment(letters[0])
                if parts and len(parts) > 1:
                    # Letter k of the joined run sits at the k-th letter of the match.
                    at = [pos + k for k, c in enumerate(run) if c != " "]
                    cut = 0
                    for part in parts[:-1]:
                        cut += len(part)
                        insert.add(at[cut])
    if steps.inner:
        for pos, word in _inner_words(text):
            pieces = re.split(r"[.\-_*]", word)
            joined = "".join(pieces)
            if joined in vocab and not all(p in vocab and len(p) > 2 for p in pieces):
                drop.update(pos + k for k, c in enumerate(word) if c in _INNER_SEP)
    if steps.repeat:
        for m in _REPEAT.finditer(text):
            drop.update(range(m.start() + 1, m.end()))
    return drop, insert


def _break_long_runs(norm: NormalizedText) -> NormalizedText:
    """Insert a space every ``MAX_RUN`` characters of a whitespace-free run.

    spaCy's tokenizer is quadratic on long punctuation-only tokens ("$$$$...", "!?!?...");
    bounding token length keeps it linear. The inserted space maps to the original position
    of the next character, so no span can start or end on it."""
    if not _LONG_RUN.search(norm.text):
        return norm
    n = len(norm.text)
    starts = list(norm.starts) if norm.starts is not None else list(range(n))
    ends = list(norm.ends) if norm.ends is not None else list(range(1, n + 1))
    out: list[str] = []
    o_starts: list[int] = []
    o_ends: list[int] = []
    run = 0
    for i, ch in enumerate(norm.text):
        if ch.isspace():
            run = 0
        elif run == MAX_RUN:
            out.append(" ")
            o_starts.append(starts[i])
            o_ends.append(starts[i])
            run = 0
        out.append(ch)
        o_starts.append(starts[i])
        o_ends.append(ends[i])
        run += 0 if ch.isspace() else 1
    return NormalizedText(norm.original, "".join(out), tuple(o_starts), tuple(o_ends))


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching; see the module docstring for the steps."""
    folded, starts, ends = _fold(text)
    steps = _steps_needed(folded)
    norm = _edit(text, folded, starts, ends, steps) if any(steps) or starts is not None \
        else NormalizedText(text, folded)
    return _break_long_runs(norm) if len(norm.text) > MAX_RUN else norm


def _edit(text: str, folded: str, starts: list[int] | None, ends: list[int] | None,
          steps: _Step) -> NormalizedText:
    """Steps 2-4 on the folded text (step 5 is ``_break_long_runs``)."""
    edits = _leet_edits(folded) if steps.leet else {}
    if edits:
        chars = list(folded)
        for i, c in edits.items():
            chars[i] = c
        folded = "".join(chars)
        steps = _Step(True, True, True, True)  # "h3ee" -> "heee": marks made by the edit
    drop, insert = _spacing(folded, steps)
    if not drop and not insert:
        if starts is None or ends is None:  # aligned one to one
            return NormalizedText(text, folded)
        return NormalizedText(text, folded, tuple(starts), tuple(ends))
    if starts is None or ends is None:
        starts = list(range(len(folded)))
        ends = [i + 1 for i in starts]
    out: list[str] = []
    o_starts: list[int] = []
    o_ends: list[int] = []
    for i, c in enumerate(folded):
        if i in insert:  # an inserted space: zero width, at the next character
            out.append(" ")
            o_starts.append(starts[i])
            o_ends.append(starts[i])
        if i not in drop:
            out.append(c)
            o_starts.append(starts[i])
            o_ends.append(ends[i])
    return NormalizedText(text, "".join(out), tuple(o_starts), tuple(o_ends))
