"""Training, end to end, on checked data:

1. the learned lexical evidence (``LexicalClassifier``) on the messages writers tagged,
   cross-fitted by author: each training conversation gets group probabilities from a
   model that never saw its writer (as a new conversation would);
2. ``ConversationClassifier`` (class-weighted logistic regression per label, Platt-
   calibrated on out-of-fold scores) on those, with the full lexical model attached;
3. alert thresholds chosen on the validation split; exported as the JSON model scoring
   loads. Same data and seed, same model."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import Labelled, first_risk_by_label
from .errors import TrainingDataError
from .lexical import LexicalModel
from .model import LABELS, Model
from .rules.registry import available, groups

MIN_PER_CLASS = 5  # positives and negatives of each label in the training data
MIN_VALID_PER_CLASS = 10  # below this, the validation split cannot set a threshold


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    C: float = 0.3
    folds: int = 5
    # Precision targets of the alert thresholds ("high" level), per label: a false
    # sextortion alert on friends' mock threats costs more than a missed weak one.
    alert_precision: dict[str, float] = field(
        default_factory=lambda: {"grooming": 0.95, "sextortion": 0.98})
    review_probability: float = 0.2  # "medium": worth a moderator's look (calibrated p)
    min_alert: float = 0.5  # never report a label below this probability
    # Share of rule hits dropped at random while fitting (rules miss phrasings they were not
    # written for). With learned evidence beside the rules, 0 did best on validation authors.
    hit_dropout: float = 0.0
    lexical_C: float = 10.0
    lexical_bits: int = 17
    lexical_folds: int = 5
    # Generated conversations (no ``author``) as augmentation: their total weight, relative
    # to the authored conversations', in the conversation model; and whether their
    # messages train the lexical model (they made it worse on validation authors).
    generator_weight: float = 0.1
    lexical_on_generator: bool = False
    # Share of harmful authored training conversations also seen with risk-lowering context
    # added (synth/augment.py): laughter or a helpline must not switch an alert off.
    context_copies: float = 0.5
    # Share of tagged training conversations also seen partially (``partial_views``: a
    # prefix and a short window), and each view's weight: single messages and conversations
    # followed live must score as well as whole transcripts.
    partial_views: float = 1.0
    partial_weight: float = 0.5


def data_checksum(items: Sequence[Labelled]) -> str:
    digest = hashlib.sha256()
    for it in items:
        digest.update(repr((it.id, it.labels, it.messages)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def check_training_data(train: Sequence[Labelled], valid: Sequence[Labelled]) -> list[str]:
    """Raise ``TrainingDataError`` when the data cannot train a model; return warnings for
    what it can train but not measure well."""
    notes: list[str] = []
    for name, items, need in (("training", train, MIN_PER_CLASS),
                              ("validation", valid, MIN_VALID_PER_CLASS)):
        for label in LABELS:
            pos = sum(it.labels[label] for it in items)
            neg = len(items) - pos
            if min(pos, neg) >= need:
                continue
            message = (f"the {name} data has {pos} positive and {neg} negative "
                       f"conversation(s) for {label!r}; at least {need} of each are needed")
            if name == "training":
                raise TrainingDataError(message)
            notes.append(message + f": the {label!r} alert threshold falls back to the "
                                   f"0.5 floor instead of the precision target")
    return notes


def choose_thresholds(y: np.ndarray, p: np.ndarray, cfg: TrainConfig,
                      label: str = "sextortion") -> tuple[float, float]:
    """alert: lowest threshold whose precision on the validation split reaches the target
    (never below ``min_alert``); review: ``review_probability`` (probabilities are
    calibrated, so 0.2 reads "about one in five such conversations is harmful"). With
    fewer than ``MIN_VALID_PER_CLASS`` of a class, the floor ``min_alert``."""
    if min(int(y.sum()), int(y.size - y.sum())) < MIN_VALID_PER_CLASS:
        return cfg.min_alert, min(cfg.review_probability, cfg.min_alert)
    alert = 1.0
    for t in np.unique(p)[::-1]:
        pred = p >= t
        if pred.sum() and (y[pred] == 1).mean() >= cfg.alert_precision[label]:
            alert = float(t)
        elif pred.sum() > 20:
            break
    alert = max(alert, cfg.min_alert)
    return alert, min(cfg.review_probability, alert)


def author_of(item: Labelled) -> str | None:
    return str(item.metadata["author"]) if item.metadata.get("author") else None


def _group_targets(tags: list[list[str]] | None, n: int) -> np.ndarray | None:
    """Per message, whether it was tagged with a tactic of each group."""
    if tags is None or len(tags) != n:
        return None
    group_of = {s.name: s.group for s in available() if s.group is not None}
    names = [g.name for g in groups()]
    out = np.zeros((n, len(names)), dtype=int)
    for i, message_tags in enumerate(tags):
        for tag in message_tags:
            g = group_of.get(tag)
            if g is not None:
                out[i, names.index(g)] = 1
    return out


def cross_fit_lexical(texts: list[list[str]], targets: list[np.ndarray | None],
                      folds: list[int], usable: list[bool], cfg: TrainConfig,
                      ) -> tuple[LexicalModel, list[np.ndarray]]:
    """The lexical model on every ``usable`` tagged conversation, and per conversation the
    group probabilities of a model trained without its fold."""
    from .estimators import LexicalClassifier

    def fit(keep: list[bool]) -> LexicalModel:
        rows = [k for k, ok in enumerate(keep) if ok]
        msg_texts = [t for k in rows for t in texts[k]]
        Y = np.vstack([targets[k] for k in rows])  # type: ignore[misc]
        return LexicalClassifier(cfg.lexical_bits, cfg.lexical_C).fit(msg_texts, Y).model_

    out: list[np.ndarray] = [np.zeros((len(t), len(groups()))) for t in texts]
    for fold in range(cfg.lexical_folds):
        model = fit([u and f != fold for u, f in zip(usable, folds, strict=True)])
        held = [k for k, f in enumerate(folds) if f == fold]
        probs = model.message_probabilities([t for k in held for t in texts[k]])
        start = 0
        for k in held:
            out[k] = probs[start:start + len(texts[k])]
            start += len(texts[k])
    return fit(usable), out


def lexical_folds(items: Sequence[Labelled], k: int) -> list[int]:
    """Cross-fitting folds: by author where the data names one (a writer's phrasings must
    not leak into the evidence scored on their own text), else by id."""
    names = sorted({a for a in map(author_of, items) if a is not None})
    fold_of = {a: n % k for n, a in enumerate(names)}
    return [fold_of[a] if (a := author_of(it)) is not None
            else int(hashlib.sha256(it.id.encode()).hexdigest()[:8], 16) % k for it in items]


def context_copies(train: Sequence[Labelled], cfg: TrainConfig) -> list[Labelled]:
    """Copies of harmful tagged conversations with risk-lowering context added (same
    author, so cross-fitting keeps each copy in its original's fold)."""
    from .synth.augment import context_copy

    rng = random.Random(f"{cfg.seed}:context")
    out = []
    for it in train:
        harmful = any(it.labels.values())
        if not harmful or it.tags is None:
            continue
        if rng.random() >= cfg.context_copies:
            continue
        messages, tags = context_copy(list(it.messages), list(it.tags), it.lang, rng)
        out.append(dataclasses.replace(
            it, id=f"{it.id}~context", messages=messages, tags=tags,
            first_risk_by_label=first_risk_by_label(tags), where=f"{it.where} (context copy)"))
    return out


# A view is extortion once it holds a threat or a demand; a claim alone ("i have your
# pics") is ambiguous (friends say it of holiday photos), so views holding a claim but no
# threat or demand teach nothing either way and are left out.
_EXTORTION_GROUPS = frozenset({"threat", "demand"})


def partial_views(train: Sequence[Labelled], cfg: TrainConfig) -> list[Labelled]:
    """Conversations as a platform may see them: a prefix (followed live, or cut short)
    and a short window (a transcript starting mid-way; one message scored alone). A view
    of a sextortion conversation is harmful once it holds a message its writer tagged with
    a threat or a demand. Grooming is a pattern over days that a few messages do not
    settle, so grooming conversations give no views (labelling their prefixes made the
    grooming score worse on validation writers). Tagged conversations only; same author,
    so cross-fitting keeps each view in its original's fold."""
    group_of = {s.name: s.group for s in available()}
    category = {s.name: s.category for s in available()}
    rng = random.Random(f"{cfg.seed}:partial")
    out = []
    for it in train:
        n = len(it.messages)
        if (it.tags is None or n < 2 or it.labels["grooming"]
                or rng.random() >= cfg.partial_views):
            continue
        first = it.first_risk("sextortion") if it.labels["sextortion"] else None
        start = first if first is not None else rng.randrange(n)
        cuts = {"prefix": (0, rng.randint(start + 1, n) if start + 1 < n else n),
                "window": (start, min(n, start + rng.randint(1, 3)))}
        for kind, (a, b) in cuts.items():
            if (a, b) == (0, n):
                continue
            tags = list(it.tags[a:b])
            held = {t for message_tags in tags for t in message_tags}
            extortion = bool(it.labels["sextortion"]) and any(
                group_of.get(t) in _EXTORTION_GROUPS for t in held)
            if not extortion and any(category.get(t) == "sextortion" for t in held):
                continue  # a claim, a deadline... without a threat or demand: ambiguous
            out.append(dataclasses.replace(
                it, id=f"{it.id}~{kind}", messages=list(it.messages[a:b]), tags=tags,
                labels={"grooming": 0, "sextortion": int(extortion)},
                first_risk_by_label=first_risk_by_label(tags), first_risk_index=None,
                where=f"{it.where} ({kind} {a}:{b})"))
    return out


def train_model(train: Sequence[Labelled], valid: Sequence[Labelled],
                cfg: TrainConfig | None = None,
                augment: Sequence[Labelled] = ()) -> Model:
    """Fit on ``train`` (and the generated ``augment`` conversations, down-weighted), choose
    thresholds on ``valid``, export. Warnings (``UserWarning``) say what the data was too
    small to measure. Without per-message ``tags`` anywhere, the model has no learned
    lexical evidence (rules and frames only)."""
    from .api import Scorer
    from .estimators import ConversationClassifier
    from .evaluate import label_metrics, score_labelled
    from .inputs import coerce_conversation
    from .match.analyze import default_analyzer

    cfg = cfg or TrainConfig()
    for note in check_training_data([*train, *augment], valid):
        warnings.warn(note, UserWarning, stacklevel=2)
    n_own = len(train) + len(augment)
    views = partial_views(train, cfg)
    train = [*train, *augment, *context_copies(train, cfg), *views]
    generated = [n_own - len(augment) <= k < n_own for k in range(len(train))]
    partial = [k >= len(train) - len(views) for k in range(len(train))]
    convs = [coerce_conversation(it.messages, where=it.where) for it in train]
    texts: list[list[str]] = []
    for start in range(0, len(convs), 1024):
        texts.extend([a.text for a in analyses]
                     for analyses in default_analyzer().analyse(convs[start:start + 1024]))
    targets = [_group_targets(it.tags, len(t)) for it, t in zip(train, texts, strict=True)]
    # Partial views repeat their conversation's messages: the lexical model learns from
    # each message once.
    usable = [t is not None and (not gen or cfg.lexical_on_generator) and not part
              for t, gen, part in zip(targets, generated, partial, strict=True)]
    lexical: LexicalModel | None = None
    oof: list[np.ndarray] | None = None
    if any(usable):
        lexical, oof = cross_fit_lexical(texts, targets, lexical_folds(train, cfg.lexical_folds),
                                         usable, cfg)
    else:
        warnings.warn("no conversation has per-message 'tags' (the tactics each message "
                      "carries): the model has no learned lexical evidence, only rules and "
                      "frames", UserWarning, stacklevel=2)
    n_generated = sum(generated)
    n_authored = len(train) - n_generated
    generated_weight = (cfg.generator_weight * n_authored / n_generated) if n_generated else 0.0
    weights = np.array([generated_weight if gen else cfg.partial_weight if part else 1.0
                        for gen, part in zip(generated, partial, strict=True)])
    clf = ConversationClassifier(C=cfg.C, folds=cfg.folds, hit_dropout=cfg.hit_dropout,
                                 random_state=cfg.seed, lexical=lexical)
    Y = np.array([[it.labels[label] for label in LABELS] for it in train])
    clf.fit(convs, Y, sample_weight=weights, message_groups=oof)
    scored = score_labelled(Scorer(clf.to_model()), valid)
    thresholds: dict[str, tuple[float, float]] = {}
    metrics: dict[str, Any] = {}
    for label in LABELS:
        y = np.array([s.item.labels[label] for s in scored])
        p = np.array([s.probs[label] for s in scored])
        thresholds[label] = choose_thresholds(y, p, cfg, label)
        metrics[label] = {"valid": label_metrics(y, p, thresholds[label][0])}
    training = {"seed": cfg.seed, "C": cfg.C, "folds": cfg.folds,
                "hit_dropout": cfg.hit_dropout, "alert_precision": cfg.alert_precision,
                "review_probability": cfg.review_probability, "lexical_C": cfg.lexical_C,
                "lexical_bits": cfg.lexical_bits, "generator_weight": cfg.generator_weight,
                "lexical_on_generator": cfg.lexical_on_generator,
                "context_copies": cfg.context_copies, "partial_views": cfg.partial_views,
                "partial_weight": cfg.partial_weight,
                "n_train": len(train), "n_valid": len(valid),
                "n_augment": n_generated,
                "train_authors": sorted({a for a in map(author_of, train) if a}),
                "valid_authors": sorted({a for a in map(author_of, valid) if a}),
                "train_sha256": data_checksum(train), "valid_sha256": data_checksum(valid)}
    return clf.to_model(thresholds, training, {"validation": metrics})
