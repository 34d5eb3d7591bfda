"""Our own matcher for the token patterns the rules use, with spaCy's ``Matcher`` semantics.

spaCy's ``Matcher`` evaluates ``IN`` predicates in Python, on every token, at every call,
the largest cost of scoring a message that fires. The rules only use a small subset of
the pattern language: ``LOWER`` (a word or ``IN`` a list), ``LIKE_NUM`` / ``IS_ALPHA`` /
``IS_DIGIT`` flags, and the ``?``, ``*`` and ``+`` operators. ``compile_pattern`` turns
such a pattern into a small automaton over the doc's lowercase ids that returns the same
matches as spaCy: every ``(start, end)`` span the pattern matches, without zero-length or
duplicate spans (tested against spaCy's ``Matcher`` on every rule and generated text). A
pattern outside the subset returns None and runs in spaCy's ``Matcher``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc

_FLAGS = {"LIKE_NUM": "like_num", "IS_ALPHA": "is_alpha", "IS_DIGIT": "is_digit"}



class Step(NamedTuple):
    lowers: frozenset[int] | None  # lowercase ids the token may have; None: any
    flags: tuple[tuple[str, bool], ...]  # token attributes and the value each must have
    optional: bool  # "?" or "*": may match no token
    repeats: bool  # "*": may match more than one


class TokenPattern:
    """Every span of a doc matched by one compiled pattern.

    The pattern is a small NFA over tokens; ``spans`` runs it as a DFA built lazily: each
    set of NFA positions gets an int id and its move on a word is remembered, so a token
    usually costs one dict lookup. A set none of whose steps tests a flag moves the same
    way on every word outside the pattern's words: one entry stands for them all. A set
    that tests a flag (``LIKE_NUM``...) remembers its move per word: flags belong to the
    lexeme, and the text reaching the matcher is lowercase (``str.lower`` is idempotent,
    tested on every code point), so a token's lowercase id is its lexeme. Rows of such
    sets are capped at ``MAX_ROW`` words: memory stays bounded on any input."""

    MAX_ROW = 4096

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self._plain = [(s.lowers, s.flags, s.repeats) for s in self.steps]  # fast to unpack
        m = self._end = len(self.steps)
        # Positions reachable from i without consuming a token (skipping optional steps).
        self._closure: list[frozenset[int]] = []
        for i in range(m + 1):
            j = i
            while j < m and self.steps[j].optional:
                j += 1
            self._closure.append(frozenset(range(i, j + 1)))
        # Ids a match can start with, when every step up to the first required one tests
        # LOWER (most patterns): other start positions are skipped at once.
        starts: set[int] | None = set()
        for step in self.steps:
            if step.lowers is None or starts is None:
                starts = None
                break
            starts |= step.lowers
            if not step.optional:
                break
        self._starts = frozenset(starts) if starts is not None else None
        self._alphabet = frozenset().union(*(s.lowers for s in self.steps if s.lowers))
        # The lazy DFA: state id -> NFA positions, accepting?, tests a flag?, moves.
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._accepting: list[bool] = []
        self._flagged: list[bool] = []
        self._moves: list[dict[int | None, int]] = []  # word id (None: other word) -> id
        self._lock = threading.Lock()  # new states only; moves are idempotent dict writes
        self._initial = self._state(self._closure[0])

    def _state(self, positions: frozenset[int]) -> int:
        """Id of a set of NFA positions, made on first sight."""
        known = self._ids.get(positions)
        if known is not None:
            return known
        with self._lock:
            known = self._ids.get(positions)
            if known is not None:
                return known
            ident = len(self._sets)
            self._sets.append(positions)
            self._accepting.append(self._end in positions)
            self._flagged.append(any(self.steps[i].flags for i in positions
                                     if i != self._end))
            self._moves.append({})
            self._ids[positions] = ident  # last: a reader never sees a half-made state
            return ident

    def _move(self, state: int, word: int, pos: int,
              flag: Callable[[int, str], bool]) -> int:
        """The state after ``state`` reads token ``pos`` (id ``word``); -1: no match."""
        closure, end, steps = self._closure, self._end, self._plain
        moved: set[int] = set()
        for i in self._sets[state]:
            if i == end:
                continue
            accepted, flags, repeats = steps[i]
            if accepted is not None and word not in accepted:
                continue
            if flags and not all(flag(pos, name) is want for name, want in flags):
                continue
            moved.add(i if repeats else i + 1)
        if not moved:
            return -1
        return self._state(frozenset().union(*[closure[i] for i in moved]))

    def spans(self, lowers: Sequence[int],
              flag: Callable[[int, str], bool]) -> list[tuple[int, int]]:
        """Every (start, end) the pattern matches, sorted.

        Starts are tried right to left and what follows each (position, state) pair is
        remembered: a run that reaches a pair already explored copies its ends and stops.
        Without this, a ``*`` step whose words can also start a match ("une une une ...
        photo sinon") made the work quadratic in the run's length (3 s for one message)."""
        starts, alphabet = self._starts, self._alphabet
        accepting, flagged, moves = self._accepting, self._flagged, self._moves
        n = len(lowers)
        memo: dict[tuple[int, int], tuple[int, ...]] = {}
        out: list[tuple[int, int]] = []
        initial = self._initial
        first_moves, first_flagged = moves[initial], flagged[initial]
        for start in range(n - 1, -1, -1):
            word = lowers[start]
            if starts is not None and word not in starts:
                continue
            if first_moves.get(word if word in alphabet or first_flagged else None) == -1:
                continue  # most starts fail on their first token: nothing to set up
            path: list[tuple[tuple[int, int], tuple[int, ...]]] = []
            state = initial
            tail: tuple[int, ...] = ()  # ends reachable after the explored path
            for pos in range(start, n):
                key = (pos, state)
                known = memo.get(key)
                if known is not None:
                    tail = known
                    break
                word = lowers[pos]
                column = word if word in alphabet or flagged[state] else None
                row = moves[state]
                nxt = row.get(column)
                if nxt is None:
                    nxt = self._move(state, word, pos, flag)
                    if len(row) >= self.MAX_ROW:
                        row.clear()
                    row[column] = nxt
                state = nxt
                if state < 0:
                    path.append((key, ()))
                    break
                path.append((key, (pos + 1,) if accepting[state] else ()))
            for key, here in reversed(path):
                tail = here + tail
                memo[key] = tail
            if tail:
                out.extend([(start, stop) for stop in reversed(tail)])
        out.reverse()
        return out


def compile_pattern(pattern: Sequence[dict[str, Any]]) -> TokenPattern | None:
    """``pattern`` (LEMMA already compiled to LOWER) as a ``TokenPattern``, or None if it
    uses anything beyond the supported subset."""
    steps: list[Step] = []
    for token in pattern:
        lowers: frozenset[int] | None = None
        flags: list[tuple[str, bool]] = []
        for key, value in token.items():
            if key == "OP":
                continue
            if key == "LOWER" and isinstance(value, str):
                lowers = frozenset([hash_string(value)])
            elif (key == "LOWER" and isinstance(value, dict) and set(value) == {"IN"}
                  and all(isinstance(v, str) for v in value["IN"])):
                lowers = frozenset(hash_string(v) for v in value["IN"])
            elif key in _FLAGS and isinstance(value, bool):
                flags.append((_FLAGS[key], value))
            else:
                return None
        op = token.get("OP")
        if op is None:
            steps.append(Step(lowers, tuple(flags), False, False))
        elif op == "?":
            steps.append(Step(lowers, tuple(flags), True, False))
        elif op == "*":
            steps.append(Step(lowers, tuple(flags), True, True))
        elif op == "+":  # one, then any number
            steps += [Step(lowers, tuple(flags), False, False),
                      Step(lowers, tuple(flags), True, True)]
        else:
            return None
    return TokenPattern(steps) if steps else None


def doc_flags(doc: Doc) -> Callable[[int, str], bool]:
    """Token flag lookup for ``TokenPattern.spans`` (spaCy's own lexical attributes)."""
    def flag(i: int, name: str) -> bool:
        return bool(getattr(doc[i], name))
    return flag
