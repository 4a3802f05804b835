"""From deadline triggers to obligations: years, windows, who reports what to whom, quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from domain.extract.dates import DateItem, DateMention, YearContext
from domain.extract.document import find_campaign, find_doc_date, is_narrative, title_year
from domain.extract.model import ExtractedObligation, Extraction, Kind, Period
from domain.extract.normalize import Normalized, normalize
from domain.extract.phrases import (
    Verb,
    after_subject,
    find_verbs,
    leading_subject,
    object_after,
    object_between,
    recipient_after,
    recipient_toward,
    salutation,
    subject_in,
)
from domain.extract.rules import SentenceFindings, Trigger, find_triggers, linked_verb
from domain.extract.sentences import (
    Span,
    clause_end,
    clause_start,
    paragraphs,
    sections,
    sentences,
)

_AFTER_PREVIOUS = re.compile(r"(?:之后|此后|以后|随后|然后|今后)\s*$")
_FROM_ON = re.compile(r"\s*(?:起|开始)")
_FROM_TODAY = re.compile(r"(?:自|从)?即日起\s*(?:至|到)\s*$")
_ANCHOR_CUT = re.compile(r"[于在自从]")
_CONDITION_ENDS = ("的", "后", "时")
_ANCHOR_LEAD = re.compile(r"(?:请|须|需|应|应当|要|务必|并|均|统一)+")
_RECURRING_KINDS = (Kind.WEEKLY, Kind.MONTHLY, Kind.QUARTERLY, Kind.DAILY)
_RELATIVE_KINDS = (Kind.RELATIVE_DAYS, Kind.RELATIVE_WORKDAYS, Kind.RELATIVE_HOURS)


@dataclass(frozen=True)
class _Resolved:
    first: date | None
    last: date | None
    inferred: bool


@dataclass(frozen=True)
class _Document:
    norm: Normalized
    doc_date: date | None
    years: YearContext
    campaign: tuple[date, date] | None
    paragraphs: list[Span]
    sections: list[Span]
    default_sender: str | None

    @property
    def text(self) -> str:
        return self.norm.text


def extract_obligations(original: str) -> Extraction:
    """Every reporting deadline written in a notice's text."""
    norm = normalize(original)
    text = norm.text
    doc_date = find_doc_date(text)
    fallback = title_year(text)
    campaign = find_campaign(text, YearContext(doc_date, None, fallback))
    doc = _Document(
        norm,
        doc_date,
        YearContext(doc_date, campaign, fallback),
        campaign,
        paragraphs(text),
        sections(text),
        salutation(text),
    )
    if is_narrative(text):
        # A year-end summary or a news story reports what was done; it sets no deadlines.
        return Extraction(doc_date, ())
    found: list[ExtractedObligation] = []
    for start, end in sentences(text):
        found.extend(_sentence(doc, start, end))
    return Extraction(doc_date, tuple(_dedupe(found)))


def _resolve_all(doc: _Document, findings: SentenceFindings) -> dict[int, _Resolved]:
    """Give every date in a sentence a year, reading left to right so lists roll over years."""
    items: list[DateItem] = [i for g in findings.other_groups for i in g.items]
    items += [i for t in findings.triggers if t.group is not None for i in t.group.items]
    resolved: dict[int, _Resolved] = {}
    previous: date | None = None
    for item in sorted(items, key=lambda i: i.start):
        first, inferred = _resolve(doc, item.first, previous)
        last = None
        if item.last is not None:
            last, _ = _resolve(doc, item.last, first)
        resolved[item.start] = _Resolved(first, last, inferred)
        previous = last or first or previous
    return resolved


def _resolve(
    doc: _Document, mention: DateMention, previous: date | None
) -> tuple[date | None, bool]:
    if mention.year is not None:
        return mention.on(mention.year), False
    year = doc.years.year_for(mention, previous)
    return (mention.on(year) if year is not None else None), True


def _sentence(doc: _Document, start: int, end: int) -> list[ExtractedObligation]:
    text = doc.text
    findings = find_triggers(text, start, end)
    if not findings.triggers:
        return []
    resolved = _resolve_all(doc, findings)
    out: list[ExtractedObligation] = []
    last_once: date | None = None
    floor = start
    anchor: str | None = None
    for index, trigger in enumerate(findings.triggers):
        later = [t.start for t in findings.triggers[index + 1 :] if t.start > trigger.start]
        bound = later[0] if later else end
        verb = linked_verb(text, trigger, bound, start)
        if verb is None:
            continue
        context = _Context(doc, start, end, bound, floor, trigger, verb, anchor)
        if verb.end > trigger.start:
            floor = max(floor, verb.end)
        made = _build(context, findings, resolved, last_once)
        for obligation in made:
            if obligation.kind is Kind.ONCE and obligation.date is not None:
                last_once = obligation.date
            anchor = obligation.anchor or anchor
        out.extend(made)
    return out


@dataclass(frozen=True)
class _Context:
    doc: _Document
    start: int
    end: int
    bound: int
    floor: int
    trigger: Trigger
    verb: Verb
    previous_anchor: str | None


def _build(
    ctx: _Context,
    findings: SentenceFindings,
    resolved: dict[int, _Resolved],
    last_once: date | None,
) -> list[ExtractedObligation]:
    trigger, doc = ctx.trigger, ctx.doc
    base = ExtractedObligation(
        kind=trigger.kind,
        quote=_quote(ctx, trigger.start),
        what=_what(ctx),
        time=trigger.time,
        sender=_sender(ctx),
        recipient=_recipient(ctx),
    )
    if trigger.kind is Kind.ONCE and trigger.group is not None:
        out = []
        for item in trigger.group.items:
            info = resolved[item.start]
            when = info.last if item.last is not None else info.first
            if not info.inferred and doc.doc_date and when and when < doc.doc_date:
                continue  # an explicit date before the notice was issued is history
            out.append(
                replace(
                    base,
                    date=when,
                    month_day=_month_day(item.deadline, when),
                    year_inferred=info.inferred,
                )
            )
        return out
    if trigger.kind is Kind.DAILY:
        windows = _ranges(findings, resolved)
        if windows:
            first_start = min(item.start for item, _ in windows)
            quote = _quote(ctx, first_start)
            return [
                replace(
                    base, quote=quote, window=(info.first, info.last), year_inferred=info.inferred
                )
                for _, info in windows
            ]
    period = _period(findings, trigger)
    if trigger.kind in _RECURRING_KINDS:
        return [
            replace(
                base,
                weekday=trigger.weekday,
                day_of_month=trigger.day_of_month,
                months=trigger.months,
                window=_window(ctx, findings, resolved, last_once),
                period=period,
            )
        ]
    if trigger.kind is Kind.YEARLY:
        return [replace(base, month_day=trigger.month_day, period=period)]
    if trigger.kind in _RELATIVE_KINDS:
        return [replace(base, offset=trigger.offset, anchor=_anchor(ctx))]
    return []


def _month_day(mention: DateMention, when: date | None) -> str:
    return when.strftime("%m-%d") if when is not None else mention.month_day


def _ranges(
    findings: SentenceFindings, resolved: dict[int, _Resolved]
) -> list[tuple[DateItem, _Resolved]]:
    return [
        (item, resolved[item.start])
        for group in findings.other_groups
        for item in group.items
        if item.last is not None
    ]


def _period(findings: SentenceFindings, trigger: Trigger) -> Period | None:
    if not findings.periods:
        return None
    nearest = min(findings.periods, key=lambda p: abs(p.start - trigger.end))
    return nearest.period


def _window(
    ctx: _Context,
    findings: SentenceFindings,
    resolved: dict[int, _Resolved],
    last_once: date | None,
) -> tuple[date | None, date | None] | None:
    """The span a recurring deadline applies in: stated, after an earlier deadline, or the
    campaign's."""
    text, trigger = ctx.doc.text, ctx.trigger
    before = text[max(ctx.start, trigger.start - 6) : trigger.start]
    if last_once is not None and _AFTER_PREVIOUS.search(before):
        return last_once, None
    ranges = _ranges(findings, resolved)
    if ranges:
        info = ranges[0][1]
        return info.first, info.last
    for group in findings.other_groups:
        if _FROM_TODAY.search(text, ctx.start, group.start):
            return ctx.doc.doc_date, resolved[group.items[-1].start].first
    campaign_end = ctx.doc.campaign[1] if ctx.doc.campaign else None
    for group in findings.other_groups:
        if group.end <= trigger.start and _FROM_ON.match(text, group.end):
            first = resolved[group.items[0].start].first
            end = campaign_end if campaign_end and first and campaign_end > first else None
            return first, end
    return ctx.doc.campaign


def _quote(ctx: _Context, first: int) -> str:
    text = ctx.doc.text
    start = clause_start(text, min(first, ctx.verb.start), ctx.start)
    if start < ctx.floor:
        # Two deadlines run together without a comma: start at this one's own date.
        start = min(first, ctx.verb.start)
    ceiling = min(ctx.end, max(ctx.bound, ctx.verb.end))
    end = clause_end(text, max(ctx.verb.end, ctx.trigger.end), ceiling)
    quote = ctx.doc.norm.original_span(start, end).strip()
    while quote.endswith((")", "）")) and quote.count(")") + quote.count("）") > quote.count(
        "("
    ) + quote.count("（"):
        quote = quote[:-1].rstrip()
    return quote


def _what(ctx: _Context) -> str | None:
    text, trigger, verb = ctx.doc.text, ctx.trigger, ctx.verb
    clause = max(ctx.floor, clause_start(text, min(trigger.start, verb.start), ctx.start))
    if verb.start > trigger.end:
        between = text[trigger.end : verb.start]
        if re.search("[将把]", between) or len(between.strip(" ,")) >= 2:
            found = object_between(text, trigger.end, verb.start)
            if found:
                return found
    elif verb.start < trigger.start:
        # 总结报告报送截止时间为10月15日: the thing comes before the labelled verb.
        found = object_between(text, clause_start(text, verb.start, ctx.start), verb.start)
        if found:
            return found
        return _previous_clause_object(ctx, clause)
    if re.search("[将把]", text[clause : trigger.start]):
        found = object_between(text, clause, trigger.start)
        if found:
            return found
    if recipient_after(text, verb.end) is None:
        found = object_after(text, verb.end, max(verb.end, min(ctx.bound, ctx.end)))
        if found:
            return found
    if trigger.kind not in _RELATIVE_KINDS and clause < trigger.start:
        # 名单12月15日前报送: the thing may open the clause, after any subject.
        subject = leading_subject(text, clause, trigger.start + 1)
        begin = text.find(subject, clause) + len(subject) if subject else clause
        found = object_between(text, begin, trigger.start) if begin < trigger.start else None
        if found:
            return found
    return _previous_clause_object(ctx, clause)


def _previous_clause_object(ctx: _Context, clause: int) -> str | None:
    if clause <= ctx.start:
        return None
    text = ctx.doc.text
    previous = clause_start(text, clause - 1, ctx.start)
    return object_between(text, previous, clause - 1)


def _enclosing(spans: list[Span], pos: int, fallback: Span) -> Span:
    for start, end in spans:
        if start <= pos < end:
            return start, end
    return fallback


def _sender(ctx: _Context) -> str | None:
    text, trigger = ctx.doc.text, ctx.trigger
    clause = clause_start(text, trigger.start, ctx.start)
    found = (
        leading_subject(text, clause, trigger.start + 1)
        or leading_subject(text, ctx.start, trigger.start + 1)
        or subject_in(text, ctx.start, trigger.start, last=True)
        or subject_in(text, ctx.start, ctx.end)
    )
    if found:
        return found
    para_start, _ = _enclosing(ctx.doc.paragraphs, ctx.start, (ctx.start, ctx.end))
    found = subject_in(text, para_start, ctx.start, last=True)
    if found:
        return found
    return ctx.doc.default_sender


def _recipient(ctx: _Context) -> str | None:
    text, verb = ctx.doc.text, ctx.verb
    found = recipient_after(text, verb.end) or recipient_toward(text, ctx.start, verb.end)
    if found:
        return found
    # 材料及相关报表报送至X: a paragraph or section often names the receiver once for all.
    for span in (
        _enclosing(ctx.doc.paragraphs, ctx.start, (ctx.start, ctx.end)),
        _enclosing(ctx.doc.sections, ctx.start, (ctx.start, ctx.end)),
    ):
        found = _stated_recipient(text, span)
        if found:
            return found
    return None


def _stated_recipient(text: str, span: Span) -> str | None:
    candidates = find_verbs(text, *span)
    for preferred in (True, False):
        for other in candidates:
            if preferred and not text.startswith(("至", "到"), other.end):
                continue
            found = recipient_after(text, other.end)
            if found:
                return found
    return None


def _anchor(ctx: _Context) -> str | None:
    text, trigger = ctx.doc.text, ctx.trigger
    clause = clause_start(text, trigger.start, ctx.start)
    chunk = text[clause : trigger.start]
    cuts = list(_ANCHOR_CUT.finditer(chunk))
    offset = clause + (cuts[-1].end() if cuts else 0)
    lead = _ANCHOR_LEAD.match(text, offset, trigger.start)
    if lead:
        offset = lead.end()
    offset = after_subject(text, offset, trigger.start)
    anchor = ctx.doc.norm.original_span(offset, trigger.start).strip()
    if anchor:
        return anchor
    # 发现疑似疫情的,应于2小时内报告: the event is the conditional clause before.
    if clause > ctx.start:
        previous = clause_start(text, clause - 1, ctx.start)
        condition = text[previous : clause - 1].rstrip()
        if condition.endswith(_CONDITION_ENDS):
            stop = previous + len(condition) - (1 if condition.endswith("的") else 0)
            return ctx.doc.norm.original_span(previous, stop).strip() or None
    return ctx.previous_anchor


def _dedupe(found: list[ExtractedObligation]) -> list[ExtractedObligation]:
    """A deadline restated (cover letter and plan body) is one obligation."""
    kept: list[ExtractedObligation] = []
    for obligation in found:
        if not any(_same(obligation, other) for other in kept):
            kept.append(obligation)
    return kept


def _same(a: ExtractedObligation, b: ExtractedObligation) -> bool:
    key_a = (a.kind, a.date, a.month_day, a.weekday, a.day_of_month, a.offset, a.time, a.window)
    key_b = (b.kind, b.date, b.month_day, b.weekday, b.day_of_month, b.offset, b.time, b.window)
    if key_a != key_b:
        return False
    if a.quote == b.quote:
        return a.what == b.what
    return a.what is None or b.what is None or a.what in b.what or b.what in a.what
