"""The analyst report: one self-contained HTML page for trust-and-safety moderators.

``render_report(items)`` returns the page, ``write_report(items, path)`` writes it; items
are ``(conversation_id, messages, ScoreResult)``, ``messages`` being the conversation's
messages as scored (dicts with ``text`` and optional ``sender`` and ``timestamp``, or
strings), message ``i`` of the list being the result's ``message_index`` ``i``; or the
checked ``inputs.Conversation`` that was scored (its ``offset`` numbers a windowed one).
A highlight is drawn only where the message text given matches the scored hit exactly;
any that cannot be placed are counted in the conversation's notes.

The page needs no network: inline CSS, inline SVG, no script, no font or image to fetch.
Its Content-Security-Policy allows only its own stylesheet (by hash), so markup could not
run even if some text escaped escaping. Message text is the attacker's: it reaches the
page only through Jinja2's autoescaping, as plain strings in structured segments
(``highlight.py``); no user string is ever marked safe.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .highlight import Mark
from .style import csp_hash, stylesheet
from .view import Item, check_locale, queue, words

__all__ = ["Item", "render_report", "write_report"]


@cache
def environment() -> Environment:
    """The report's Jinja2 environment: autoescaping always on, undefined names fail."""
    env = Environment(loader=PackageLoader("sextortion_signals.report", "templates"),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.tests["mark"] = lambda node: isinstance(node, Mark)
    return env


def render_report(items: Iterable[Item], *, locale: str | None = None,
                  title: str | None = None) -> str:
    """The HTML page of ``items`` (``(conversation_id, messages, ScoreResult)``).

    ``locale`` (e.g. ``fr-FR``) sets the language of every explanation and the guidance's
    resources; by default each conversation gets its own language's locale and the page's
    own words are in the language most conversations are in. ``title`` defaults to
    "Conversation risk report" in that language.
    """
    from .. import __version__

    check_locale(locale)
    lang, convs = queue(items, locale)
    t = words(lang)
    css = stylesheet()
    policy = (f"default-src 'none'; style-src {csp_hash(css)}; img-src 'none'; "
              f"base-uri 'none'; form-action 'none'")
    return environment().get_template("report.html.j2").render(
        lang=lang, t=t, title=title if title is not None else t["title"], convs=convs,
        css=Markup(css),  # the package's own stylesheet, never user text
        policy=policy, generated=str(t["generated"]).format(version=__version__))


def write_report(items: Iterable[Item], path: str | os.PathLike[str], **kw: Any) -> Path:
    """Write ``render_report(items, **kw)`` to ``path`` (UTF-8, replaced atomically;
    parent folders are made) and return the path."""
    html = render_report(items, **kw)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
