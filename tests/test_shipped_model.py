"""The shipped model is what the documented command makes from the committed data, and
what the current code computes: retraining gives the same coefficients, and re-scoring
the validation writers gives the metrics the model file records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sextortion_signals.cli import main
from sextortion_signals.data import read_labelled
from sextortion_signals.evaluate import evaluate
from sextortion_signals.model import default_model

from .conftest import ROOT

AUTHORED = ROOT / "datasets" / "authored"
# The documented command (README, "Training"), with the generated corpus rebuilt in FULL.
COMMAND = ["train", f"{AUTHORED}:train", "--augment", "{full}/train.jsonl",
           "--valid", f"{AUTHORED}:validation", "-o", "{out}"]


@pytest.fixture(scope="module")
def full_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sextortion_signals.synth import build_corpus

    committed = json.loads((ROOT / "datasets" / "MANIFEST.json").read_text())
    out = tmp_path_factory.mktemp("full")
    build_corpus(out, n=committed["n"], seed=committed["seed"],
                 langs=tuple(committed["langs"]))
    return out


@pytest.mark.slow
def test_full_corpus_rebuilds_to_the_committed_checksums(full_corpus: Path) -> None:
    committed = json.loads((ROOT / "datasets" / "MANIFEST.json").read_text())
    rebuilt = json.loads((full_corpus / "MANIFEST.json").read_text())
    assert rebuilt["splits"] == committed["splits"]


@pytest.mark.slow
def test_shipped_model_is_reproducible_from_the_committed_data(full_corpus: Path,
                                                                tmp_path: Path) -> None:
    args = [a.format(full=full_corpus, out=tmp_path / "model") for a in COMMAND]
    assert main(args) == 0
    ours = json.loads((tmp_path / "model" / "model.json").read_text())
    shipped = json.loads((ROOT / "models" / "default" / "model.json").read_text())
    assert ours["training"]["train_sha256"] == shipped["training"]["train_sha256"]
    assert ours["feature_names"] == shipped["feature_names"]
    for label, head in shipped["heads"].items():
        assert ours["heads"][label]["thresholds"] == head["thresholds"]
        assert ours["heads"][label]["coef"] == pytest.approx(head["coef"], abs=1e-9)
    assert ours["lexical"] == shipped["lexical"]


@pytest.mark.slow
def test_shipped_model_matches_the_code() -> None:
    """A change to signals, frames or features without retraining shows here."""
    model = default_model()
    report = evaluate(model, read_labelled(f"{AUTHORED}:validation"), early_warning=False)
    for label, recorded in model.metrics["validation"].items():
        now = report["labels"][label]
        for key in ("pr_auc", "precision", "recall", "fpr", "brier"):
            assert np.isclose(now[key], recorded["valid"][key], atol=1e-12), (label, key)
