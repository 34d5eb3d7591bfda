"""Generated conversations as a platform's message table looks: many short conversations,
their rows interleaved. Used by the Dask tests and benchmark (no content of its own)."""

from __future__ import annotations

import random
from typing import Any

from .generator import generate

Conversations = list[tuple[str, list[dict[str, Any]]]]


def short_conversations(n_messages: int, seed: int) -> Conversations:
    """Generated conversations cut into short ones (a third single messages, the rest 2 to 8
    consecutive messages) until there are exactly ``n_messages`` messages."""
    rng = random.Random(seed)
    out: Conversations = []
    total = 0
    batch = 0
    while total < n_messages:
        for row in generate(500, seed=seed + batch):
            msgs = row["messages"]
            start = 0
            while start < len(msgs) and total < n_messages:
                size = min(1 if rng.random() < 0.33 else rng.randint(2, 8), n_messages - total)
                piece = msgs[start:start + size]
                out.append((f"{row['id']}-b{batch}-{start}", piece))
                total += len(piece)
                start += size
            if total >= n_messages:
                break
        batch += 1
    return out


def interleaved_rows(convs: Conversations, seed: int) -> list[dict[str, Any]]:
    """One row per message (``conversation_id`` plus the message's keys), conversations
    mixed at random, each one's rows in order."""
    rng = random.Random(seed)
    keyed: list[tuple[float, dict[str, Any]]] = []
    for cid, msgs in convs:
        keys = sorted(rng.random() for _ in msgs)
        keyed += [(k, {"conversation_id": cid, **m}) for k, m in zip(keys, msgs, strict=True)]
    keyed.sort(key=lambda kv: kv[0])
    return [rec for _, rec in keyed]
