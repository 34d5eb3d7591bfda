"""Where a message is ruled out before it is tokenized.

Most chat messages fire no rule, yet tokenizing them was the largest part of scoring
them. ``Prefilter`` checks, on the normalised text alone, a condition every match needs:
for some rule, each of its required tokens (a group of allowed words) has one of its words
in the text. A message that fails it cannot match anything and is never tokenized; one
that passes is tokenized and matched as before, and only the rules whose groups are all
met are tried. The prefilter changes speed, never hits (tested against matching every
rule on every message, generated and adversarial).

Why it never rejects a message that matches:
- a token made only of letters a-z (or only of digits) is a whole run of such characters
  in the text, unless a tokenizer special case cut it from its neighbour ("gonna" ->
  "gon" "na", "cannot" -> "can" "not"): those special cases' tokens count as found for
  every run of their key;
- any other token (``'m``, ``n't``, ``j'``, an emoji) is a substring of the text, and is
  looked for as one (one Aho-Corasick pass, pyahocorasick);
- the text is already lowercase, so a token's ``LOWER`` is its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import ahocorasick

RUN = re.compile(r"[a-z]+|[0-9]+")


def _is_run(word: str) -> bool:
    return RUN.fullmatch(word) is not None


def _may_be_token(word: str, made: frozenset[str]) -> bool:
    """Whether a token's lowercase form can be ``word``: spaCy cuts the text at every
    change between whitespace and the rest, so a token is all whitespace or has none,
    unless a special case made it (``made``: their pieces)."""
    return word in made or word.isspace() or not any(c.isspace() for c in word)


class _Word(NamedTuple):
    """What one run of the text brings: the groups it meets and the units to check."""

    groups: int
    anchored: tuple[int, ...]  # masks of the units indexed under it


class Candidates(NamedTuple):
    """A message's prefilter answer: the rules worth trying (positions in ``units``)."""

    units: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.units)


class Prefilter:
    """``candidates(text)``: the units (rules) whose every group is met by ``text``.

    ``units``: per rule (or literal), its required groups: a match needs, for each group,
    a token whose lowercase form is one of the group's words; group ``k`` is bit ``1 << k``
    of an int, and a unit's mask is its groups' bits. ``special_cases``: the
    tokenizer's special cases (key -> token texts). ``cost``: rough commonness of a word;
    each unit is indexed under its least common group so that few units are checked."""

    def __init__(self, units: Iterable[Sequence[frozenset[str]]],
                 special_cases: Mapping[str, Sequence[str]],
                 cost: Callable[[str], float]) -> None:
        bit_of: dict[frozenset[str], int] = {}
        word_bits: dict[str, int] = {}  # run -> groups it meets
        substring_bits: dict[str, int] = {}  # any other token -> groups it meets
        index: dict[str, list[int]] = {}  # word -> masks of the units indexed under it
        units_of: dict[int, list[int]] = {}  # mask -> the units that have it
        made = frozenset(p.lower() for pieces in special_cases.values() for p in pieces)
        self.always_open = False  # some unit requires no particular word
        n_units = 0
        for unit, all_groups in enumerate(units):
            n_units += 1
            if not all_groups:
                self.always_open = True
                continue
            groups = [frozenset(w for w in group if _may_be_token(w, made))
                      for group in all_groups]
            if not all(groups):  # a required token no text can have: never complete
                continue
            mask = 0
            for group in groups:
                bit = bit_of.setdefault(group, 1 << len(bit_of))
                mask |= bit
                for word in group:
                    table = word_bits if _is_run(word) else substring_bits
                    table[word] = table.get(word, 0) | bit
            units_of.setdefault(mask, []).append(unit)
            best = min(groups, key=lambda g: (sum(cost(w) for w in g), -min(map(len, g))))
            for word in best:
                index.setdefault(word, []).append(mask)
        self._units_of = {mask: tuple(found) for mask, found in units_of.items()}
        self._word_bits = word_bits
        self._index = {word: tuple(masks) for word, masks in index.items()}
        # Those without whitespace lie inside one whitespace-free chunk of a text (a caller
        # that reads chunks looks for them per chunk); those with, in the whole text.
        self._substrings = _automaton({sub: _Word(bits, self._index.get(sub, ()))
                                       for sub, bits in substring_bits.items()
                                       if not any(c.isspace() for c in sub)})
        self._spanning = _automaton({sub: _Word(bits, self._index.get(sub, ()))
                                     for sub, bits in substring_bits.items()
                                     if any(c.isspace() for c in sub)})
        # One character of each such token (not a letter or digit where it has one): a
        # text without any of them holds none of these tokens.
        self.substring_marks = frozenset(
            next((c for c in sub if not c.isalnum()), sub[0]) for sub in substring_bits)
        self.spanning = self._spanning is not None
        # Run -> run words a special case may cut out of it ("cannot" -> "can", "not").
        split: dict[str, set[str]] = {}
        for key, pieces in special_cases.items():
            inner = {p.lower() for p in pieces if _is_run(p.lower())}
            for run in RUN.findall(key.lower()):
                if inner - {run}:
                    split.setdefault(run, set()).update(inner - {run})
        self._split = {run: tuple(sorted(words)) for run, words in split.items()}
        self.width = len(bit_of)  # groups are bits 0 .. width - 1
        self._all = tuple(range(n_units))  # every unit (rules are all tried)

    def word(self, run: str) -> _Word:
        """What one run of the text (``RUN``) brings: the groups it meets and the masks of
        the units indexed under it, the tokens a special case may cut out of it included."""
        groups = 0
        anchored: list[int] = []
        for word in (run, *self._split.get(run, ())):
            groups |= self._word_bits.get(word, 0)
            anchored.extend(self._index.get(word, ()))
        return _Word(groups, tuple(anchored))

    def substrings(self, text: str) -> tuple[int, list[tuple[int, ...]]]:
        """What the tokens that are not runs bring, found anywhere in ``text``: the groups
        they meet and the masks of the units indexed under them."""
        met, anchored = self.chunk_substrings(text)
        more, extra = self.spanning_substrings(text)
        return met | more, anchored + extra

    def chunk_substrings(self, chunk: str) -> tuple[int, list[tuple[int, ...]]]:
        """``substrings`` of the tokens without whitespace (all of them in one
        whitespace-free chunk of a text)."""
        return _found(self._substrings, chunk, self.substring_marks)

    def spanning_substrings(self, text: str) -> tuple[int, list[tuple[int, ...]]]:
        """``substrings`` of the tokens with whitespace (none in the shipped rules)."""
        return _found(self._spanning, text, None)

    def complete(self, met: int, anchored: list[tuple[int, ...]]) -> Candidates:
        """The units all of whose groups are in ``met``, given the masks of the units
        indexed under the words found (every complete unit is among them: it is indexed
        under each word of one of its groups, and a group is met only by a word found).
        So the answer depends on ``met`` alone, and a caller may keep it by ``met``."""
        if not met:
            return Candidates(())
        done = {mask for masks in anchored for mask in masks if met & mask == mask}
        if not done:
            return Candidates(())
        return Candidates(tuple(sorted({u for mask in done for u in self._units_of[mask]})))

    def candidates(self, text: str) -> Candidates:
        """The units whose groups the normalised ``text`` all meets, sorted."""
        if self.always_open:
            return Candidates(self._all)
        met, anchored = self.substrings(text)
        for run in set(RUN.findall(text)):
            record = self.word(run)
            met |= record.groups
            if record.anchored:
                anchored.append(record.anchored)
        return self.complete(met, anchored)


def _found(automaton: Any, text: str,
           marks: frozenset[str] | None) -> tuple[int, list[tuple[int, ...]]]:
    met = 0
    anchored: list[tuple[int, ...]] = []
    if automaton is not None and (marks is None or not marks.isdisjoint(text)):
        for _, found in automaton.iter(text):
            met |= found.groups
            anchored.append(found.anchored)
    return met, anchored


def _automaton(words: Mapping[str, _Word]) -> Any:
    """pyahocorasick automaton of ``words`` (word -> value), or None if there are none."""
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in words.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton
