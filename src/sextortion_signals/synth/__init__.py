"""Synthetic conversation generator (EN/FR): the only source of training text.

See ``datasets/DATASET.md`` for the data card. Phrase banks are data files in ``banks/``;
scenario templates in ``scenarios.toml``. Every phrasing and template belongs to a family,
and held-out families never appear in the train split.
"""

from .generator import CATEGORIES, GenerationConfig, generate, write_jsonl
from .splits import SPLITS, build_corpus

__all__ = ["CATEGORIES", "SPLITS", "GenerationConfig", "build_corpus", "generate",
           "write_jsonl"]
