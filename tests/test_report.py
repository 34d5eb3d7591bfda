"""The analyst report: structure, queue order, exact highlights, escaping, locale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sextortion_signals import Limits, Scorer
from sextortion_signals.errors import InvalidInputError
from sextortion_signals.inputs import coerce_conversation
from sextortion_signals.report import render_report, write_report
from sextortion_signals.report.highlight import Mark, Node, Span, clean, flatten, segment
from sextortion_signals.report.style import CONTRAST_PAIRS, PALETTE, contrast, csp_hash
from sextortion_signals.report.view import LEVEL_RANK, pct
from sextortion_signals.results import ScoreResult

from .report_fixtures import ATTACKS, CONVERSATIONS, IMG, LINK, SCRIPT, Page, items, score, text

Items = list[tuple[str, list[dict[str, Any]], ScoreResult]]


@pytest.fixture(scope="module")
def scored() -> Items:
    return items(CONVERSATIONS, score(CONVERSATIONS))


@pytest.fixture(scope="module")
def html(scored: Items) -> str:
    return render_report(scored)


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return Page(html)


def _section_of(page: Page, ident: str) -> Any:
    for section in page.find("section", "conv"):
        if text(page.inside(section, "span", "cid")[0]) == ident:
            return section
    raise AssertionError(f"no section for {ident!r}")


def test_page_structure(html: str, page: Page, scored: Items) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert page.errors == []
    assert page.find("html")[0].attrs["lang"] == "en"
    assert len(page.find("nav", id="queue")) == 1
    sections = page.find("section", "conv")
    assert len(sections) == len(scored)
    for section in sections:
        assert section.attrs["lang"] in ("en", "fr")
        headings = [text(h) for h in page.inside(section, "h3")]
        assert len(headings) == 5  # messages, what happened, why, indicators, contributions
        assert page.inside(section, "ol", "msgs")
        assert page.inside(section, "svg", "bars")
        assert page.inside(section, "details", "guidance")
        assert page.inside(section, "a", "back")[0].attrs["href"] == "#queue"
    # self-contained: no script, nothing fetched, stylesheet allowed by its hash only
    assert not page.find("script") and not page.find("link") and not page.find("img")
    assert not [e for e in page.elements if "src" in e.attrs]
    style = text(page.find("style")[0])
    assert "url(" not in style and "@import" not in style
    policy = page.find("meta", http_equiv="Content-Security-Policy")[0].attrs["content"]
    assert policy is not None and "default-src 'none'" in policy
    assert csp_hash(style) in policy


def test_sextortion_section_content(page: Page, scored: Items) -> None:
    result = scored[1][2]
    section = _section_of(page, "sx-en")
    assert "conv-high" in section.classes and result.level == "high"
    # the probability is stated once, in the header
    (summary,) = page.inside(section, "span", "prob")
    assert text(summary).count("sextortion:") == 1
    assert "sextortion: >99% likely" in text(summary)
    timeline = page.inside(section, "ol", "timeline")[0]
    links = [e.attrs["href"] for e in page.inside(timeline, "a")]
    assert links == [f"#{section.attrs['id']}-m{i}" for i in (0, 2, 3)]
    reasons = [text(li) for li in page.inside(page.inside(section, "ol", "reasons")[0], "li")]
    assert reasons and all(reasons)
    indicators = page.inside(section, "table", "indicators")[0]
    cells = [text(td) for td in page.inside(indicators, "td")]
    assert "150 USD" in cells and "150$" in cells and "10 minutes" in cells
    bars = page.inside(section, "g", "bar")
    assert 0 < len(bars) <= 8
    top = result.contributions["sextortion"][:8]
    for g, c in zip(bars, top, strict=True):
        assert ("pos" in g.classes) == (c.contribution >= 0)
        assert text(page.inside(g, "text", "val")[0]) == f"{c.contribution:+.2f}"
    resources = page.inside(section, "ul", "resources")[0]
    hrefs = [a.attrs["href"] for a in page.inside(resources, "a")]
    assert hrefs and all(h is not None and h.startswith("https://") for h in hrefs)


def test_queue_sorted_by_level_then_probability(page: Page, scored: Items) -> None:
    def key(item: tuple[str, Any, ScoreResult]) -> tuple[int, float]:
        r = item[2]
        return -LEVEL_RANK[r.level], -max(r.scores.values())

    expected = [f"#c{i}" for i, _ in sorted(enumerate(scored), key=lambda p: key(p[1]))]
    links = [e.attrs["href"] for e in page.find("a", "qlink")]
    assert links == expected
    assert [f"#{s.attrs['id']}" for s in page.find("section", "conv")] == expected
    levels = [scored[int(str(h)[2:])][2].level for h in links]
    assert levels[0] == "high" and levels[-1] == "low"
    assert levels == sorted(levels, key=lambda lv: -LEVEL_RANK[lv])
    badges = [e for e in page.find("span", "badge") if "q-" in " ".join(
        c for p in e.parents for c in p.classes)]
    assert [b.classes[1] for b in badges] == [f"badge-{lv}" for lv in levels]


def test_highlights_wrap_exactly_the_hit_text(page: Page, scored: Items) -> None:
    checked = 0
    for position, (_, messages, result) in enumerate(scored):
        section = page.find("section", id=f"c{position}")[0]
        texts = {int(str(li.attrs["data-message"])): li
                 for li in page.inside(section, "li", "msg")}
        parts: dict[str, list[str]] = {}
        for mark in page.inside(section, "mark", "hl"):
            if "data-hit" not in mark.attrs:
                continue  # the legend's samples
            li = page.ancestor(mark, "li", "msg")
            index = int(str(li.attrs["data-message"]))
            start, end = int(str(mark.attrs["data-start"])), int(str(mark.attrs["data-end"]))
            hit = str(mark.attrs["data-hit"])
            parts.setdefault(hit, []).append(text(mark))
            parts[hit + "@"] = [messages[index]["text"][start:end]]
        for hit, pieces in parts.items():
            if not hit.endswith("@"):
                assert "".join(pieces) == parts[hit + "@"][0], hit
                checked += 1
        # every message is shown whole, character for character
        for index, li in texts.items():
            shown = text(page.inside(li, "p", "text")[0])
            assert shown == messages[index]["text"]
        # every signal hit has a highlight of its exact span, in its category's colour
        marks = {(int(str(page.ancestor(m, "li", "msg").attrs["data-message"])),
                  int(str(m.attrs["data-start"])), int(str(m.attrs["data-end"])),
                  m.classes[1]) for m in page.inside(section, "mark", "hl")
                 if "data-hit" in m.attrs}
        for h in result.signals:
            assert (h.message_index, h.start, h.end, f"hl-{h.category}") in marks, h
    assert checked > 10


def test_attacker_markup_is_inert(html: str, page: Page) -> None:
    assert page.errors == []
    assert not page.find("script") and not page.find("img") and not page.find("iframe")
    # the only svg elements are the charts
    assert all("bars" in e.classes for e in page.find("svg"))
    for e in page.elements:
        for name, value in e.attrs.items():
            assert not name.lower().startswith("on"), (e.tag, name)
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                assert value is not None
                assert not re.sub(r"\s", "", value).lower().startswith("javascript:")
                assert value.startswith(("#", "https://")), value
    for a in page.find("a"):
        href = str(a.attrs["href"])
        assert href.startswith("#") or "resources" in page.ancestor(a, "ul").classes
    # the attacks come out as the text they are
    section = _section_of(page, SCRIPT)
    shown = [text(e) for e in page.inside(section, "p", "text")]
    assert shown[0] == f"{SCRIPT} i have your pics"
    assert shown[1].startswith(IMG) and shown[3].startswith(LINK)
    assert "{{ 7*7 }}" in shown[3] and "49" not in shown[3]
    senders = [text(e) for e in page.inside(section, "span", "sender")]
    assert senders[0] == IMG and senders[3] == LINK
    for attack in ATTACKS:  # the template-syntax attack is shown as text, checked above
        if attack != "{{ 7*7 }}":
            assert attack not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_titles_and_bad_fields_are_escaped(scored: Items) -> None:
    bad = [(ident, [dict(m, timestamp="<b>x</b>") for m in messages], r)
           for ident, messages, r in scored]
    page = Page(render_report(bad, title=SCRIPT))
    assert page.errors == [] and not page.find("script") and not page.find("b")
    assert text(page.find("title")[0]) == SCRIPT == text(page.find("h1")[0])
    assert "<b>x</b>" in [text(e) for e in page.find("span", "time")]


def test_french_locale_and_unknown_locale(scored: Items) -> None:
    page = Page(render_report(scored, locale="fr-FR"))
    assert page.find("html")[0].attrs["lang"] == "fr"
    assert all(s.attrs["lang"] == "fr" for s in page.find("section", "conv"))
    assert "File d'attente" in text(page.find("h2", id="queue-h")[0])
    resources = [text(a) for a in page.find("a") if str(a.attrs["href"]).startswith("https")]
    assert any("3018" in r for r in resources)
    with pytest.raises(InvalidInputError, match="de-DE"):
        render_report(scored, locale="de-DE")


def test_each_conversation_in_its_own_language(page: Page) -> None:
    section = _section_of(page, "sx-fr")
    assert section.attrs["lang"] == "fr"
    assert "Ce qui s'est passé" in [text(h) for h in page.inside(section, "h3")]


def test_misaligned_messages_are_noted_not_misplaced(scored: Items) -> None:
    ident, messages, result = scored[1]
    shifted = [{"text": "x" + m["text"]} for m in messages]
    page = Page(render_report([(ident, shifted, result)]))
    assert not [m for m in page.find("mark") if "data-hit" in m.attrs]
    notes = [text(li) for li in page.inside(page.find("ul", "notes")[0], "li")]
    assert any("could not be placed" in n for n in notes)


def test_windowed_conversation_keeps_message_numbers() -> None:
    limits = Limits(max_messages=3)
    conv = CONVERSATIONS[1]  # four messages: the first is left out
    result = Scorer(limits=limits).score(conv)
    checked = coerce_conversation(conv, limits)
    assert checked.offset == 1
    for messages in (checked, conv["messages"]):
        page = Page(render_report([("w", messages, result)]))
        shown = {int(str(li.attrs["data-message"])) for li in page.find("li", "msg")}
        assert shown == ({1, 2, 3} if messages is checked else {0, 1, 2, 3})
        marks = [m for m in page.find("mark") if "data-hit" in m.attrs]
        assert marks
        parts: dict[str, list[str]] = {}
        for m in marks:
            index = int(str(page.ancestor(m, "li", "msg").attrs["data-message"]))
            start, end = int(str(m.attrs["data-start"])), int(str(m.attrs["data-end"]))
            assert index >= 1
            parts.setdefault(str(m.attrs["data-hit"]), [
                conv["messages"][index]["text"][start:end]]).append(text(m))
        for want, *pieces in parts.values():
            assert "".join(pieces) == want
        notes = " ".join(text(e) for e in page.find("ul", "notes"))
        assert "could not be placed" not in notes and "left out" in notes


def test_write_report(tmp_path: Path, scored: Items) -> None:
    odd = [("odd\ud800id", [{"text": "lone \ud800 surrogate and \x00 nul"}], scored[0][2])]
    path = write_report(scored + odd, tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    written = path.read_text(encoding="utf-8")
    assert "lone \ufffd surrogate and \ufffd nul" in written
    assert Page(written).errors == []


def test_empty_report_and_bad_items(scored: Items) -> None:
    page = Page(render_report([]))
    assert not page.find("section") and page.errors == []
    with pytest.raises(TypeError, match="item 0"):
        render_report([("id", [{"text": "hi"}])])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ScoreResult"):
        render_report([("id", [{"text": "hi"}], {"level": "high"})])  # type: ignore[list-item]


def test_palette_meets_wcag_aa() -> None:
    for fg, bg, minimum in CONTRAST_PAIRS:
        assert contrast(PALETTE[fg], PALETTE[bg]) >= minimum, (fg, bg)


def test_percentages_never_round_to_certainty() -> None:
    assert pct(0.9999) == ">99%" and pct(1.0) == "100%" and pct(0.001) == "<1%"
    assert pct(0.0) == "0%" and pct(0.5) == "50%"


# --- the highlight tree --------------------------------------------------------------

def _parts(nodes: list[Node], out: dict[str, list[str]]) -> None:
    for n in nodes:
        if isinstance(n, Mark):
            out.setdefault(n.span.id, []).append(flatten(n.children))
            _parts(n.children, out)


def test_crossing_and_nested_spans() -> None:
    message = "send 150$ in steam cards or everyone sees them"
    spans = [Span("whole", 0, 41, "sextortion", ("threat_to_share",), "t", True),
             Span("pay", 0, 9, "sextortion", ("payment_demand",), "t", False),
             Span("cross", 5, 18, "grooming", ("x",), "t", False),
             Span("card", 13, 24, "sextortion", ("payment_channel",), "t", False),
             Span("same", 13, 24, "context", ("y",), "t", False)]
    nodes = segment(message, spans)
    assert flatten(nodes) == message
    parts: dict[str, list[str]] = {}
    _parts(nodes, parts)
    for s in spans:
        assert "".join(parts[s.id]) == message[s.start:s.end]
    assert len(parts["whole"]) == 1 and len(parts["pay"]) == 1
    assert len(parts["cross"]) == 2  # split where it crosses the end of "pay"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40).flatmap(lambda s: st.tuples(
    st.just(s), st.lists(st.tuples(st.integers(0, len(s)), st.integers(0, len(s)),
                                   st.sampled_from(["sextortion", "grooming", "context"])),
                         max_size=6))))
def test_any_spans_give_exact_parts(case: tuple[str, list[tuple[int, int, str]]]) -> None:
    message, raw = case
    spans = [Span(f"s{k}", min(a, b), max(a, b), cat, (), "", False)
             for k, (a, b, cat) in enumerate(raw)]
    nodes = segment(message, spans)
    assert flatten(nodes) == message
    parts: dict[str, list[str]] = {}
    _parts(nodes, parts)
    for s in spans:
        assert "".join(parts.get(s.id, [])) == message[s.start:s.end]


def test_clean_keeps_offsets() -> None:
    raw = "a\x00b\ud800c\td\ne\u202ef"
    assert len(clean(raw)) == len(raw)
    assert clean(raw) == "a\ufffdb\ufffdc\td\ne\u202ef"
