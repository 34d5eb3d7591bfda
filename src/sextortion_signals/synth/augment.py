"""Training augmentation so that context which usually lowers risk cannot switch an alert
off: copies of harmful conversations whose tactic messages also carry laughter, a joke
marker, safety words or a helpline, or that open with an unrelated news-style line. The
copies keep their labels and tags (what the message does has not changed), so the models
learn that these words, attached to a tactic, do not make it harmless.
"""

from __future__ import annotations

import random
from typing import Any

# Broad on purpose, and in both languages: the point is the kind of words, not a list.
SUFFIXES = {
    "en": [" lol", " lmao", " haha", " jk", " just kidding", " 😂", " 🤣", " xD", " lmfao",
           " (don't pay)", " dont pay ok", " report me lol", " call the police then",
           " helpline 116 123 won't help you", " block me and see", " no cap",
           " i'm joking... or am i", " this is a scam warning", " stay safe"],
    "fr": [" mdr", " ptdr", " lol", " jpp", " 😂", " jrigole", " c'est pour rire",
           " (paye pas)", " paye pas hein", " appelle le 3018 si tu veux", " signale moi",
           " bloque moi pour voir", " c'est une blague... ou pas", " attention arnaque",
           " prends soin de toi"],
}
PREAMBLES = {
    "en": ["BREAKING: police warn of a rise in online scams, details below",
           "fwd: safety notice from the school board about online blackmail",
           "news: what to do if someone threatens you online (read this)"],
    "fr": ["INFO : la police alerte sur les arnaques en ligne, lire la suite",
           "transféré : message du collège sur le chantage en ligne",
           "actu : que faire si quelqu'un vous menace en ligne"],
}


def context_copy(messages: list[dict[str, Any]], tags: list[list[str]], lang: str | None,
                 rng: random.Random) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """A harmful conversation's messages and tags with risk-lowering context added."""
    lang = lang if lang in SUFFIXES else "en"
    messages = [dict(m) for m in messages]
    tags = [list(t) for t in tags]
    tactic = [i for i, t in enumerate(tags) if any(x != "age_disclosure" for x in t)]
    if rng.random() < 0.2 and messages:
        first = messages[tactic[0]] if tactic else messages[0]
        messages.insert(0, {"sender": first.get("sender"), "text": rng.choice(PREAMBLES[lang]),
                            "timestamp": messages[0].get("timestamp")})
        tags.insert(0, [])
        tactic = [i + 1 for i in tactic]
    for i in tactic:
        if rng.random() < 0.6:
            messages[i]["text"] = str(messages[i]["text"]) + rng.choice(SUFFIXES[lang])
    return messages, tags
