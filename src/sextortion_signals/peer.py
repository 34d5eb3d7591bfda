"""The peer every model is compared with: TF-IDF of words (1-2) and characters (3-5,
within word boundaries) over the whole conversation, one balanced logistic regression per
label. It knows no tactic, so if it beats a model on held-out authors, the model's
detectors capture phrasings rather than tactics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .data import Labelled
from .model import LABELS


def conversation_text(item: Labelled) -> str:
    """The messages' text, one per line (a message is a mapping with ``text`` or a str)."""
    return "\n".join(m if isinstance(m, str) else str(m.get("text", ""))
                     for m in item.messages)


class TfidfPeer:
    """``fit`` on labelled conversations, ``predict_proba`` per label."""

    def __init__(self, C: float = 10.0) -> None:
        self.C = C
        self._heads: dict[str, object] = {}

    def fit(self, items: Sequence[Labelled]) -> TfidfPeer:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        texts = [conversation_text(it) for it in items]
        for label in LABELS:
            y = np.array([it.labels[label] for it in items])
            if len(set(y.tolist())) < 2:
                continue
            pipe = make_pipeline(
                make_union(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                           TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3,
                                           sublinear_tf=True)),
                LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced"))
            self._heads[label] = pipe.fit(texts, y)
        return self

    def predict_proba(self, items: Sequence[Labelled]) -> dict[str, np.ndarray]:
        texts = [conversation_text(it) for it in items]
        return {label: head.predict_proba(texts)[:, 1]  # type: ignore[attr-defined]
                for label, head in self._heads.items()}
