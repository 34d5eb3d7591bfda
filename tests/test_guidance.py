"""Next steps: every locale, label and level has them, in the locale's language, and every
help resource named is one we checked against its source."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

import sextortion_signals as ss
from sextortion_signals.errors import InvalidInputError
from sextortion_signals.guidance import LOCALES, guidance, locale_for

LEVELS = ("high", "medium", "low")
LABELS = ("sextortion", "grooming")


def data(name: str) -> dict:
    path = resources.files("sextortion_signals") / "guidance" / name
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("level", LEVELS)
def test_every_locale_label_and_level_has_complete_steps(locale: str, label: str,
                                                         level: str) -> None:
    g = guidance(label, level, locale)
    assert g.person and g.moderator
    text = " ".join(s.text for s in (*g.person, *g.moderator))
    assert "{" not in text and "}" not in text  # every placeholder filled
    assert len({s.id for s in g.person}) == len(g.person)
    french = locale.startswith("fr")
    # The words are in the locale's language.
    assert bool(re.search(r"\b(le|la|les|de|à|et|ou|ne)\b", text)) == french
    assert bool(re.search(r"\b(the|and|or|to|not|you)\b", text)) != french
    json.dumps(g.to_dict())


def test_sextortion_help_starts_with_do_not_pay() -> None:
    assert guidance("sextortion", "high", "en-GB").person[0].text.startswith("Do not pay")
    assert guidance("sextortion", "high", "fr-FR").person[0].text.startswith("Ne paie pas")


@pytest.mark.parametrize("locale", LOCALES)
def test_resources_are_those_of_the_locale_and_sourced(locale: str) -> None:
    table = {r["id"]: r for r in data("resources.json")["resources"]}
    where = data("locales.json")["locales"][locale]
    for use, ids in where.items():
        if use == "language":
            continue
        for rid in ids:
            assert rid in table, f"{locale}.{use}: unknown resource {rid}"
            r = table[rid]
            assert r["source"].startswith(("https://", "http://")), rid
            # A way to reach it, or a note saying why none could be verified.
            assert r["phone"] or r["url"] or r["note"], rid
            assert locale in r["locales"] or "intl" in rid, (locale, rid)
    cited = guidance("sextortion", "high", locale).resources
    assert cited and all(r.source.startswith("http") for r in cited)
    lang = where["language"]
    assert all(r.purpose == table[r.id]["purpose"][lang] for r in cited)


def test_locale_defaults_and_errors() -> None:
    assert locale_for("fr") == "fr-FR" and locale_for("en") == "en-US"
    assert locale_for(None) == "en-US"
    with pytest.raises(InvalidInputError, match="locales"):
        guidance("sextortion", "high", "de-DE")
    with pytest.raises(InvalidInputError, match="label"):
        guidance("spam", "high", "en-US")


def test_a_score_carries_guidance_in_its_language() -> None:
    r = ss.score(["j'ai tes photos", "paye 100€ en carte PCS sinon je les envoie à tout "
                  "ton collège"])
    assert r.guidance().locale == "fr-FR"
    assert r.to_dict()["guidance"]["person"][0]["text"].startswith("Ne paie pas")
    assert r.to_dict(guidance="en-CA")["guidance"]["locale"] == "en-CA"
    assert "guidance" not in ss.score("see you at practice").to_dict()
