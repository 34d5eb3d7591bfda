"""The report's colours (one palette, checked for WCAG AA contrast) and its stylesheet."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources

# name -> hex colour; the stylesheet reads them as CSS variables (--name).
PALETTE: dict[str, str] = {
    "ink": "#1d2433",  # body text
    "muted": "#4a5568",  # secondary text
    "paper": "#ffffff",
    "panel": "#f4f6f9",
    "rule": "#8a94a6",  # borders (non-text: 3:1 against paper)
    "link": "#1746a2",
    "focus": "#b54708",  # focus ring (non-text: 3:1 against paper and panel)
    "high-bg": "#a4161a", "high-fg": "#ffffff",
    "medium-bg": "#ffe08a", "medium-fg": "#3d2a00",
    "low-bg": "#e3e8ef", "low-fg": "#1d2433",
    "sextortion-bg": "#ffd9d6", "sextortion-line": "#a4161a",
    "grooming-bg": "#ffe9a8", "grooming-line": "#8a4b00",
    "context-bg": "#dbe7ff", "context-line": "#1746a2",
    "learned-bg": "#e9e2ff", "learned-fg": "#3b1f8f",
    "pos": "#b42318",  # contributions that raise a probability
    "neg": "#175cd3",  # contributions that lower it
}

# (foreground, background, minimum ratio): text pairs need 4.5, graphics and rings 3.
CONTRAST_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("ink", "paper", 4.5), ("ink", "panel", 4.5), ("muted", "paper", 4.5),
    ("muted", "panel", 4.5), ("link", "paper", 4.5), ("link", "panel", 4.5),
    ("high-fg", "high-bg", 4.5), ("medium-fg", "medium-bg", 4.5), ("low-fg", "low-bg", 4.5),
    ("ink", "sextortion-bg", 4.5), ("ink", "grooming-bg", 4.5), ("ink", "context-bg", 4.5),
    ("learned-fg", "learned-bg", 4.5),
    ("sextortion-line", "sextortion-bg", 3.0), ("grooming-line", "grooming-bg", 3.0),
    ("context-line", "context-bg", 3.0),
    ("pos", "paper", 4.5), ("neg", "paper", 4.5),  # their value labels are text too
    ("rule", "paper", 3.0), ("focus", "paper", 3.0), ("focus", "panel", 3.0),
)


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@cache
def stylesheet() -> str:
    """The whole stylesheet: the palette as variables, then ``templates/report.css``."""
    variables = "".join(f"--{name}:{value};" for name, value in PALETTE.items())
    css = (resources.files("sextortion_signals.report") / "templates" / "report.css"
           ).read_text(encoding="utf-8")
    return f":root{{{variables}}}\n{css}"


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline block."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
