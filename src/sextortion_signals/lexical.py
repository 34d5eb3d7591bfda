"""Learned lexical evidence: how strongly each message reads as each tactic group.

A linear model per tactic group (``rules/specs.toml``: claim, threat, demand, pressure,
probe, bond, contact) over hashed features of the normalised message: its words, word
pairs, and the character 3-5-grams of each word (padded, like scikit-learn's
``char_wb``). It is trained on the tactics writers tagged message by message (``train``),
never on our own rules, and its probabilities become features of the conversation model.
Its evidence in an explanation is the words and word pairs that pushed it most.

A text's distinct words and distinct word pairs bring their features once each, scaled by
``1 / sqrt(number of features)``: saying a word again adds nothing, so a text said ten
or a thousand times (copypasta, "lol lol lol") scores as if said twice (only the pair
joining two copies is new). Its score is a sum over words and
pairs: each word's buckets are kept per word (bounded), and a batch is scored with one
gather and one ``np.add.reduceat``. Hashing is ``zlib.crc32``: the same buckets in every
process, with no dependency.

A message is read as its likeliest clause, and a clause longer than ``WINDOW`` tokens as
its likeliest window: a tactic is said in a few words, and a long text must not add up
many weak pushes into a strong one (``message_probabilities``).
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from .locks import owned_lock
from .text.normalize import NormalizedText
from .text.tokens import TOKEN

CHAR_GRAMS = (3, 4, 5)
MAX_CHAR_GRAM_WORD = 24  # longer tokens (links, hashes) bring their word feature only
MAX_WORDS_KEPT = 200_000
# The longest run of tokens read as one unit: the writers' tagged messages are shorter than
# this 98.5% of the time. Longer clauses are read in windows overlapping by half.
WINDOW = 32


# Clause boundaries: sentence marks and line breaks (commas stay inside a clause).
_CLAUSE = re.compile(r"[.!?;\n]+")


def windows(tokens: list[str]) -> list[list[str]]:
    """``tokens`` as one unit, or, past ``WINDOW`` tokens, as windows of ``WINDOW`` tokens
    overlapping by half (the last one ends with the text)."""
    if len(tokens) <= WINDOW:
        return [tokens] if tokens else []
    step = WINDOW // 2
    starts = [*range(0, len(tokens) - WINDOW, step), len(tokens) - WINDOW]
    return [tokens[i:i + WINDOW] for i in starts]


def _bucket(feature: str, mask: int) -> int:
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) & mask


class LexicalFeaturizer:
    """Normalised text -> sorted distinct bucket ids (``bits`` bits each). Thread-safe:
    the per-word store is replaced, never mutated while it may be read."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._mask = (1 << bits) - 1
        self._words: dict[str, tuple[int, ...]] = {}
        self._lock = owned_lock(self)

    def word(self, token: str) -> tuple[int, ...]:
        """The buckets of one token: its word feature and its character grams."""
        kept = self._words.get(token)
        if kept is not None:
            return kept
        mask = self._mask
        ids = [_bucket("w:" + token, mask)]
        if len(token) <= MAX_CHAR_GRAM_WORD:
            padded = f" {token} "
            ids.extend(_bucket("c:" + padded[i:i + n], mask)
                       for n in CHAR_GRAMS for i in range(len(padded) - n + 1))
        found = tuple(ids)
        with self._lock:
            words = self._words if len(self._words) < MAX_WORDS_KEPT else {}
            words[token] = found
            self._words = words
        return found

    def pair(self, first: str, second: str) -> int:
        return _bucket(f"b:{first} {second}", self._mask)

    def features(self, text: str) -> list[int]:
        """Bucket ids of a normalised text: the features of each distinct word and each
        distinct word pair (a bucket may still repeat: hashing and shared grams)."""
        tokens = TOKEN.findall(text)
        ids: list[int] = []
        words = self._words
        for token in dict.fromkeys(tokens):
            ids.extend(words.get(token) or self.word(token))
        if len(tokens) > 1:
            pair = self.pair
            ids.extend([pair(a, b) for a, b in dict.fromkeys(pairwise(tokens))])
        return ids

    def matrix(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (indptr, indices, values) of the feature rows of ``texts`` (a bucket
        may repeat within a row: a CSR matrix sums them)."""
        indptr = [0]
        indices: list[int] = []
        for text in texts:
            indices.extend(self.features(text))
            indptr.append(len(indices))
        bounds = np.asarray(indptr, dtype=np.int64)
        counts = np.diff(bounds)
        scale = 1.0 / np.sqrt(np.maximum(counts, 1))
        return bounds, np.asarray(indices, dtype=np.int64), np.repeat(scale, counts)


class _WordTable:
    """Per distinct word: its summed weights, one row of ``array`` (bounded by its owner,
    which replaces a full table). Rows are written before they are published, so a reader
    that looked a word up finds its row."""

    def __init__(self, groups: int) -> None:
        self.rows: dict[str, tuple[int, int]] = {}  # word -> (row, number of features)
        self.array = np.zeros((1024, groups))
        self.pairs: dict[tuple[str, str], int] = {}  # word pair -> bucket
        self._lock = owned_lock(self)

    def pair_bucket(self, words: tuple[str, str], model: LexicalModel) -> int:
        bucket = model.featurizer.pair(*words)
        if len(self.pairs) < MAX_WORDS_KEPT:
            self.pairs[words] = bucket  # a pure function of the words: no lock needed
        return bucket

    def add(self, token: str, model: LexicalModel) -> tuple[int, int]:
        buckets = model.featurizer.word(token)
        weights = model.weights[list(buckets)].astype(np.float64).sum(axis=0)
        with self._lock:
            found = self.rows.get(token)
            if found is not None:
                return found
            row = len(self.rows)
            if row == len(self.array):
                grown = np.zeros((2 * row, self.array.shape[1]))
                grown[:row] = self.array
                self.array = grown
            self.array[row] = weights
            found = (row, len(buckets))
            self.rows[token] = found
            return found


@dataclass(frozen=True)
class Gram:
    """One piece of lexical evidence: a word or word pair and its push on a group."""

    text: str
    start: int  # offsets into the original message
    end: int
    weight: float  # contribution to the group's log-odds


@dataclass(eq=False)
class LexicalModel:
    """Per-group logistic regression over ``LexicalFeaturizer`` buckets. Treat it as
    immutable: only its per-word cache (``_words``) changes."""

    groups: tuple[str, ...]
    bits: int
    weights: np.ndarray  # (2**bits, groups), float32
    bias: np.ndarray  # (groups,)
    featurizer: LexicalFeaturizer = field(init=False, repr=False, compare=False)
    _words: _WordTable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (1 << self.bits, len(self.groups)):
            raise ValueError(f"lexical weights have shape {self.weights.shape}, expected "
                             f"({1 << self.bits}, {len(self.groups)})")
        self.featurizer = LexicalFeaturizer(self.bits)
        self._words = _WordTable(len(self.groups))

    def __reduce__(self) -> tuple[Any, ...]:
        # The parameters only: caches and their locks are rebuilt by the receiver (a
        # worker process, a pickled result).
        return (LexicalModel, (self.groups, self.bits, self.weights, self.bias))

    def logits(self, texts: Sequence[str],
               tokens: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """Log-odds per group of each normalised text, shape (n, groups); ``tokens``: the
        texts' tokens (``text/tokens.py``) when the caller has them.

        Each distinct word's weights (its word feature and character grams, summed) are
        kept as one row of a per-model table, so a message costs a lookup per word and a
        hash per word pair, then one gather for the whole batch; the same numbers as
        ``reference_logits`` (tested)."""
        words = self._words  # one table for the whole batch (a full one is replaced)
        if len(words.rows) >= MAX_WORDS_KEPT:
            words = self._words = _WordTable(len(self.groups))
        pairs = words.pairs
        pair = words.pair_bucket
        word_ids: list[int] = []  # rows of the word table
        pair_ids: list[int] = []  # buckets
        word_bounds = [0]
        pair_bounds = [0]
        counts = []  # features per message (for the 1/sqrt scale)
        for k, text in enumerate(texts):
            toks = TOKEN.findall(text) if tokens is None else tokens[k]
            n = 0
            for token in dict.fromkeys(toks):
                found = words.rows.get(token) or words.add(token, self)
                word_ids.append(found[0])
                n += found[1]
            if len(toks) > 1:
                distinct = dict.fromkeys(pairwise(toks))
                pair_ids.extend([pairs.get(ab) or pair(ab, self) for ab in distinct])
                n += len(distinct)
            word_bounds.append(len(word_ids))
            pair_bounds.append(len(pair_ids))
            counts.append(n)
        sums = np.zeros((len(texts), len(self.groups)))
        for ids, bounds, source in ((word_ids, word_bounds, words.array),
                                    (pair_ids, pair_bounds, self.weights)):
            starts = np.asarray(bounds[:-1])
            rows = np.flatnonzero(np.diff(bounds))
            if rows.size:
                gathered = source[np.asarray(ids)].astype(np.float64)
                sums[rows] += np.add.reduceat(gathered, starts[rows], axis=0)
        scale = 1.0 / np.sqrt(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))
        out: np.ndarray = self.bias + sums * scale[:, None]
        return out

    def reference_logits(self, texts: Sequence[str]) -> np.ndarray:
        """``logits`` computed bucket by bucket: the plain path the fast one is tested on."""
        out = np.tile(self.bias, (len(texts), 1))
        indptr, indices, values = self.featurizer.matrix(texts)
        if indices.size:
            rows = np.flatnonzero(np.diff(indptr))
            contributions = self.weights[indices].astype(np.float64) * values[:, None]
            out[rows] += np.add.reduceat(contributions, indptr[rows], axis=0)
        return out

    def probabilities(self, texts: Sequence[str],
                      tokens: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """Probability per group that each normalised text uses one of its tactics."""
        out: np.ndarray = 1.0 / (1.0 + np.exp(-self.logits(texts, tokens)))
        return out

    def message_probabilities(self, texts: Sequence[str],
                              tokens: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """``probabilities`` of each message, or of its likeliest clause if higher: a
        message ("i have your pics. pay or your friends see them") must not dilute the
        tactic each of its sentences carries. A message or clause of more than ``WINDOW``
        tokens is read only as its windows. What scoring and training both read."""
        P = self.probabilities(texts, tokens)
        units: list[list[str]] = []
        owner: list[int] = []
        for k, text in enumerate(texts):
            toks = TOKEN.findall(text) if tokens is None else tokens[k]
            pieces = [c for c in _CLAUSE.split(text) if c.strip()]
            if len(pieces) < 2 and len(toks) <= WINDOW:
                continue
            if len(toks) > WINDOW:
                P[k] = 0.0  # the whole is too long to read as one: its units decide
            for piece in pieces:
                for unit in windows(TOKEN.findall(piece)):
                    units.append(unit)
                    owner.append(k)
        if units:
            found = self.probabilities([" ".join(u) for u in units], units)
            np.maximum.at(P, np.asarray(owner), found)
        return P

    def evidence(self, norm: NormalizedText, group: str, top: int = 3) -> tuple[Gram, ...]:
        """The words and word pairs of a message that pushed ``group`` up most (their
        character grams counted with the word), spans in the original text."""
        j = self.groups.index(group)
        tokens = [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(norm.text)]
        ids = self.featurizer.features(norm.text)
        if not ids:
            return ()
        scale = 1.0 / np.sqrt(len(ids))
        pieces: list[tuple[float, int, int, str]] = []
        seen: set[str] = set()
        for token, start, end in tokens:  # a word said again is quoted where it came first
            if token not in seen:
                seen.add(token)
                mine = list(self.featurizer.word(token))
                pieces.append((float(self.weights[mine, j].sum()) * scale, start, end, token))
        for (a, start, _), (b, _, end) in pairwise(tokens):
            if f"{a} {b}" not in seen:
                seen.add(f"{a} {b}")
                bucket = self.featurizer.pair(a, b)
                pieces.append((float(self.weights[bucket, j]) * scale, start, end,
                               f"{a} {b}"))
        out: list[Gram] = []
        for weight, start, end, _ in sorted(pieces, key=lambda p: -p[0])[:top]:
            if weight <= 0:
                break
            o_start, o_end = norm.to_original(start, end)
            out.append(Gram(norm.original[o_start:o_end], o_start, o_end, weight))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: weights as base64 little-endian float16 (data, not code)."""
        return {"groups": list(self.groups), "bits": self.bits,
                "bias": [float(b) for b in self.bias],
                "weights_float16_b64": base64.b64encode(
                    self.weights.astype("<f2").tobytes()).decode("ascii")}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LexicalModel:
        bits = int(raw["bits"])
        if not 8 <= bits <= 20:
            raise ValueError(f"lexical bits must be 8..20, got {bits}")
        groups = tuple(str(g) for g in raw["groups"])
        data = base64.b64decode(raw["weights_float16_b64"], validate=True)
        expected = (1 << bits) * len(groups) * 2
        if len(data) != expected:
            raise ValueError(f"lexical weights hold {len(data)} bytes, expected {expected}")
        weights = np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(
            1 << bits, len(groups))
        bias = np.asarray(raw["bias"], dtype=np.float64)
        if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
            raise ValueError("lexical weights hold NaN or infinity")
        return cls(groups, bits, weights, bias)
