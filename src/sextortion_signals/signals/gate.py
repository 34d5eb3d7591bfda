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
from functools import reduce
from operator import or_
from typing import Any

import ahocorasick

_RUN = re.compile(r"[a-z]+|[0-9]+")


def _is_run(word: str) -> bool:
    return _RUN.fullmatch(word) is not None


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
        index: dict[str, list[int]] = {}  # run word -> masks of units indexed under it
        self._unindexed: list[int] = []  # masks of units without an all-run-word group
        self.always_open = False  # some unit requires no particular word
        for groups in units:
            if not groups:
                self.always_open = True
                continue
            mask = 0
            for group in groups:
                bit = bit_of.setdefault(group, 1 << len(bit_of))
                mask |= bit
                for word in group:
                    table = word_bits if _is_run(word) else substring_bits
                    table[word] = table.get(word, 0) | bit
            indexable = [g for g in groups if all(_is_run(w) for w in g)]
            if not indexable:
                self._unindexed.append(mask)
                continue
            best = min(indexable, key=lambda g: (sum(cost(w) for w in g), -min(map(len, g))))
            for word in best:
                index.setdefault(word, []).append(mask)
        self._word_bits = word_bits
        self._unindexed_bits = reduce(or_, self._unindexed, 0)  # none met: skip them all
        self._index = index
        # Key sets as frozensets: ``set & dict`` would walk the whole dict every message.
        self._bit_words = frozenset(word_bits)
        self._index_words = frozenset(index)
        # Every other token of every rule, found in one pass over the text (Aho-Corasick,
        # pyahocorasick); a loop of ``in`` tests cost 5-14 us a message.
        self._substrings: Any = None
        if substring_bits:
            self._substrings = ahocorasick.Automaton()
            for sub, bits in substring_bits.items():
                self._substrings.add_word(sub, bits)
            self._substrings.make_automaton()
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

    def may_match(self, text: str) -> bool:
        if self.always_open:
            return True
        words = self.words(text)
        satisfied = reduce(or_, map(self._word_bits.__getitem__, words & self._bit_words), 0)
        if self._substrings is not None:
            for _, bits in self._substrings.iter(text):
                satisfied |= bits
        if not satisfied:
            return False
        if satisfied & self._unindexed_bits:
            for mask in self._unindexed:
                if satisfied & mask == mask:
                    return True
        index = self._index
        for word in words & self._index_words:
            for mask in index[word]:
                if satisfied & mask == mask:
                    return True
        return False
