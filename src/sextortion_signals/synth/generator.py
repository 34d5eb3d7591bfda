"""Compose synthetic conversations from scenario templates and phrase banks.

One conversation = one ``random.Random`` seeded from (seed, split, index), so a
conversation never depends on the others: same seed, same bytes, in any order.
"""

from __future__ import annotations

import json
import random
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

from .banks import Bank, load_bank

CATEGORIES: dict[str, float] = {  # category -> share of a corpus (benign >= 60%)
    "benign_ordinary": 0.32,
    "benign_hard_negative": 0.33,
    "grooming": 0.10,
    "sextortion_financial": 0.11,
    "sextortion_content": 0.05,
    "sextortion_deepfake": 0.05,
    "mixed": 0.04,
}
HARD_NEGATIVE_SUBTYPES = ("money_friends", "innocent_urgency", "innocent_secrets",
                          "photo_sharing", "joke_threats", "innocent_age", "adults_flirting",
                          "ordinary_scams", "safety_talk")
VICTIM_REACTIONS = ("scared", "defiant", "silent", "pleading", "paying")
GROOMING_STAGES = frozenset({"age_probe", "flattery", "trust_exclusivity", "isolation",
                             "secrecy_request", "risk_check", "gift_offer", "platform_move",
                             "image_or_call_request", "meeting_request"})
MAX_MESSAGES = 40
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
               "i": "\u0456"}
_LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "$", "t": "7"}
_SLOT = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    category: str
    stages: tuple[str, ...]
    heldout: bool
    single: bool  # all stages in one message (scam e-mail style)


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    langs: tuple[str, ...] = ("en", "fr")
    heldout: bool = False  # draw only from held-out families and templates
    obfuscation_rate: float = 0.03
    timestamp_rate: float = 0.9  # share of conversations that carry timestamps


@lru_cache(maxsize=1)
def scenarios() -> tuple[Scenario, ...]:
    path = resources.files("sextortion_signals") / "synth" / "scenarios.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(Scenario(s["id"], s["category"], tuple(s["stages"]),
                          bool(s.get("heldout", False)), s.get("format") == "single")
                 for s in raw["scenario"])


class _Writer:
    """Builds one conversation; holds its rng, bank and family pool."""

    def __init__(self, rng: random.Random, bank: Bank, cfg: GenerationConfig) -> None:
        self.rng = rng
        self.bank = bank
        self.cfg = cfg
        self.messages: list[dict[str, Any]] = []
        self.tags: list[list[str]] = []
        ids = rng.sample(range(1000, 9999), 2)
        self.offender, self.target = f"user{ids[0]}", f"user{ids[1]}"
        self.slot_memory: dict[str, str] = {}

    # -- text --------------------------------------------------------------------------
    def phrase(self, section: str, key: str) -> str:
        fams = self.bank.families(section, key, self.cfg.heldout)
        text = self.rng.choice(self.rng.choice(fams).phrasings)
        return _SLOT.sub(self._fill, text)

    def _fill(self, m: re.Match[str]) -> str:
        slot = m.group(1)
        # Amount, channel and platform stay consistent within a conversation.
        if slot in ("amount", "channel", "platform", "app") and slot in self.slot_memory:
            return self.slot_memory[slot]
        value = self.rng.choice(self.bank.slot_values(slot, self.cfg.heldout))
        self.slot_memory[slot] = value
        return value

    def styled(self, text: str, sender: str) -> str:
        rng = self.rng
        if rng.random() < 0.45:
            text = text.lower()
        if rng.random() < 0.35:
            for full, short in self.bank.abbreviations:
                if rng.random() < 0.6:
                    text = re.sub(rf"(?<!\w){re.escape(full)}(?!\w)", short, text)
        if rng.random() < 0.2:
            text = text.replace("'", "").replace("’", "")
        if rng.random() < 0.3:
            text = text.rstrip(".!?")
        elif rng.random() < 0.1:
            text = text.rstrip(".") + rng.choice(["!!", "??", "!!!", "...", " ?!"])
        if rng.random() < 0.1:
            text = _typo(text, rng)
        if rng.random() < 0.15:
            text = f"{text} {rng.choice(self.bank.slots['emoji'])}"
        if sender == self.offender and rng.random() < self.cfg.obfuscation_rate:
            text = _obfuscate(text, rng)
        return text

    # -- messages ----------------------------------------------------------------------
    def add(self, sender: str, text: str, tags: list[str]) -> None:
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append({"sender": sender, "text": self.styled(text, sender)})
            self.tags.append(tags)

    def chatter(self, n: int) -> None:
        for _ in range(n):
            who = self.rng.choice((self.offender, self.target))
            self.add(who, self.phrase("chatter", "any"), [])


def _edit_one_word(text: str, rng: random.Random, min_len: int,
                   edit: Callable[[str, random.Random], str]) -> str:
    """Apply ``edit`` to one random alphabetic word of at least ``min_len`` letters."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= min_len and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    words[i] = edit(words[i], rng)
    return " ".join(words)


def _typo_word(w: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(w) - 2)
    return w[:k] + w[k + 1] + w[k] + w[k + 2:] if rng.random() < 0.5 else w[:k] + w[k + 1:]


def _obfuscate_word(w: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(_LEET.get(c, c) if rng.random() < 0.6 else c for c in w)
    if kind == 1:
        return " ".join(w)
    if kind == 2:
        return "".join(_HOMOGLYPHS.get(c, c) for c in w)
    return "\u200b".join(w)


def _typo(text: str, rng: random.Random) -> str:
    return _edit_one_word(text, rng, 5, _typo_word)


def _obfuscate(text: str, rng: random.Random) -> str:
    return _edit_one_word(text, rng, 4, _obfuscate_word)


def _pick_category(rng: random.Random) -> str:
    return rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]


def _risky(w: _Writer, scn: Scenario, reaction: str) -> None:
    rng = w.rng
    stages = [s[1:] if s.startswith("?") else s for s in scn.stages
              if not s.startswith("?") or rng.random() < 0.6]
    if len(stages) > 3 and rng.random() < 0.35:  # offenders do not follow scripts exactly
        i = rng.randrange(1, len(stages) - 1)
        stages[i], stages[i + 1] = stages[i + 1], stages[i]
    if scn.single:
        parts = [w.phrase("tactics", s) for s in stages]
        text = "".join(p + rng.choice((". ", ". ", "! ", " ", ".\n")) for p in parts).strip()
        w.add(w.offender, text, sorted(set(stages)))
        return
    extorting = False
    for stage in stages:
        if stage == "contact":
            w.add(w.offender, w.phrase("tactics", "contact"), [])
            w.add(w.target, w.phrase("replies", "greeting"), [])
            continue
        if stage == "age_disclosure":
            w.add(w.target, w.phrase("replies", "age_disclosure"), ["age_disclosure"])
            continue
        extorting = extorting or stage not in GROOMING_STAGES
        w.add(w.offender, w.phrase("tactics", stage), [stage])
        if not extorting:
            if rng.random() < 0.7:
                w.add(w.target, w.phrase("replies", "groomed"), [])
            if rng.random() < 0.3:
                w.chatter(rng.randint(1, 3))
        elif reaction != "silent" and rng.random() < 0.6:
            w.add(w.target, w.phrase("replies", reaction), [])


def _benign(w: _Writer, subtype: str | None) -> None:
    rng = w.rng
    if subtype is None:
        # Real chats run long; short-only benign data teaches "long = risky".
        w.chatter(rng.choice((rng.randint(1, 6), rng.randint(1, 14), rng.randint(10, 40))))
        return
    for _ in range(rng.randint(1, 4)):
        who = rng.choice((w.offender, w.target))
        w.add(who, w.phrase("benign", subtype), [])
        if rng.random() < 0.6:
            other = w.target if who == w.offender else w.offender
            w.add(other, w.phrase("chatter", "any"), [])


def _timestamps(w: _Writer, category: str, rng: random.Random) -> list[str | None]:
    if rng.random() >= w.cfg.timestamp_rate:
        return [None] * len(w.messages)
    t = _EPOCH + timedelta(seconds=rng.randrange(0, 600 * 86400))
    out: list[str | None] = []
    for i, tags in enumerate(w.tags):
        if i:
            if category.startswith("sextortion") or (category == "mixed" and any(
                    tag not in GROOMING_STAGES for tag in tags)):
                gap = rng.uniform(4, 90)  # bursts: the seeds' ~35 minutes to payment
            elif category in ("grooming", "mixed") and tags:
                gap = rng.uniform(3600, 3 * 86400)  # grooming spreads over days
            else:
                gap = rng.uniform(20, 3 * 3600)
            t += timedelta(seconds=gap)
        out.append(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


def generate_one(seed: int | str, key: str, cfg: GenerationConfig) -> dict[str, Any]:
    """One conversation, fully determined by (seed, key, cfg)."""
    rng = random.Random(f"{seed}:{key}")
    lang = rng.choice(cfg.langs)
    bank = load_bank(lang)
    w = _Writer(rng, bank, cfg)
    category = _pick_category(rng)
    subtype: str | None = None
    scenario_id = "chatter"
    if category == "benign_hard_negative":
        subtype = rng.choice(HARD_NEGATIVE_SUBTYPES)
        scenario_id = f"benign:{subtype}"
        w.chatter(rng.choice((0, 0, 1, 2, 4, 8)))
        _benign(w, subtype)
        w.chatter(rng.choice((0, 0, 1, 3, 10)))
    elif category == "benign_ordinary":
        _benign(w, None)
    else:
        pool = [s for s in scenarios() if s.category == category]
        held = [s for s in pool if s.heldout == cfg.heldout] or pool
        scn = rng.choice(held)
        scenario_id = scn.id
        reaction = rng.choice(VICTIM_REACTIONS)
        subtype = f"{scn.id}:{reaction}"
        if not scn.single:
            # The first risky message can be anywhere: ordinary chat may come first.
            w.chatter(rng.choice((0, 0, 1, 2, 3, 6, 10)))
        _risky(w, scn, reaction)
    stamps = _timestamps(w, category, rng)
    risky = [i for i, tags in enumerate(w.tags) if any(t != "age_disclosure" for t in tags)]
    return {
        "id": f"{key}",
        "lang": lang,
        "labels": {"grooming": int(category in ("grooming", "mixed")),
                   "sextortion": int(category.startswith("sextortion") or category == "mixed")},
        "category": category,
        "subtype": subtype,
        "scenario": scenario_id,
        "first_risk_index": risky[0] if risky and not category.startswith("benign") else None,
        "messages": [{**m, "timestamp": ts} for m, ts in zip(w.messages, stamps, strict=True)],
        "tags": w.tags,
    }


def generate(n: int, *, seed: int | str = 0, config: GenerationConfig | None = None,
             prefix: str = "conv") -> Iterator[dict[str, Any]]:
    """``n`` conversations, deterministic in ``seed``."""
    cfg = config or GenerationConfig()
    for k in range(n):
        yield generate_one(seed, f"{prefix}-{k:06d}", cfg)


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[str] | Path) -> int:
    """Write one JSON object per line (stable key order, UTF-8). Returns the count."""
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="\n") as fh:
            return write_jsonl(rows, fh)
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count
