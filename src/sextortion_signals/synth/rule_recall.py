"""How often does each tactic's signal fire on the phrase-bank lines written for it?

``python -m sextortion_signals.synth.rule_recall`` prints, per language and tactic, the
share of sampled phrasings that fire the tactic's own signal, for in-family lines (the
ones rule authors may read) and held-out lines (never read when writing rules). The gap
between the two is the honest estimate of rule recall on unseen wording.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ..api import extract_signals_many
from .banks import load_bank

_SLOT = re.compile(r"\{([a-z_]+)\}")


def rule_recall(lang: str, per_family: int = 6, seed: int = 0) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    bank = load_bank(lang)
    rows: list[tuple[str, bool, str]] = []
    for tactic, families in bank.sections["tactics"].items():
        if tactic == "contact":  # openers carry no tactic
            continue
        for fam in families:
            for phrasing in rng.sample(fam.phrasings, min(per_family, len(fam.phrasings))):
                text = _SLOT.sub(lambda m: rng.choice(bank.slots[m.group(1)]), phrasing)
                rows.append((tactic, fam.heldout, text))
    hits = extract_signals_many([text for _, _, text in rows])
    out: dict[str, dict[str, Any]] = {}
    for (tactic, heldout, _), found in zip(rows, hits, strict=True):
        key = "heldout" if heldout else "in_family"
        entry = out.setdefault(tactic, {"in_family": [0, 0], "heldout": [0, 0]})
        entry[key][0] += any(h.name == tactic for h in found)
        entry[key][1] += 1
    return out


def main() -> None:
    for lang in ("en", "fr"):
        table = rule_recall(lang)
        totals = {"in_family": [0, 0], "heldout": [0, 0]}
        print(f"{lang}: tactic  in-family  held-out")
        for tactic, e in table.items():
            for k in totals:
                totals[k][0] += e[k][0]
                totals[k][1] += e[k][1]
            print(f"  {tactic:24s} {e['in_family'][0]:3d}/{e['in_family'][1]:<3d} "
                  f"{e['heldout'][0]:3d}/{e['heldout'][1]:<3d}")
        print(f"  {'ALL':24s} {totals['in_family'][0] / totals['in_family'][1]:.0%}"
              f"      {totals['heldout'][0] / totals['heldout'][1]:.0%}")


if __name__ == "__main__":
    main()
