"""Highlight spans as a tree of text and marks: well nested whatever the spans do.

Spans may nest, repeat or cross (a frame hit covers a whole message, a phrase hit sits
inside it, two phrase hits overlap). The text is cut at every span boundary; each piece
is covered by a set of spans, opened outermost first. Nested spans stay one element; a
span that crosses the end of another is split into parts that share its id, so the text
of its parts, in document order, is exactly ``text[start:end]``.

Text stays a plain ``str`` here: the template's autoescaping is the one place it is
escaped. Nothing in this module produces markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

# Inner spans of equal extent: context sits innermost, so a tactic colour stays visible.
_CATEGORY_ORDER = {"sextortion": 0, "grooming": 1, "context": 2}


@dataclass(frozen=True, slots=True)
class Span:
    """One highlighted range of one message: hits of the same category on the same
    characters are one span (``names`` are their signals, ``title`` says them)."""

    id: str
    start: int
    end: int
    category: str
    names: tuple[str, ...]
    title: str
    frame: bool  # every hit here is a combination of words (a frame), none a phrase rule


@dataclass(slots=True)
class Mark:
    """One element of a span: ``part`` counts from 0 when a crossing span is split."""

    span: Span
    part: int
    children: list[Node] = field(default_factory=list)


Node = str | Mark


def _rank(span: Span) -> tuple[int, int, int, str]:
    return (span.start, -span.end, _CATEGORY_ORDER.get(span.category, 9), span.id)


def segment(text: str, spans: Iterable[Span]) -> list[Node]:
    """The text as a list of strings and marks, each mark holding its own children.

    Spans outside the text or empty are left out. Concatenating every string of the tree
    in order gives back ``text``.
    """
    kept = sorted((s for s in spans if 0 <= s.start < s.end <= len(text)), key=_rank)
    if not kept:
        return [text] if text else []
    bounds = sorted({0, len(text), *(s.start for s in kept), *(s.end for s in kept)})
    root: list[Node] = []
    stack: list[Mark] = []
    parts: dict[str, int] = {}
    for a, b in pairwise(bounds):
        active = [s for s in kept if s.start <= a and b <= s.end]  # already ranked
        keep = 0
        while (keep < len(stack) and keep < len(active)
               and stack[keep].span.id == active[keep].id):
            keep += 1
        del stack[keep:]
        for span in active[keep:]:
            mark = Mark(span, parts.get(span.id, 0))
            parts[span.id] = mark.part + 1
            (stack[-1].children if stack else root).append(mark)
            stack.append(mark)
        (stack[-1].children if stack else root).append(text[a:b])
    return root


def flatten(nodes: Sequence[Node]) -> str:
    """The text of a tree (its strings in document order)."""
    return "".join(n if isinstance(n, str) else flatten(n.children) for n in nodes)


def clean(text: str) -> str:
    """Text safe to write as UTF-8 HTML, one character for one (offsets stay valid):
    lone surrogates, non-characters and control characters other than tab and newlines
    become U+FFFD."""
    if text.isascii() and text.isprintable():
        return text
    return "".join("\ufffd" if _unsafe(c) else c for c in text)


def _unsafe(c: str) -> bool:
    o = ord(c)
    return ((o < 0x20 and c not in "\t\n\r") or 0x7F <= o < 0xA0 or 0xD800 <= o <= 0xDFFF
            or o in (0xFFFE, 0xFFFF))
