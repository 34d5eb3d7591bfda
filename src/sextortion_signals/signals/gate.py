"""Where a message is ruled out before it is tokenized.

Most chat messages fire no rule, yet tokenizing them and running the matchers was the
largest part of scoring them. ``RuleGate`` checks, on the normalised text alone, a
condition every match needs: for some rule, each of its required tokens has one of its
words in the text. A message that fails it cannot match anything and is never tokenized;
one that passes is tokenized and matched as before, so the gate changes speed, never hits.

Why the check never rejects a message that matches:
- a token made only of letters a-z (or only of digits) is a whole run of such characters
  in the text, unless a tokenizer special case cut it from its neighbour ("gonna" ->
  "gon" "na", "cannot" -> "can" "not"): those special cases' tokens are added for every
  run of their key;
- any other token (``'m``, ``n't``, ``j'``, an emoji) is a substring of the text, and is
  looked for as one;
- the text is already lowercase, so a token's ``LOWER`` is its text.
Tested against tokenizing every message, on generated and adversarial text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ahocorasick

_RUN = re.compile(r"[a-z]+|[0-9]+")


def _is_run(word: str) -> bool:
    return _RUN.fullmatch(word) is not None


_Entry = tuple[int, tuple[int, ...]]  # groups satisfied, masks of the units indexed


def _automaton(words: Mapping[str, _Entry]) -> Any:
    """pyahocorasick automaton of ``words`` (word -> value), or None if there are none."""
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in words.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton


def _found(automaton: Any, text: str) -> tuple[int, list[tuple[int, ...]]]:
    satisfied = 0
    masks: list[tuple[int, ...]] = []
    if automaton is not None:
        for _, (bits, indexed) in automaton.iter(text):
            satisfied |= bits
            if indexed:
                masks.append(indexed)
    return satisfied, masks


def _may_be_token(word: str, made: frozenset[str]) -> bool:
    """Whether a token's lowercase form can be ``word``. spaCy's tokenizer cuts the text
    at every change between whitespace and the rest, so a token is all whitespace or has
    none, unless a special case made it (``made``: their pieces; a special case whose key
    has a space is merged across tokens). "come over" in a rule can never match."""
    return word in made or word.isspace() or not any(c.isspace() for c in word)


class RuleGate:
    """``may_match(text)``: False only when no rule can match ``text``.

    ``units``: per rule (or literal), its required groups: a match needs, for each group,
    a token whose lowercase form is one of the group's words. ``special_cases``: the
    tokenizer's special cases (key -> token texts). ``cost``: rough commonness of a word;
    each unit is indexed under its least common group so that few units are checked."""

    def __init__(self, units: Iterable[Sequence[frozenset[str]]],
                 special_cases: Mapping[str, Sequence[str]],
                 cost: Callable[[str], float]) -> None:
        bit_of: dict[frozenset[str], int] = {}
        word_bits: dict[str, int] = {}  # run word -> groups it satisfies
        substring_bits: dict[str, int] = {}  # any other token -> groups it satisfies
        # Word -> masks of the units indexed under it (runs and other tokens apart).
        index: dict[str, list[int]] = {}
        substring_index: dict[str, list[int]] = {}
        self.always_open = False  # some unit requires no particular word
        units_of: dict[int, list[int]] = {}  # mask -> the units (positions) that have it
        made = frozenset(p.lower() for pieces in special_cases.values() for p in pieces)
        for unit, all_groups in enumerate(units):
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
            # A unit is only complete if its least common group is met: it is checked
            # only when one of that group's words is found.
            best = min(groups, key=lambda g: (sum(cost(w) for w in g), -min(map(len, g))))
            for word in best:
                (index if _is_run(word) else substring_index).setdefault(word, []).append(mask)
        self.width = len(bit_of)  # groups are bits 0 .. width - 1
        self._units_of = {mask: tuple(found) for mask, found in units_of.items()}
        self._word_bits = word_bits
        self._index = index
        # Every other token of every rule, found in one pass over the text (Aho-Corasick,
        # pyahocorasick); a loop of ``in`` tests cost 5-14 us a message. Those without
        # whitespace lie inside one whitespace-free chunk of the text, so a caller that
        # keeps per-chunk records (the screen) looks for them once per distinct chunk;
        # those with (whitespace tokens, special cases' pieces) in the whole text.
        self._inner = _automaton({sub: (bits, tuple(substring_index.get(sub, ())))
                                  for sub, bits in substring_bits.items()
                                  if not any(c.isspace() for c in sub)})
        self._spanning = _automaton({sub: (bits, tuple(substring_index.get(sub, ())))
                                     for sub, bits in substring_bits.items()
                                     if any(c.isspace() for c in sub)})
        self.spanning = self._spanning is not None  # else ``spanning_substrings`` finds none
        # Run -> run words a special case may cut out of it ("cannot" -> "can", "not").
        split: dict[str, set[str]] = {}
        for key, pieces in special_cases.items():
            inner = {p.lower() for p in pieces if _is_run(p.lower())}
            for run in _RUN.findall(key.lower()):
                if inner - {run}:
                    split.setdefault(run, set()).update(inner - {run})
        self._split = {run: frozenset(words) for run, words in split.items()}
        self._split_runs = frozenset(split)

    def words(self, text: str) -> set[str]:
        """A superset of the doc's tokens made only of letters a-z or only of digits."""
        words = set(_RUN.findall(text))
        for run in words & self._split_runs:
            words |= self._split[run]
        return words

    def entry(self, run: str) -> tuple[int, tuple[int, ...]]:
        """What one run of the text (a match of ``[a-z]+`` or ``[0-9]+``) brings: the
        groups it satisfies and the masks of the units indexed under it, the tokens a
        special case may cut out of it included."""
        bits = 0
        masks: list[int] = []
        for word in (run, *self._split.get(run, ())):
            bits |= self._word_bits.get(word, 0)
            masks.extend(self._index.get(word, ()))
        return bits, tuple(masks)

    def substrings(self, text: str) -> tuple[int, list[tuple[int, ...]]]:
        """What the tokens that are not runs bring, found anywhere in ``text``: the
        groups they satisfy and the masks of the units indexed under them."""
        satisfied, masks = _found(self._inner, text)
        spanning, more = _found(self._spanning, text)
        return satisfied | spanning, masks + more

    def chunk_substrings(self, chunk: str) -> tuple[int, list[tuple[int, ...]]]:
        """``substrings`` of the tokens without whitespace, in one chunk of the text (a
        maximal run without whitespace, as ``str.split`` cuts it)."""
        return _found(self._inner, chunk)

    def spanning_substrings(self, text: str) -> tuple[int, list[tuple[int, ...]]]:
        """``substrings`` of the tokens with whitespace: with ``chunk_substrings`` of every
        chunk, the same as ``substrings(text)``."""
        return _found(self._spanning, text)

    def complete(self, satisfied: int, masks: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
        """Positions in ``units`` of every unit with all its groups in ``satisfied``
        (sorted; those without groups left out). ``masks``: those of the units indexed
        under the words found (``entry``, ``substrings``); every complete unit is among
        them, as its least common group is met."""
        if not satisfied:
            return ()
        done: list[int] = []  # plain loops: a comprehension costs more on a few masks
        for indexed in masks:
            for mask in indexed:
                if satisfied & mask == mask:
                    done.append(mask)
        if not done:
            return ()
        if len(done) == 1:
            return self._units_of[done[0]]
        return tuple(sorted({unit for mask in set(done) for unit in self._units_of[mask]}))

    def may_match(self, text: str) -> bool:
        if self.always_open:
            return True
        satisfied, masks = self.substrings(text)
        for run in set(_RUN.findall(text)):
            bits, indexed = self.entry(run)
            satisfied |= bits
            masks.append(indexed)
        return bool(self.complete(satisfied, masks))
