"""The authored corpus: conversations written from scratch by independent writing passes.

``datasets/authored/<pass>/`` holds one pass: ``BRIEF.md`` (everything its writer was
given) and ``conversations.jsonl`` (what it wrote). ``datasets/authored/splits.json``
says which pass belongs to which split; splits are by author, so a test conversation's
writer never wrote a training one.

    python -m sextortion_signals.synth.authored assemble SOURCE datasets/authored
    python -m sextortion_signals.synth.authored check datasets/authored

``assemble`` reads each pass's ``batch_*.jsonl`` from SOURCE (as its writer left them),
adds ``author``, ``split`` and ``labels``, scans the content rule and writes the folder;
``check`` reports near-duplicates across splits, content-rule hits and diversity figures,
and prints no conversation text (test text is read by code alone).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "test")
SPLITS_FILE = "splits.json"
CONVERSATIONS = "conversations.jsonl"
BRIEF = "BRIEF.md"
NEAR_DUPLICATE = 0.8  # cosine of word 1-3-gram TF-IDF vectors
_WORD = re.compile(r"\w+")


def labels_of(category: str) -> dict[str, int]:
    """The labels a category implies (as in the generator)."""
    return {"grooming": int(category in ("grooming", "mixed")),
            "sextortion": int(category.startswith("sextortion") or category == "mixed")}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))


@cache
def explicit_terms() -> tuple[str, ...]:
    """Terms no text we write may contain (whole words, case- and accent-folded)."""
    raw = (resources.files("sextortion_signals") / "synth" / "explicit_terms.txt").read_text(
        encoding="utf-8")
    return tuple(_fold(t.strip()) for t in raw.splitlines() if t.strip() and t[0] != "#")


def content_hits(texts: Iterable[str], terms: Iterable[str] | None = None,
                 ) -> list[tuple[int, str]]:
    """(position, term) of every text holding a term of the content rule's list."""
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, terms or explicit_terms()))
                         + r")(?!\w)")
    return [(i, m.group()) for i, text in enumerate(texts)
            if (m := pattern.search(_fold(text)))]


def read_splits(root: Path) -> dict[str, list[str]]:
    """Split -> its passes (authors)."""
    raw = json.loads((root / SPLITS_FILE).read_text(encoding="utf-8"))
    return {split: list(raw[split]) for split in SPLITS}


def read(root: Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    """The conversations of one split (or all), pass by pass, in id order."""
    splits = read_splits(root)
    if split is not None and split not in splits:
        raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    for name in SPLITS:
        if split is not None and name != split:
            continue
        for author in splits[name]:
            with (root / author / CONVERSATIONS).open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)


def assemble(source: Path, out: Path, splits: dict[str, list[str]]) -> dict[str, int]:
    """Build ``out`` from the passes in ``source`` (see the module docstring)."""
    split_of = {author: name for name, authors in splits.items() for author in authors}
    counts: Counter[str] = Counter()
    out.mkdir(parents=True, exist_ok=True)
    for author in sorted(split_of):
        rows: list[dict[str, Any]] = []
        for batch in sorted((source / author).glob("batch_*.jsonl")):
            for line in batch.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    row.update(author=author, split=split_of[author],
                               labels=labels_of(row["category"]))
                    rows.append(row)
        rows.sort(key=lambda r: r["id"])
        hits = content_hits(m["text"] for r in rows for m in r["messages"])
        if hits:
            raise ValueError(f"{author}: {len(hits)} message(s) break the content rule "
                             f"(terms: {sorted({t for _, t in hits})})")
        folder = out / author
        folder.mkdir(exist_ok=True)
        shutil.copyfile(source / author / BRIEF, folder / BRIEF)
        with (folder / CONVERSATIONS).open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts[split_of[author]] += len(rows)
    (out / SPLITS_FILE).write_text(json.dumps(splits, indent=1) + "\n", encoding="utf-8")
    return dict(counts)


def conversation_text(row: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in row["messages"])


def near_duplicates(rows: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(id, id, cosine) of conversation pairs from different splits whose word 1-3-gram
    TF-IDF vectors have a cosine of at least ``NEAR_DUPLICATE``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(ngram_range=(1, 3), min_df=1).fit_transform(
        [conversation_text(r) for r in rows])
    sims = (matrix @ matrix.T).tocoo()
    out = []
    for i, j, v in zip(sims.row, sims.col, sims.data, strict=True):
        if i < j and v >= NEAR_DUPLICATE and rows[i]["split"] != rows[j]["split"]:
            out.append((rows[i]["id"], rows[j]["id"], float(v)))
    return out


def diversity(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """distinct-1/2/3, duplicate rates and vocabulary overlap, overall and per pass."""
    from .diversity import distinct_n, duplicate_rates

    def figures(part: list[dict[str, Any]]) -> dict[str, Any]:
        texts = [m["text"] for r in part for m in r["messages"]]
        return {"conversations": len(part), **duplicate_rates(part),
                **{f"distinct_{n}": distinct_n(texts, n) for n in (1, 2, 3)}}

    by_author: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_author.setdefault(r["author"], []).append(r)
    vocab = {a: {w for r in part for m in r["messages"] for w in _WORD.findall(m["text"].lower())}
             for a, part in by_author.items()}
    overlaps = [len(vocab[a] & vocab[b]) / len(vocab[a] | vocab[b])
                for a in vocab for b in vocab if a < b]
    return {"overall": figures(rows),
            "per_pass": {a: figures(part) for a, part in sorted(by_author.items())},
            "vocabulary_jaccard_between_passes": {
                "mean": sum(overlaps) / len(overlaps) if overlaps else 0.0,
                "max": max(overlaps, default=0.0)}}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "assemble":
        source, out = Path(argv[1]), Path(argv[2])
        splits = json.loads((source / SPLITS_FILE).read_text(encoding="utf-8"))
        print(json.dumps(assemble(source, out, splits)))
        return 0
    if len(argv) == 2 and argv[0] == "check":
        rows = list(read(Path(argv[1])))
        report = {"near_duplicates_across_splits": near_duplicates(rows),
                  "content_rule_hits": len(content_hits(m["text"] for r in rows
                                                         for m in r["messages"])),
                  "diversity": diversity(rows)}
        print(json.dumps(report, indent=1))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
