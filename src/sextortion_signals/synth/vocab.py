"""Build ``text/vocab.txt``: the words normalisation may read through an obfuscation with.

    python -m sextortion_signals.synth.vocab datasets/authored

Words (letters only, 2+ characters, folded as normalised text is) from the authored
corpus's train split (never validation or test), the generator's phrase banks, the
language word lists, the rules and the concept lexicons. A word seen only once in the
train text is left out (typos, names).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

from ..text.normalize import normalize

_WORD = re.compile(r"[a-z]{2,}")
MIN_COUNT = 2
VOCAB = "vocab.txt"


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(text).text)


def build(authored_root: Path) -> list[str]:
    from ..rules.registry import rule_languages, rules_for
    from ..text.language import word_lists
    from .authored import read
    from .banks import bank_languages, load_bank

    counts: Counter[str] = Counter()
    for row in read(authored_root, "train"):
        for message in row["messages"]:
            counts.update(_words(message["text"]))
    keep = {w for w, n in counts.items() if n >= MIN_COUNT}
    for lang in bank_languages():
        bank = load_bank(lang)
        for families in bank.sections.values():
            for fams in families.values():
                for family in fams:
                    for phrasing in family.phrasings:
                        keep.update(_words(phrasing))
    for words in word_lists().values():
        keep.update(w for w in words if _WORD.fullmatch(w))
    for lang in rule_languages():
        for rule in rules_for(lang):
            for text in (*rule.literals, *(str(t) for t in rule.pattern or ())):
                keep.update(_words(text))
    folder = resources.files("sextortion_signals") / "frames"
    for entry in folder.iterdir():
        if entry.name.endswith(".toml") and entry.name != "frames.toml":
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
            for terms in raw.get("concepts", {}).values():
                for term in terms:
                    keep.update(_words(term))
    return sorted(keep)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    words = build(Path(argv[0]))
    target = Path(__file__).resolve().parents[1] / "text" / VOCAB
    target.write_text("# Built by `python -m sextortion_signals.synth.vocab` from train text, "
                      "banks, word lists, rules and concepts.\n" + "\n".join(words) + "\n",
                      encoding="utf-8")
    print(f"{len(words)} words -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
