"""The default corpus: train / valid / in-family test from the train families, and a
held-out-family test drawn only from families and templates train never sees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .generator import GenerationConfig, generate, write_jsonl

# split -> (share of the corpus, draws from held-out families?)
SPLITS: dict[str, tuple[float, bool]] = {
    "train": (0.70, False),
    "valid": (0.10, False),
    "test_in_family": (0.10, False),
    "test_heldout": (0.10, True),
}
DEFAULT_N = 20_000
DEFAULT_SEED = 20261124


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_corpus(out_dir: Path, *, n: int = DEFAULT_N, seed: int = DEFAULT_SEED,
                 langs: tuple[str, ...] = ("en", "fr")) -> dict[str, Any]:
    """Write every split to ``out_dir/<split>.jsonl`` and a ``MANIFEST.json`` with counts
    and SHA-256 checksums. Deterministic in (n, seed, langs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"n": n, "seed": seed, "langs": list(langs), "splits": {}}
    for split, (share, heldout) in SPLITS.items():
        size = round(n * share)
        cfg = GenerationConfig(langs=langs, heldout=heldout)
        path = out_dir / f"{split}.jsonl"
        write_jsonl(generate(size, seed=seed, config=cfg, prefix=split), path)
        manifest["splits"][split] = {"file": path.name, "conversations": size,
                                     "heldout_families": heldout,
                                     "sha256": sha256_file(path)}
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
    return manifest
