"""Synthetic conversations and an HTML reader shared by the report tests.

Messages are short, non-explicit tactic phrases; the attack strings are classic markup
injections that must come out as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sextortion_signals import Scorer
from sextortion_signals.results import ScoreResult

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
LINK = '<a href="javascript:alert(1)">x</a>'
ATTACKS = (SCRIPT, IMG, LINK, "</style><script>alert(2)</script>", "{{ 7*7 }}",
           "<svg onload=alert(3)>", "<!-- x -->")


def _at(minute: int) -> str:
    return f"2026-03-05T20:{minute:02d}:00Z"


CONVERSATIONS: list[dict[str, Any]] = [
    {"id": "benign-game", "messages": [
        {"sender": "a", "text": "gg that match was wild lol", "timestamp": _at(0)},
        {"sender": "b", "text": "wanna play again tomorrow?", "timestamp": _at(1)}]},
    {"id": "sx-en", "messages": [
        {"sender": "stranger", "text": "i have your pics and i saved the video call",
         "timestamp": _at(2)},
        {"sender": "teen", "text": "what?? who is this", "timestamp": _at(3)},
        {"sender": "stranger",
         "text": "send 150$ in steam cards or i send everything to all your followers",
         "timestamp": _at(4)},
        {"sender": "stranger", "text": "you have 10 minutes", "timestamp": _at(5)}]},
    {"id": "gr-en", "messages": [
        {"sender": "a", "text": "hey saw your page, you're so mature", "timestamp": _at(6)},
        {"sender": "a", "text": "how old are you btw", "timestamp": _at(7)},
        {"sender": "a", "text": "i'm the only one who really gets you. don't tell your "
                                "parents about us ok?", "timestamp": _at(8)},
        {"sender": "a", "text": "are your parents home? add me on snap", "timestamp": _at(9)}]},
    {"id": "sx-fr", "messages": [
        {"sender": "x", "text": "j'ai tes photos", "timestamp": _at(10)},
        {"sender": "x", "text": "paye 100€ en carte PCS sinon je les envoie à tout ton collège",
         "timestamp": _at(11)},
        {"sender": "x", "text": "t'as 30 min", "timestamp": _at(12)}]},
    {"id": SCRIPT, "messages": [
        {"sender": IMG, "text": f"{SCRIPT} i have your pics", "timestamp": _at(13)},
        {"sender": IMG, "text": f"{IMG} send 150$ in steam cards or everyone sees them",
         "timestamp": _at(14)},
        {"sender": "teen", "text": "who r u", "timestamp": _at(15)},
        {"sender": LINK, "text": f"{LINK} you have 10 minutes {{{{ 7*7 }}}} "
                                 "</style><script>alert(2)</script>", "timestamp": _at(16)},
        {"sender": "teen", "text": "<svg onload=alert(3)> <!-- x --> please stop"}]},
]


def score(conversations: Sequence[dict[str, Any]]) -> list[ScoreResult]:
    return Scorer().score_many(list(conversations))


def items(conversations: Sequence[dict[str, Any]], results: Sequence[ScoreResult],
          ) -> list[tuple[str, list[dict[str, Any]], ScoreResult]]:
    return [(c["id"], c["messages"], r) for c, r in zip(conversations, results, strict=True)]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str | None]
    parents: tuple[Element, ...] = ()
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()


class Page(HTMLParser):
    """The elements of a page in document order, each with the text inside it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.errors: list[str] = []
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {[e.tag for e in self.stack]}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), tuple(self.stack))
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs), tuple(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1].tag != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {[e.tag for e in self.stack]})")
            while self.stack and self.stack[-1].tag != tag:
                self.stack.pop()
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str,
             ) -> list[Element]:
        return [e for e in self.elements
                if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def inside(self, outer: Element, tag: str | None = None, cls: str | None = None,
               ) -> list[Element]:
        """The elements inside ``outer``, in document order."""
        return [e for e in self.elements if any(p is outer for p in e.parents)
                and (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]

    def ancestor(self, element: Element, tag: str, cls: str | None = None) -> Element:
        return next(p for p in reversed(element.parents)
                    if p.tag == tag and (cls is None or cls in p.classes))


def text(element: Element) -> str:
    return "".join(element.text)
