"""Tactic frames: each fires on what it describes, in both languages, and the incremental
path (firing plan, lazy concept search, bounded burst) equals the plain reference."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sextortion_signals as ss
from sextortion_signals import frames as fr
from sextortion_signals.synth import generate

from .conftest import EXAMPLES
from .oracle import reference_frame_hits

# (frame id, messages from one sender); non-explicit, tactic only.
FIRES = [
    ("threat/spread_to_audience", ["i will send it to your whole school"]),
    ("threat/spread_to_audience", ["je vais l'envoyer à tes abonnés"]),
    ("threat/held_spreads", ["answer me or i leak the video"]),
    ("threat/held_spreads", ["réponds sinon je balance la vidéo"]),
    ("threat/condition_then_public", ["pay me or else it goes online"]),
    ("threat/condition_then_public", ["tu payes sinon ça finit sur internet"]),
    ("threat/condition_audience_sees", ["unless you answer i share it with your family"]),
    ("threat/split_over_messages", ["i still have the pics", "your mom gets them next"]),
    ("threat/split_over_messages", ["j'ai les photos", "je vais les envoyer à ta famille"]),
    ("claim/possess_held", ["i saved the video"]),
    ("claim/possess_held", ["j'ai gardé la vidéo"]),
    ("claim/fabricated_held", ["i made a fake photo of you with ai"]),
    ("claim/fabricated_held", ["c'est un montage photo"]),
    ("demand/money_or_else", ["pay 100 or i tell your parents"]),
    ("demand/money_or_else", ["paie sinon tes parents vont tout savoir"]),
    ("demand/more_or_else", ["send one more pic or else"]),
    ("pressure/deadline_with_threat", ["pay me or else", "you have 10 minutes"]),
    ("pressure/deadline_with_threat", ["tu paies sinon", "t'as 10 minutes"]),
]


def frame_ids(messages: list) -> set[str]:
    return {h.rule_id.removeprefix(fr.FRAME_PREFIX) for h in ss.extract_signals(messages)
            if h.rule_id.startswith(fr.FRAME_PREFIX)}


@pytest.mark.parametrize(("frame", "texts"), FIRES)
def test_each_frame_fires_on_what_it_describes(frame: str, texts: list[str]) -> None:
    assert frame in frame_ids([{"sender": "x", "text": t} for t in texts])


def test_every_frame_has_an_example() -> None:
    assert {f.id for f in fr.frames()} == {f for f, _ in FIRES}


def test_a_burst_is_one_senders_consecutive_messages_close_in_time() -> None:
    split = ["i still have the pics", "your mom gets them next"]
    assert "threat/split_over_messages" in frame_ids(
        [{"sender": "x", "text": t} for t in split])
    other = [{"sender": "x", "text": split[0]}, {"sender": "y", "text": split[1]}]
    assert "threat/split_over_messages" not in frame_ids(other)
    hours_apart = [{"sender": "x", "text": split[0], "timestamp": "2026-01-01T10:00:00Z"},
                   {"sender": "x", "text": split[1], "timestamp": "2026-01-01T14:00:00Z"}]
    assert "threat/split_over_messages" not in frame_ids(hours_apart)


def test_a_frame_is_evidence_not_a_verdict() -> None:
    """Everyday uses of the same words may complete a frame; the model must still not flag
    them (hard negatives)."""
    for text in ["send me the photos from the trip, my family wants them",
                 "i have the pics from the match, posting them tonight",
                 "envoie les photos du mariage à la famille"]:
        assert ss.score(text).labels == (), text


def hits_of(conversation: object) -> set[tuple[str, int, int, int]]:
    return {(h.rule_id.removeprefix(fr.FRAME_PREFIX), h.message_index, h.start, h.end)
            for h in ss.extract_signals(conversation) if h.rule_id.startswith(fr.FRAME_PREFIX)}


def test_incremental_frames_equal_the_reference_on_corpora() -> None:
    convs = [json.loads(x)["messages"] for x in EXAMPLES.read_text().splitlines()
             if '"messages"' in x]
    convs += [c["messages"] for c in generate(150, seed=4)]
    from sextortion_signals.synth.authored import read

    from .conftest import ROOT
    convs += [r["messages"] for r in list(read(ROOT / "datasets" / "authored", "train"))[:250]]
    fired = 0
    for conv in convs:
        ours = hits_of(conv)
        assert ours == reference_frame_hits(conv), conv
        fired += bool(ours)
    assert fired > 50


def concept_terms() -> list[str]:
    terms = []
    for lang in ("en", "fr"):
        for values in fr.concepts_of(lang).values():
            terms.extend(values[:6])
    return terms


message_text = st.lists(st.sampled_from(concept_terms()) | st.sampled_from(
    ["hey", "ok", ".", "!", "lol", "the", "de", "you", "tu"]), min_size=0, max_size=8).map(" ".join)
messages = st.lists(st.fixed_dictionaries({
    "sender": st.sampled_from(["a", "b"]), "text": message_text,
    "timestamp": st.sampled_from([None, "2026-01-01T10:00:00Z", "2026-01-01T10:02:00Z",
                                  "2026-01-01T12:00:00Z"])}), min_size=1, max_size=9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_incremental_frames_equal_the_reference_on_generated_concept_soup(conv: list) -> None:
    assert hits_of(conv) == reference_frame_hits(conv)
