from __future__ import annotations

import pytest

from sextortion_signals import extract_indicators


def _kinds(text: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for ind in extract_indicators(text):
        assert text[ind.start:ind.end] == ind.text
        out.setdefault(ind.kind, []).append((ind.value, ind.text))
    return out


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("send 500$ now", "amount", "500 USD"),
    ("paye 150€ stp", "amount", "150 EUR"),
    ("1500 dollars", "amount", "1500 USD"),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "crypto_wallet", "btc"),
    ("0x52908400098527886E0F7030069857D2E4169EE7", "crypto_wallet", "eth"),
    ("cashapp $jdoe99", "cashtag", "$jdoe99"),
    ("paypal jane.doe@mail.com", "email", "jane.doe@mail.com"),
    ("une carte PCS", "payment_channel", "prepaid_voucher"),
    ("en Transcash", "payment_channel", "prepaid_voucher"),
    ("un code neosurf", "payment_channel", "prepaid_voucher"),
    ("you have 10 min", "deadline", "600 s"),
    ("t'as 1,5 h", "deadline", "5400 s"),
    ("you have one hour", "deadline", "3600 s"),
    ("t'as deux heures", "deadline", "7200 s"),
    ("dans une heure", "deadline", "3600 s"),
    ("apple gift cards", "payment_channel", "gift_card"),
    ("send steam cards", "payment_channel", "gift_card"),
    ("des cartes cadeaux", "payment_channel", "gift_card"),
    ("pay in 10 ſec", "deadline", "10 s"),
    ("pay 10 bıtcoin", "payment_channel", "crypto"),
    ("50 dollarſ", "amount", "50 USD"),
    ("add me on ſnapchat", "platform", "snapchat"),
    ("10 mİn", "deadline", "600 s"),
    ("t'as 48h", "deadline", "172800 s"),
    ("avant ce soir", "deadline", "ce soir"),
    ("add me on snap", "platform", "snap"),
    ("dm @cool_guy", "handle", "@cool_guy"),
    ("appelle +33 6 12 34 56 78", "phone", "+33612345678"),
])
def test_indicator_found(text: str, kind: str, value: str) -> None:
    assert value in [v for v, _ in _kinds(text).get(kind, [])], _kinds(text)


@pytest.mark.parametrize("text", ["i was born in 2009", "see you at 10:30", "page 42",
                                  "the score was 3-1", "", "en 2022, 16, jours", "2022,h"])
def test_no_money_or_wallet_in_ordinary_numbers(text: str) -> None:
    kinds = _kinds(text)
    assert "amount" not in kinds and "crypto_wallet" not in kinds and "phone" not in kinds


def test_amount_fields_are_typed() -> None:
    (ind,) = [i for i in extract_indicators("envoie 200 euros") if i.kind == "amount"]
    assert ind.amount == 200.0 and ind.currency == "EUR"
    assert ind.to_dict()["amount"] == 200.0


def test_message_index_follows_the_conversation() -> None:
    inds = extract_indicators(["hi", "ok", "send 50$"])
    assert [i.message_index for i in inds if i.kind == "amount"] == [2]
