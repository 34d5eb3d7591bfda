"""What the template shows: plain values built from scored conversations.

Every string here is plain text (message text, senders and ids are the attacker's and the
caller's); the template escapes all of it. Geometry of the contributions chart is computed
here so that the template only places numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from ..errors import InvalidInputError
from ..explain import pct, reasons, timeline, wording
from ..guidance import LOCALES, locale_for
from ..inputs import Conversation, parse_timestamp
from ..results import Contribution, ScoreResult
from .highlight import Node, Span, clean, segment

Item = tuple[str, Sequence[Any] | Conversation, ScoreResult]

LEVEL_RANK = {"high": 2, "medium": 1, "low": 0}
WORD_LANGUAGES = ("en", "fr")  # languages the report's own words exist in
CHART_TOP = 8  # contributions shown per label
QUEUE_TACTICS = 3  # tactics named per queue row


@cache
def words(lang: str) -> dict[str, Any]:
    """The report's own words in ``lang`` (``words/<lang>.json``; English otherwise)."""
    name = lang if lang in WORD_LANGUAGES else "en"
    path = resources.files("sextortion_signals.report") / "words" / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def clock(t: float | None) -> tuple[str, str] | None:
    """(shown, ISO-8601) of epoch seconds, in UTC."""
    if t is None:
        return None
    try:
        dt = datetime.fromtimestamp(t, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.strftime("%Y-%m-%d %H:%M UTC"), dt.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Chip:
    category: str
    label: str
    frame: bool


@dataclass(frozen=True, slots=True)
class MessageView:
    index: int
    anchor: str
    sender: str | None
    time: tuple[str, str] | None  # (shown, ISO-8601)
    time_raw: str | None  # a timestamp that could not be read, shown as given
    text: str
    nodes: list[Node]
    chips: list[Chip]
    learned: list[str]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    index: int
    anchor: str
    time: tuple[str, str] | None
    events: list[str]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    tooltip: str
    y: int  # top of the row
    x: float
    width: float
    positive: bool
    value_text: str
    value_x: float


@dataclass(frozen=True, slots=True)
class TableRow:
    feature: str
    label: str
    value: str
    contribution: str


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    label: str
    note: str
    width: int
    height: int
    label_x: int
    axis_x: float
    row_height: int
    bars: list[Bar]
    table: list[TableRow]
    equation: str


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    kind: str
    value: str
    text: str
    index: int
    anchor: str


@dataclass(frozen=True, slots=True)
class ResourceView:
    name: str
    url: str | None
    phone: str | None
    purpose: str


@dataclass(frozen=True, slots=True)
class GuidanceView:
    heading: str
    person_heading: str
    person: list[str]
    moderator_heading: str
    moderator: list[str]
    resources: list[ResourceView]
    open: bool


@dataclass(slots=True)
class ConversationView:
    position: int  # in the caller's order
    anchor: str
    ident: str
    lang: str
    t: dict[str, Any]  # the report's words in this conversation's language
    w: dict[str, Any]  # the library's wording in this conversation's language
    level: str
    level_text: str
    probability: float  # the highest label probability
    top_label: str
    probabilities: str  # every label, stated once (the header)
    queue_lang: str  # the queue row's words are in the page's language
    queue_level: str
    queue_risk: str  # "sextortion: >99% likely"
    tactics: list[Chip]
    more_tactics: int
    messages: list[MessageView]
    timeline: list[TimelineEntry]
    why_heading: str
    raising: list[str]
    lowering: str | None
    charts: list[Chart]
    indicators: list[IndicatorRow]
    guidance: GuidanceView | None
    notes: list[str] = field(default_factory=list)
    rank: int = 0


def check_locale(locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise InvalidInputError(f"no report locale {locale!r}; locales: {', '.join(LOCALES)}")


def conversation_lang(result: ScoreResult, locale: str | None) -> str:
    """The language a conversation is explained in (one the report has words for)."""
    lang = (locale or locale_for(result.lang)).split("-")[0]
    return lang if lang in WORD_LANGUAGES else "en"


def page_lang(locale: str | None, langs: Sequence[str]) -> str:
    """The language of the page's own words: the locale's, else most conversations'."""
    if locale is not None:
        lang = locale.split("-")[0]
    else:
        counts = Counter(langs)
        lang = max(sorted(counts), key=counts.__getitem__) if counts else "en"
    return lang if lang in WORD_LANGUAGES else "en"


def _message_fields(message: Any, where: str) -> tuple[str, Any, Any]:
    if isinstance(message, str):
        return message, None, None
    if isinstance(message, Mapping):
        if not isinstance(message.get("text"), str):
            raise InvalidInputError(f"{where}: a message needs a 'text' string")
        return message["text"], message.get("sender"), message.get("timestamp")
    text = getattr(message, "text", None)
    if isinstance(text, str):  # an inputs.Message
        return text, getattr(message, "sender", None), getattr(message, "timestamp", None)
    raise TypeError(f"{where}: a message must be a str or a mapping with 'text', got "
                    f"{type(message).__name__}")


def _time(value: Any, where: str) -> tuple[tuple[str, str] | None, str | None]:
    if value is None:
        return None, None
    try:
        return clock(parse_timestamp(value, where)), None
    except (TypeError, ValueError):
        return None, clean(str(value))[:60]


def _signal_name(w: Mapping[str, Any], name: str) -> str:
    return str(w["signals"].get(name, name.replace("_", " ")))


def _spans(result: ScoreResult, texts: Mapping[int, str], conv: str, w: Mapping[str, Any],
           t: Mapping[str, Any]) -> tuple[dict[int, list[Span]], dict[int, list[Chip]], int]:
    """Per message: its highlight spans and tactic chips; and how many hits could not be
    placed (the text given differs from the scored text at the hit's offsets)."""
    grouped: dict[tuple[int, int, int, str], list[tuple[str, bool]]] = {}
    unplaced = 0
    for hit in result.signals:
        i = hit.message_index
        if not (i in texts and texts[i][hit.start:hit.end] == clean(hit.text)
                and hit.start < hit.end):
            unplaced += 1
            continue
        grouped.setdefault((i, hit.start, hit.end, hit.category), []).append(
            (hit.name, hit.rule_id.startswith("frame/")))
    spans: dict[int, list[Span]] = {}
    chips: dict[int, dict[str, Chip]] = {}
    for (i, start, end, category), hits in sorted(grouped.items()):
        names = tuple(dict.fromkeys(name for name, _ in hits))
        frame = all(is_frame for _, is_frame in hits)
        title = "; ".join(_signal_name(w, n) for n in names)
        if frame:
            title += f" ({t['frame']})"
        message_spans = spans.setdefault(i, [])
        message_spans.append(Span(f"{conv}-m{i}-s{len(message_spans)}", start, end, category,
                                  names, title, frame))
        for name, is_frame in hits:
            old = chips.setdefault(i, {}).get(name)
            chips[i][name] = Chip(category, _signal_name(w, name),
                                  is_frame and (old is None or old.frame))
    return spans, {i: list(c.values()) for i, c in chips.items()}, unplaced


def _short_label(c: Contribution, w: Mapping[str, Any], t: Mapping[str, Any]) -> str:
    kind, _, name = c.feature.partition(":")
    if kind == "signal" and name in w["signals"]:
        label = _signal_name(w, name)
    elif kind == "frame" and name in w["signals"]:
        label = f"{_signal_name(w, name)} ({t['frame']})"
    elif kind == "learned" and name in w["groups"]:
        label = str(w["groups"][name])
    elif c.feature in w["reasons"]:
        k = round(c.value * (4 if "sextortion" in c.feature else 3))
        label = str(w["reasons"][c.feature]).format(k=k)
    else:
        label = c.feature
    return label if len(label) <= 46 else label[:45] + "…"


def chart(result: ScoreResult, label: str, conv: str, w: Mapping[str, Any],
          t: Mapping[str, Any]) -> Chart:
    """Horizontal bars of the largest contributions to ``label``, zero in the middle."""
    top = list(result.contributions.get(label, ()))[:CHART_TOP]
    width, label_x, row_h, pad, room = 760, 330, 24, 8, 56
    axis = label_x + (width - label_x) / 2
    half = (width - label_x) / 2 - room
    biggest = max((abs(c.contribution) for c in top), default=0.0) or 1.0
    bars = []
    for k, c in enumerate(top):
        size = abs(c.contribution) / biggest * half
        positive = c.contribution >= 0
        bars.append(Bar(
            label=_short_label(c, w, t),
            tooltip=f"{c.feature} = {c.value:.3g}: {c.description}",
            y=pad + k * row_h, x=round(axis if positive else axis - size, 1),
            width=round(max(size, 1.0), 1), positive=positive,
            value_text=f"{c.contribution:+.2f}",
            value_x=round(axis + size + 4 if positive else axis - size - 4, 1)))
    table = [TableRow(c.feature, _short_label(c, w, t), f"{c.value:.3g}",
                      f"{c.contribution:+.3f}") for c in result.contributions.get(label, ())]
    label_text = str(w["labels"].get(label, label))
    equation = str(t["intercept"]).format(intercept=f"{result.intercepts[label]:+.3f}",
                                          logit=f"{result.logits[label]:+.3f}")
    return Chart(f"{conv}-chart-{label}", label_text,
                 str(t["contributions_note"]).format(label=label_text, n=CHART_TOP),
                 width, 2 * pad + max(len(bars), 1) * row_h, label_x, axis, row_h, bars,
                 table, equation)


def _url(url: str | None) -> str | None:
    """A resource link only when it is a plain web address (defence in depth: the data
    is the project's own, but an ``href`` is never anything else)."""
    if url and url.startswith(("https://", "http://")) and not any(c in url for c in "\"'<> "):
        return url
    return None


def _phone(name: str, phone: str | None) -> str | None:
    """A resource's number, unless its name already is the number ("3114", "17 / 112")."""
    if phone and phone.replace(" ", "") in name.replace(" ", ""):
        return None
    return phone


def _guidance(result: ScoreResult, locale: str, w: Mapping[str, Any],
              t: Mapping[str, Any]) -> GuidanceView:
    g = result.guidance(locale)
    return GuidanceView(
        heading=str(t["guidance"]),
        person_heading=str(w["headings"]["next_steps"]), person=[s.text for s in g.person],
        moderator_heading=str(w["headings"]["moderator"]),
        moderator=[s.text for s in g.moderator],
        resources=[ResourceView(r.name, _url(r.url), _phone(r.name, r.phone), r.purpose)
                   for r in g.resources],
        open=result.level != "low")


def conversation(position: int, ident: str, messages: Sequence[Any] | Conversation,
                 result: ScoreResult, locale: str | None, queue_lang: str = "en",
                 ) -> ConversationView:
    """The view of one scored conversation, in ``locale`` or the conversation's own; its
    row of the queue in ``queue_lang`` (the page's language).

    ``messages[i]`` is message ``i`` of the scored input; a checked ``Conversation`` (from
    ``inputs.coerce_conversation``) may be given instead, whose first message is message
    ``offset`` when a long conversation was windowed.
    """
    if not isinstance(result, ScoreResult):
        raise TypeError(f"item {position}: expected a ScoreResult, got "
                        f"{type(result).__name__}")
    offset = 0
    if isinstance(messages, Conversation):
        offset = messages.offset
        messages = messages.messages
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise TypeError(f"item {position}: messages must be a list, got "
                        f"{type(messages).__name__}")
    conv_locale = locale or locale_for(result.lang)
    lang = conversation_lang(result, locale)
    w, t, qw = wording(lang), words(lang), wording(queue_lang)
    anchor = f"c{position}"

    fields = {i: _message_fields(m, f"item {position}, message {i}")
              for i, m in enumerate(messages, start=offset)}
    texts = {i: clean(text) for i, (text, _, _) in fields.items()}
    spans, chips, unplaced = _spans(result, texts, anchor, w, t)
    learned: dict[int, list[str]] = {}
    for hit in result.learned:
        learned.setdefault(hit.message_index, []).append(
            f"{w['groups'].get(hit.group, hit.group)} ({pct(hit.probability)})")
    views = []
    for i, (_, sender, stamp) in fields.items():
        text = texts[i]
        shown, raw = _time(stamp, f"item {position}, message {i}")
        views.append(MessageView(
            i, f"{anchor}-m{i}", None if sender is None else clean(str(sender))[:200], shown,
            raw, text, segment(text, spans.get(i, ())), chips.get(i, []), learned.get(i, [])))

    events = [TimelineEntry(i, f"{anchor}-m{i}", clock(when), what)
              for i, when, what in timeline(result, lang)]
    scores = result.scores
    top = max(result.labels or scores, key=scores.__getitem__)
    raising, lowering = reasons(result, top, lang)
    tactics: dict[str, Chip] = {}
    for s in sorted(result.signals, key=lambda h: (h.message_index, h.start)):
        if s.category != "context":
            tactics.setdefault(s.name, Chip(s.category, _signal_name(qw, s.name), False))
    indicators = [IndicatorRow(str(t["kinds"].get(i.kind, i.kind)), clean(i.value),
                               clean(i.text), i.message_index, f"{anchor}-m{i.message_index}")
                  for i in sorted(result.indicators, key=lambda i: (i.message_index, i.start))]
    notes = [clean(x) for x in result.warnings]
    if unplaced:
        notes.append(str(t["unplaced"]).format(n=unplaced))
    return ConversationView(
        position=position, anchor=anchor, ident=clean(str(ident)) or f"#{position}",
        lang=lang, t=t, w=w,
        level=result.level, level_text=str(w["levels"][result.level]),
        probability=float(scores[top]), top_label=top,
        probabilities=", ".join(_probability(w, k, v) for k, v in scores.items()),
        queue_lang=queue_lang, queue_level=str(qw["levels"][result.level]),
        queue_risk=_probability(qw, top, scores[top]),
        tactics=list(tactics.values())[:QUEUE_TACTICS],
        more_tactics=max(0, len(tactics) - QUEUE_TACTICS),
        messages=views, timeline=events,
        why_heading=f"{w['headings']['why']} ({w['labels'].get(top, top)})",
        raising=raising,
        lowering=str(w["lowered_by"]).format(what="; ".join(lowering)) if lowering else None,
        charts=[chart(result, label, anchor, w, t) for label in (result.labels or (top,))],
        indicators=indicators, guidance=_guidance(result, conv_locale, w, t), notes=notes)


def _probability(w: Mapping[str, Any], label: str, p: float) -> str:
    return str(w["probability"]).format(label=w["labels"].get(label, label), p=pct(p))


def queue(items: Iterable[Item], locale: str | None) -> tuple[str, list[ConversationView]]:
    """The page's language and views of every item, riskiest first: by level, then by
    highest probability (the caller's order breaks ties). Levels come first because labels
    have different alert thresholds: a lower probability of one label can be an alert
    where a higher one of another is not."""
    checked: list[Item] = []
    for position, item in enumerate(items):
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise TypeError(f"item {position}: expected (conversation_id, messages, "
                            f"ScoreResult), got {type(item).__name__}")
        if not isinstance(item[2], ScoreResult):
            raise TypeError(f"item {position}: expected a ScoreResult, got "
                            f"{type(item[2]).__name__}")
        checked.append((item[0], item[1], item[2]))
    lang = page_lang(locale, [conversation_lang(r, locale) for _, _, r in checked])
    views = [conversation(position, ident, messages, result, locale, lang)
             for position, (ident, messages, result) in enumerate(checked)]
    views.sort(key=lambda v: (-LEVEL_RANK.get(v.level, -1), -v.probability, v.position))
    for rank, v in enumerate(views, 1):
        v.rank = rank
    return lang, views
