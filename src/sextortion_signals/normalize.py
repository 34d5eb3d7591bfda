"""Evasion-resistant, offset-preserving text normalisation.

Pipeline (each step keeps a map back to the ORIGINAL text):
1. per character: drop format characters (zero-width, bidi controls), NFKD compatibility
   folding (full-width, math bold...), strip combining marks (accents, so "age" matches
   "âge"), fold confusable homoglyphs (Cyrillic/Greek look-alikes) to Latin, lowercase;
2. undo l33t inside alphabetic words (s3nd -> send) but never in numbers or amounts;
3. join s p a c e d and d.o.t.t.e.d single letters;
4. squeeze runs of three or more identical letters (pleeease -> please);
5. break whitespace-free runs longer than 64 characters (keeps the tokenizer linear).

Every regex here is linear: no nested quantifiers, no alternation under a repeat.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

import ahocorasick

__all__ = ["NormalizedText", "fold_only", "normalize", "read_chunk", "spaced_run_possible"]

_LEET = str.maketrans({"4": "a", "3": "e", "1": "i", "0": "o", "$": "s", "@": "a", "7": "t",
                       "5": "s"})
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
_SPACED = re.compile(r"(?<![a-z0-9.\-_*])[a-z](?:(?: [a-z]){2,}|(?:\.[a-z]){2,}|(?:-[a-z]){2,}"
                     r"|(?:_[a-z]){2,}|(?:\*[a-z]){2,})(?![a-z0-9])")
_SEP = frozenset(" .-_*")
# Runs made only of these are ordinary words ("u r a", "y a"), not spacing.
_SINGLE_LETTER_WORDS = frozenset("aiuryocken")

_REPEAT = re.compile(r"([a-vx-z])\1{2,}")  # not "w": keeps www. intact

_MAX_RUN = 64  # longest whitespace-free run handed to the tokenizer
_LONG_RUN = re.compile(rf"\S{{{_MAX_RUN + 1}}}")

# Steps 2-5, as bits: which of them may change a text.
_LEET_STEP, _SPACING_STEP, _REPEAT_STEP, _LONG_STEP = 1, 2, 4, 8
_ALL_STEPS = 15


# What each step needs the folded text to contain (most messages contain none of it): a
# l33t character; the start of a spaced run (a separator, a letter, the same separator);
# a letter three times; a run too long for the tokenizer. The first three are found in
# one pass of an Aho-Corasick automaton (pyahocorasick, as in the rule gate): a regex
# alternation cost three times as much (sre tries each branch at nearly every position).
def _step_marks() -> Any:
    automaton = ahocorasick.Automaton()
    for mark, step in [*((c, _LEET_STEP) for c in "0123456789$@"),
                       *((sep + c + sep, _SPACING_STEP)
                         for sep in sorted(_SEP) for c in string.ascii_lowercase),
                       *((c * 3, _REPEAT_STEP)  # as ``_REPEAT``
                         for c in string.ascii_lowercase if c != "w")]:
        automaton.add_word(mark, step)
    automaton.make_automaton()
    return automaton


_STEP_MARKS = _step_marks()


def _steps_needed(text: str) -> int:
    """Bits of the steps 2-5 that may change ``text`` (the folded text): a step whose bit
    is not set would leave it as it is."""
    needed = 0
    for _, step in _STEP_MARKS.iter(text):
        needed |= step
    if len(text) > _MAX_RUN and _LONG_RUN.search(text) is not None:
        needed |= _LONG_STEP
    return needed


_ASCII_CONTROLS = str.maketrans({c: " " for c in range(32) if chr(c) not in "\t\n\r"} | {127: " "})
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@lru_cache(maxsize=1)
def _confusables_table() -> dict[str, str]:
    """Non-Latin letters that look like a Latin letter -> that letter (lowercase).

    Built from the Unicode confusables data shipped by ``confusable_homoglyphs`` rather
    than a hand-made list; loaded lazily because pure-ASCII text never needs it.
    """
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


def _fold_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Cf":  # zero-width, bidi controls, soft hyphen
        return ""
    if cat == "Cc":
        return ch if ch in "\t\n\r" else " "
    if cat in ("Cs", "Co", "Cn"):
        return ch
    decomposed = unicodedata.normalize("NFKD", ch)
    table = _confusables_table()
    out = []
    for c in decomposed:
        if unicodedata.combining(c):
            continue
        out.append(table.get(c, c))
    return "".join(out).lower()


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each character. Characters that
    do not fold to exactly one character are recorded in ``irregular``: text without any
    of them folds one to one, so its offsets need no map."""

    # Bounded: adversarial input cannot grow it without limit. ``irregular`` is never
    # cleared (it is a fixed property of each character and a few thousand at most), so a
    # clear in the middle of one ``translate`` cannot make a text look aligned.
    MAX_SIZE = 65536

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        if len(self) >= self.MAX_SIZE:
            self.clear()
        ch = chr(code)
        folded = _fold_char(ch)
        if len(folded) != 1:
            self.irregular.add(ch)
        self[code] = folded
        return folded


_FOLD = _FoldTable()


class NormalizedText(NamedTuple):
    """``text`` is the normalised form; ``starts[i]``/``ends[i]`` give the original span of
    normalised character i (``None`` when the two are aligned one to one). A named tuple:
    one is made per message, and it costs a third of a frozen dataclass to build."""

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


def _leet_edits(text: str) -> dict[int, str]:
    edits: dict[int, str] = {}
    for m in _WORD.finditer(text):
        word = m.group()
        if (len(word) > _MAX_LEET_WORD or not _HAS_LEET.search(word)
                or not _HAS_LETTER.search(word) or _NUMBERISH.fullmatch(word)):
            continue
        if word[0] == "@" and word[1:2].isalpha():  # an @handle, not l33t
            continue
        fixed = word.translate(_LEET)
        for k, (a, b) in enumerate(zip(word, fixed, strict=True)):
            if a != b:
                edits[m.start() + k] = b
    return edits


def _deletions(text: str, needed: int) -> set[int]:
    drop: set[int] = set()
    if needed & _SPACING_STEP:
        for m in _SPACED.finditer(text):
            letters = [c for c in m.group() if c not in _SEP]
            if all(c in _SINGLE_LETTER_WORDS for c in letters):
                continue
            drop.update(m.start() + k for k, c in enumerate(m.group()) if c in _SEP)
    if needed & _REPEAT_STEP:
        for m in _REPEAT.finditer(text):
            drop.update(range(m.start() + 1, m.end()))
    return drop


def _break_long_runs(norm: NormalizedText) -> NormalizedText:
    """Insert a space every ``_MAX_RUN`` characters of a whitespace-free run.

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
        elif run == _MAX_RUN:
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
    needed = _steps_needed(folded)
    if not needed and starts is None:
        return NormalizedText(text, folded)  # aligned, and steps 2-5 would change nothing
    norm = _edit(text, folded, starts, ends, needed)
    # Only a long run, or spaces dropped between spaced letters, can leave a run too long.
    return _break_long_runs(norm) if needed & (_LONG_STEP | _SPACING_STEP) else norm


def _edit(text: str, folded: str, starts: list[int] | None, ends: list[int] | None,
          needed: int) -> NormalizedText:
    """Steps 2-4 on the folded text, those in ``needed`` (step 5 is ``_break_long_runs``)."""
    edits = _leet_edits(folded) if needed & _LEET_STEP else {}
    if edits:
        chars = list(folded)
        for i, c in edits.items():
            chars[i] = c
        folded = "".join(chars)
        needed |= _SPACING_STEP | _REPEAT_STEP  # "h3ee" -> "heee": marks made by the edit
    drop = _deletions(folded, needed)
    if drop:
        keep = [i for i in range(len(folded)) if i not in drop]
        if starts is None or ends is None:
            starts_k = keep
            ends_k = [i + 1 for i in keep]
        else:
            starts_k = [starts[i] for i in keep]
            ends_k = [ends[i] for i in keep]
        return NormalizedText(text, "".join(folded[i] for i in keep), tuple(starts_k),
                              tuple(ends_k))
    if starts is None or ends is None:  # ASCII: aligned one to one
        return NormalizedText(text, folded)
    return NormalizedText(text, folded, tuple(starts), tuple(ends))


# What one whitespace-free chunk of a raw text says about normalising the whole text
# (``read_chunk``): steps 2-5 act inside chunks, except step 3 with a space between letters.
CHANGES = 1  # normalisation may change the chunk, or folds it other than one to one
SINGLE = 2  # one letter a-z
ENDS_LONE = 4  # ends with a letter that may start a spaced run (``_SPACED``'s lookbehind)
STARTS_LONE = 8  # starts with a letter that may end one (its lookahead)
_LETTERS = frozenset(string.ascii_lowercase)
_NOT_BEFORE_RUN = frozenset(string.ascii_lowercase + string.digits + ".-_*")
_NOT_AFTER_RUN = frozenset(string.ascii_lowercase + string.digits)


def read_chunk(chunk: str) -> tuple[str, int]:
    """(``chunk`` folded, its shape: the bits above) for one whitespace-free chunk of a raw
    text. Why a text none of whose chunks ``CHANGES`` is normalised by step 1 alone, unless
    ``spaced_run_possible``: step 1 is per character (every whitespace character folds to
    one whitespace character: tested), and the marks of steps 2, 4 and 5 and of step 3 with
    another separator than a space lie inside one chunk (``_steps_needed`` of the chunk)."""
    folded, starts, _ = _fold(chunk)
    if starts is not None or folded.split() != [folded] or _steps_needed(folded):
        return folded, CHANGES
    shape = 0
    if folded[-1] in _LETTERS and (len(folded) == 1 or folded[-2] not in _NOT_BEFORE_RUN):
        shape |= ENDS_LONE
    if folded[0] in _LETTERS and (len(folded) == 1 or folded[1] not in _NOT_AFTER_RUN):
        shape |= STARTS_LONE
    if len(folded) == 1 and folded in _LETTERS:
        shape |= SINGLE
    return folded, shape


def spaced_run_possible(shapes: list[int]) -> bool:
    """Whether step 3 may join letters across the chunks whose shapes (``read_chunk``) are
    ``shapes``, in order: a run "x y z" is a chunk ending in a lone letter, one letter
    alone, and a chunk starting with a lone letter, one after the other."""
    return any(a & ENDS_LONE and b & SINGLE and c & STARTS_LONE
               for a, b, c in zip(shapes, shapes[1:], shapes[2:], strict=False))


def fold_only(text: str) -> NormalizedText:
    """``normalize(text)`` for a text whose chunks none ``CHANGES`` and where no spaced run
    is possible (``read_chunk``): step 1 alone, aligned one to one."""
    return NormalizedText(text, _fold(text)[0])
