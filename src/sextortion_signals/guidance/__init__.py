"""Next steps for the person at risk and for the moderator, per locale, label and level.

Words are data (``steps.json``, per language), resources are data with their sources
(``resources.json``: official names, numbers and addresses, each checked against the page
named in its ``source``), and ``locales.json`` says which resources each locale points to.
``guidance(label, level, locale)`` returns plain, serialisable values.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources as _resources
from typing import Any, NamedTuple

from ..errors import InvalidInputError

LOCALES = ("en-US", "en-GB", "en-CA", "fr-FR", "fr-BE", "fr-CA")
AUDIENCES = ("person", "moderator")


class Resource(NamedTuple):
    id: str
    name: str
    kind: str  # helpline | report | takedown | crisis | police
    phone: str | None
    url: str | None
    purpose: str  # in the guidance's language
    source: str  # the page it was checked against

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Step(NamedTuple):
    id: str
    text: str


class Guidance(NamedTuple):
    locale: str
    label: str
    level: str
    person: tuple[Step, ...]  # for the person at risk
    moderator: tuple[Step, ...]
    resources: tuple[Resource, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"locale": self.locale, "label": self.label, "level": self.level,
                "person": [s._asdict() for s in self.person],
                "moderator": [s._asdict() for s in self.moderator],
                "resources": [r.to_dict() for r in self.resources]}


def _load(name: str) -> Any:
    path = _resources.files("sextortion_signals") / "guidance" / name
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _data() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    resources = {r["id"]: r for r in _load("resources.json")["resources"]}
    return resources, _load("locales.json"), _load("steps.json")


def locale_for(lang: str | None) -> str:
    """The default locale of a conversation language (``en`` -> ``en-US``)."""
    default = _data()[1]["default_for_language"]
    return str(default.get(lang or "en", default["en"]))


def _mention(resource: dict[str, Any]) -> str:
    phone = resource.get("phone")
    if phone and phone.replace(" ", "") in resource["name"].replace(" ", ""):
        phone = None  # "3114", "911": the name is the number
    contact = ", ".join(x for x in (phone, resource.get("url")) if x)
    return f"{resource['name']} ({contact})" if contact else str(resource["name"])


@cache
def guidance(label: str, level: str, locale: str) -> Guidance:
    """The guidance for a label at a level, in a locale."""
    resources, locales, steps = _data()
    if locale not in locales["locales"]:
        raise InvalidInputError(f"no guidance for locale {locale!r}; locales: "
                                f"{', '.join(sorted(locales['locales']))}")
    where = locales["locales"][locale]
    lang = where["language"]
    words = steps[lang]
    if label not in words["person"] or level not in words["person"][label]:
        raise InvalidInputError(f"no guidance for label {label!r} at level {level!r}")
    used: dict[str, dict[str, Any]] = {}
    mentions = {}
    for use in ("talk", "takedown", "report", "adult_takedown", "crisis", "hotline"):
        picked = [resources[rid] for rid in where[use]]
        used.update({r["id"]: r for r in picked})
        joiner = " ou " if lang == "fr" else " or "
        mentions[use] = joiner.join(_mention(r) for r in picked)

    def render(audience: str) -> tuple[Step, ...]:
        return tuple(Step(s["id"], s["text"].format(**mentions))
                     for s in words[audience][label][level])

    person, moderator = render("person"), render("moderator")
    text = " ".join(s.text for s in (*person, *moderator))
    cited = tuple(Resource(r["id"], r["name"], r["kind"], r.get("phone"), r.get("url"),
                           r["purpose"][lang], r["source"])
                  for r in used.values() if r["name"] in text)
    return Guidance(locale, label, level, person, moderator, cited)
