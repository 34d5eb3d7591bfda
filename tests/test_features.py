"""Conversation features: tactics of the lead sender, from rules, frames or learned
evidence; order within and across messages; context that softens only what an offender
cannot flip; the quiet fast path equal to the plain state path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sextortion_signals as ss
from sextortion_signals.api import learned_groups
from sextortion_signals.features import FeatureVectorizer, feature_table
from sextortion_signals.inputs import coerce_conversation
from sextortion_signals.match.analyze import default_analyzer
from sextortion_signals.model import default_model


def features(conversation: object, model: ss.Model | None = None) -> dict[str, float]:
    model = model or default_model()
    conv = coerce_conversation(conversation)
    (analyses,) = default_analyzer().analyse([conv])
    groups = learned_groups(model.lexical, [analyses])
    vec = FeatureVectorizer(tuple(feature_table()))
    row = vec.row(vec.state(conv, analyses, None if groups is None else groups[0]))
    return dict(zip(vec.feature_names, row.tolist(), strict=True))


def test_order_and_pairs_count_within_one_message_and_from_frames() -> None:
    one = features("i have your pics. pay 200 dollars or your friends see them")
    assert one["order:claim_then_threat"] == 1.0  # the threat is a frame here
    assert one["pair:claim_and_threat"] == 1.0
    assert one["pair:threat_and_payment"] == 1.0
    reversed_ = features(["pay 200 dollars or i send it to your friends",
                          "and i have your pics"])
    assert reversed_["pair:claim_and_threat"] == 1.0


def test_only_the_lead_senders_tactics_count() -> None:
    victim_quotes = features([{"sender": "kid", "text": "he said pay 200 dollars or he "
                                                        "sends my pics to my friends"},
                              {"sender": "mum", "text": "ok, we'll call the police"}])
    offender = features([{"sender": "x", "text": "pay 200 dollars or i send your pics to "
                                                 "your friends"},
                         {"sender": "kid", "text": "please no"}])
    assert offender["sender:sextortion_tactics"] > 0
    assert offender["age:disclosed_by_other_side"] == 0.0
    kid_age = features([{"sender": "x", "text": "how old are you"},
                        {"sender": "kid", "text": "i'm 13"}])
    assert kid_age["age:disclosed_by_other_side"] == 1.0
    assert victim_quotes["participants:group_chat"] == 0.0
    group = features([{"sender": s, "text": "hey"} for s in "abc"])
    assert group["participants:group_chat"] == 1.0


def test_context_softens_a_rule_hit_but_never_a_threat() -> None:
    plain = features("send me 50 dollars now")
    joking = features("send me 50 dollars now lol jk")
    assert joking["signal:payment_demand"] <= plain["signal:payment_demand"]
    threat = "pay 50 dollars or i send your pics to your family"
    assert features(threat + " lol")["frame:threat_to_share"] == \
        features(threat)["frame:threat_to_share"] == 1.0


SOFTENERS = [" lol", " jk", " mdr", " 😂", " (just kidding)", " (don't pay lol)",
             ". if you need help call 988", " appelle le 3018 si besoin"]
THREATS = {
    "en": ["i have your pics", "pay 200 dollars or your friends see them",
           "you have 10 minutes"],
    "fr": ["j'ai tes photos", "tu paies 200 euros sinon toute ta classe les voit",
           "t'as 10 minutes"],
}
NEWS = "BREAKING: police warn parents about online scams, read more at example.com/news"


@pytest.mark.parametrize("lang", sorted(THREATS))
@pytest.mark.parametrize("suffix", SOFTENERS)
def test_risk_lowering_context_is_not_a_switch_an_offender_can_flip(
    lang: str, suffix: str
) -> None:
    threat = THREATS[lang]
    assert "sextortion" in ss.score(threat).labels
    on_every_message = ss.score([text + suffix for text in threat])
    assert "sextortion" in on_every_message.labels
    with_news_first = ss.score([NEWS, *[text + suffix for text in threat]])
    assert "sextortion" in with_news_first.labels


def test_the_state_round_trips_and_continues_identically() -> None:
    from sextortion_signals.features import ConversationState

    model = default_model()
    conv = coerce_conversation(["how old are you", "i'm 14", "dont tell ur parents",
                                "add me on snap", "send a pic"])
    (analyses,) = default_analyzer().analyse([conv])
    groups = learned_groups(model.lexical, [analyses])
    assert groups is not None
    a = ConversationState()
    for k, (msg, an) in enumerate(zip(conv.messages, analyses, strict=True)):
        if k == 2:
            a = ConversationState.from_dict(a.to_dict())
        a.add(an, msg.sender, msg.timestamp, groups[0][k].tolist())
    b = FeatureVectorizer().state(conv, analyses, groups[0])
    assert a.vector() == b.vector()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40) | st.sampled_from(["ok", "see you", "lol", "how r u", "merci",
                                               "bonne nuit", "what time is practice"]))
def test_quiet_fast_path_equals_the_state_path(text: str) -> None:
    model = default_model()
    conv = coerce_conversation(text)
    (analyses,) = default_analyzer().analyse([conv])
    groups = learned_groups(model.lexical, [analyses])
    assert groups is not None
    vec = FeatureVectorizer(model.feature_names)
    if not vec.quiet(conv, analyses, float(groups[0].max())):
        return
    fast = np.zeros(len(model.feature_names))
    vec.quiet_row(groups[0], fast)
    assert np.array_equal(fast, vec.row(vec.state(conv, analyses, groups[0])))
