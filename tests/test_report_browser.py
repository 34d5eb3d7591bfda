"""The report in a real headless Chromium: it renders, runs nothing, fetches nothing, its
highlights sit on the right text and the keyboard reaches the queue."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sextortion_signals.report import write_report

from .report_fixtures import CONVERSATIONS, items, score

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Chromium is not installed at /usr/bin/chromium "
                              "(Debian: apt-get install -y chromium)"),
]

# Per highlight id: its range, its message, and the text of its parts in order.
HIGHLIGHTS_JS = """() => {
  const out = {};
  for (const m of document.querySelectorAll('mark[data-hit]')) {
    const id = m.dataset.hit;
    const li = m.closest('li.msg');
    const section = m.closest('section.conv');
    out[id] = out[id] || {conv: section.id, message: Number(li.dataset.message),
                          start: Number(m.dataset.start), end: Number(m.dataset.end),
                          parts: []};
    out[id].parts.push(m.innerText);
  }
  return out;
}"""

FOCUS_JS = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {tag: e.tagName, cls: e.className, href: e.getAttribute('href'),
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
}"""


def test_report_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright  # a test dependency

    results = score(CONVERSATIONS)
    report = write_report(items(CONVERSATIONS, results), tmp_path / "report.html")
    url = report.resolve().as_uri()
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")

    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def on_dialog(d: Any) -> None:
                dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", on_dialog)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)  # let anything that would run, run

            assert page.title() == "Conversation risk report"
            assert page.locator("h1").is_visible()
            assert page.locator("section.conv").count() == len(CONVERSATIONS)
            assert page.locator("script").count() == 0
            assert page.locator("img").count() == 0
            # the stylesheet applied (the CSP allowed it by its hash)
            badge = page.locator("nav#queue .badge-high").first
            assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == \
                "rgb(164, 22, 26)"

            # highlights: the text of each one's parts is exactly its range of the message
            marks = page.evaluate(HIGHLIGHTS_JS)
            assert len(marks) > 10
            for hit, m in marks.items():
                position = int(m["conv"][1:])
                message = CONVERSATIONS[position]["messages"][m["message"]]["text"]
                assert "".join(m["parts"]) == message[m["start"]:m["end"]], hit
            # every message is shown as the text it is (attacks included)
            shown = page.locator("#c4 p.text").all_inner_texts()
            assert shown == [m["text"] for m in CONVERSATIONS[4]["messages"]]

            # keyboard: Tab reaches the queue's links in order, with a visible focus ring
            queue = page.locator("a.qlink").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))")
            page.keyboard.press("Tab")
            first = page.evaluate(FOCUS_JS)
            assert first["tag"] == "A" and first["href"] == queue[0]
            assert first["outline"] != "none" and first["width"] >= 2
            page.keyboard.press("Tab")
            assert page.evaluate(FOCUS_JS)["href"] == queue[1]
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Enter")  # follow the first queue link
            # waits (10 s at most) until the link was followed and its section is on top
            page.wait_for_function(
                "h => location.hash === h && document.querySelector(h)"
                ".getBoundingClientRect().top < 50", arg=queue[0], timeout=10_000)
            page.keyboard.press("Tab")  # focus continues inside the conversation
            inside = page.evaluate(
                "() => document.activeElement.closest('section.conv')?.id")
            assert f"#{inside}" == queue[0]
            page.evaluate("window.scrollTo(0, 0)")
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert dialogs == []
    assert requests == [url]  # the file itself and nothing else
    assert shot.stat().st_size > 10_000
