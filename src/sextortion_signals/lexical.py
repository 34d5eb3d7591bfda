"""Learned lexical evidence: how strongly each message reads as each tactic group.

A linear model per tactic group (``rules/specs.toml``: claim, threat, demand, pressure,
probe, bond, contact) over hashed features of the normalised message: its words, word
pairs, and the character 3-5-grams of each word (padded, like scikit-learn's
``char_wb``). It is trained on the tactics writers tagged message by message (``train``),
never on our own rules, and its probabilities become features of the conversation model.
Its evidence in an explanation is the words and word pairs that pushed it most.

A message's features are counted, scaled by ``1 / sqrt(number of features)``, so its
score is a sum over words and pairs: each word's buckets are kept per word (bounded), and
a batch is scored with one gather and one ``np.add.reduceat``. Hashing is ``zlib.crc32``:
the same buckets in every process, with no dependency.
"""

from __future__ import annotations

import base64
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .text.normalize import NormalizedText

# Words (an elision or a contraction kept: "j'ai", "don't"), digit runs, or one emoji
# (emoji carry meaning in chat: 📸 💸 ⏰ 📤).
TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[\U0001F300-\U0001FAFF\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF]")
CHAR_GRAMS = (3, 4, 5)
MAX_CHAR_GRAM_WORD = 24  # longer tokens (links, hashes) bring their word feature only
MAX_WORDS_KEPT = 200_000


def _bucket(feature: str, mask: int) -> int:
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) & mask


class LexicalFeaturizer:
    """Normalised text -> sorted distinct bucket ids (``bits`` bits each). Thread-safe:
    the per-word store is replaced, never mutated while it may be read."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._mask = (1 << bits) - 1
        self._words: dict[str, tuple[int, ...]] = {}
        self._lock = threading.Lock()

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
        """Bucket ids of a normalised text, one per feature occurrence."""
        tokens = TOKEN.findall(text)
        ids: list[int] = []
        words = self._words
        for token in tokens:
            ids.extend(words.get(token) or self.word(token))
        if len(tokens) > 1:
            pair = self.pair
            ids.extend([pair(a, b) for a, b in zip(tokens, tokens[1:])])  # noqa: B905
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


@dataclass(frozen=True)
class Gram:
    """One piece of lexical evidence: a word or word pair and its push on a group."""

    text: str
    start: int  # offsets into the original message
    end: int
    weight: float  # contribution to the group's log-odds


@dataclass(frozen=True)
class LexicalModel:
    """Per-group logistic regression over ``LexicalFeaturizer`` buckets (immutable)."""

    groups: tuple[str, ...]
    bits: int
    weights: np.ndarray  # (2**bits, groups), float32
    bias: np.ndarray  # (groups,)
    featurizer: LexicalFeaturizer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (1 << self.bits, len(self.groups)):
            raise ValueError(f"lexical weights have shape {self.weights.shape}, expected "
                             f"({1 << self.bits}, {len(self.groups)})")
        object.__setattr__(self, "featurizer", LexicalFeaturizer(self.bits))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Log-odds per group of each normalised text, shape (n, groups)."""
        out = np.tile(self.bias, (len(texts), 1))
        indptr, indices, values = self.featurizer.matrix(texts)
        if indices.size:
            rows = np.flatnonzero(np.diff(indptr))  # texts with at least one feature
            contributions = self.weights[indices].astype(np.float64) * values[:, None]
            out[rows] += np.add.reduceat(contributions, indptr[rows], axis=0)
        return out

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Probability per group that each normalised text uses one of its tactics."""
        out: np.ndarray = 1.0 / (1.0 + np.exp(-self.logits(texts)))
        return out

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
        for token, start, end in tokens:
            mine = list(self.featurizer.word(token))
            pieces.append((float(self.weights[mine, j].sum()) * scale, start, end, token))
        for (a, start, _), (b, _, end) in zip(tokens, tokens[1:]):  # noqa: B905
            bucket = self.featurizer.pair(a, b)
            pieces.append((float(self.weights[bucket, j]) * scale, start, end, f"{a} {b}"))
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
