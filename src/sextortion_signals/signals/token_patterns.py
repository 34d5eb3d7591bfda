"""Our own matcher for the token patterns the rules use, with spaCy's ``Matcher`` semantics.

spaCy's ``Matcher`` evaluates ``IN`` predicates in Python, on every token, at every call:
about 15 us per rule per message, the largest cost of scoring a message that fires. The
rules only use a small subset of the pattern language: ``LOWER`` (a word or ``IN`` a
list), ``LIKE_NUM`` / ``IS_ALPHA`` / ``IS_DIGIT`` flags, and the ``?``, ``*`` and ``+``
operators. ``compile_pattern`` turns such a pattern into a small automaton over the doc's
lowercase ids that returns the same matches as spaCy: every ``(start, end)`` span the
pattern matches, without zero-length or duplicate spans (tested against spaCy's
``Matcher`` on every rule and generated message). A pattern outside the subset returns
None and keeps its spaCy ``Matcher``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from spacy.strings import StringStore
from spacy.tokens import Doc

_FLAGS = {"LIKE_NUM": "like_num", "IS_ALPHA": "is_alpha", "IS_DIGIT": "is_digit"}



class Step(NamedTuple):
    lowers: frozenset[int] | None  # lowercase ids the token may have; None: any
    flags: tuple[tuple[str, bool], ...]  # token attributes and the value each must have
    optional: bool  # "?" or "*": may match no token
    repeats: bool  # "*": may match more than one


class TokenPattern:
    """Every span of a doc matched by one compiled pattern (a small NFA over tokens)."""

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

    def spans(self, lowers: Sequence[int],
              flag: Callable[[int, str], bool]) -> list[tuple[int, int]]:
        """Every (start, end) the pattern matches, sorted.

        Starts are tried right to left and what follows each (position, states) pair is
        remembered: a run that reaches a pair already explored copies its ends and stops.
        Without this, a ``*`` step whose words can also start a match ("une une une ...
        photo sinon") made the work quadratic in the run's length (3 s for one message)."""
        closure, end, starts = self._closure, self._end, self._starts
        steps = self._plain
        n = len(lowers)
        memo: dict[tuple[int, frozenset[int]], tuple[int, ...]] = {}
        out: list[tuple[int, int]] = []
        for start in range(n - 1, -1, -1):
            if starts is not None and lowers[start] not in starts:
                continue
            path: list[tuple[tuple[int, frozenset[int]], tuple[int, ...]]] = []
            states = closure[0]
            tail: tuple[int, ...] = ()  # ends reachable after the explored path
            for pos in range(start, n):
                key = (pos, states)
                known = memo.get(key)
                if known is not None:
                    tail = known
                    break
                word = lowers[pos]
                moved: set[int] = set()
                for i in states:
                    if i == end:
                        continue
                    accepted, flags, repeats = steps[i]
                    if accepted is not None and word not in accepted:
                        continue
                    if flags and not all(flag(pos, name) is want for name, want in flags):
                        continue
                    moved.add(i if repeats else i + 1)
                if not moved:
                    path.append((key, ()))
                    break
                if len(moved) == 1:
                    states = closure[moved.pop()]
                else:
                    states = frozenset().union(*[closure[i] for i in moved])
                path.append((key, (pos + 1,) if end in states else ()))
            for key, here in reversed(path):
                tail = here + tail
                memo[key] = tail
            out.extend((start, stop) for stop in reversed(tail))
        out.reverse()
        return out


def compile_pattern(pattern: Sequence[dict[str, Any]],
                    strings: StringStore) -> TokenPattern | None:
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
                lowers = frozenset([strings.add(value)])
            elif (key == "LOWER" and isinstance(value, dict) and set(value) == {"IN"}
                  and all(isinstance(v, str) for v in value["IN"])):
                lowers = frozenset(strings.add(v) for v in value["IN"])
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
