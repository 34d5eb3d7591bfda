"""Is the corpus too easy? Diversity figures and a bag-of-words baseline.

``python -m sextortion_signals.synth.diversity datasets/full`` prints a JSON report:
distinct-n ratios of message text, exact and near-duplicate rates, and a TF-IDF +
logistic-regression baseline trained on train, scored on both test splits. If the
baseline is near perfect on the held-out-family split, the data is too easy.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _canon(text: str) -> str:
    # Near-duplicate key: case, digits and punctuation do not make a message new.
    return " ".join(_WORD.findall(_DIGITS.sub("0", text.lower())))


def distinct_n(texts: list[str], n: int) -> float:
    grams: Counter[tuple[str, ...]] = Counter()
    for t in texts:
        words = _WORD.findall(t.lower())
        grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def duplicate_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    texts = [m["text"] for r in rows for m in r["messages"]]
    exact = Counter(texts)
    near = Counter(_canon(t) for t in texts)
    convs = Counter(" | ".join(_canon(m["text"]) for m in r["messages"]) for r in rows)
    n = len(texts) or 1
    return {
        "messages": len(texts),
        "message_exact_duplicate_rate": sum(c - 1 for c in exact.values()) / n,
        "message_near_duplicate_rate": sum(c - 1 for c in near.values()) / n,
        "conversation_near_duplicate_rate": sum(c - 1 for c in convs.values()) / len(rows),
    }


def bow_baseline(train: list[dict[str, Any]],
                 tests: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    def text(r: dict[str, Any]) -> str:
        return "\n".join(m["text"] for m in r["messages"])

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X = vec.fit_transform([text(r) for r in train])
    out: dict[str, dict[str, float]] = {}
    for label in ("grooming", "sextortion"):
        y = [r["labels"][label] for r in train]
        clf = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced").fit(X, y)
        for name, rows in tests.items():
            p = clf.predict_proba(vec.transform([text(r) for r in rows]))[:, 1]
            out.setdefault(name, {})[f"{label}_pr_auc"] = float(
                average_precision_score([r["labels"][label] for r in rows], p))
    return out


def report(corpus: Path) -> dict[str, Any]:
    train = _rows(corpus / "train.jsonl")
    tests = {s: _rows(corpus / f"{s}.jsonl") for s in ("test_in_family", "test_heldout")}
    texts = [m["text"] for r in train for m in r["messages"]]
    return {
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "distinct_3": distinct_n(texts, 3),
        "train": duplicate_rates(train),
        "bag_of_words_baseline": bow_baseline(train, tests),
    }


if __name__ == "__main__":
    print(json.dumps(report(Path(sys.argv[1] if len(sys.argv) > 1 else "datasets/full")),
                     indent=2))
