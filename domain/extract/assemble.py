"""From deadline triggers to obligations: one pass over the sentences of a notice."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from domain.extract import parties
from domain.extract.context import Context, Document, Resolved
from domain.extract.dates import DateGroup, DateItem, DateMention, YearContext, find_groups
from domain.extract.document import (
    Phase,
    find_campaign,
    find_doc_date,
    find_heading,
    find_phases,
    is_narrative,
    title_year,
)
from domain.extract.model import ExtractedObligation, Extraction, Kind, Period, Stage
from domain.extract.normalize import normalize
from domain.extract.phrases import find_verbs, salutation, skip_enumerator
from domain.extract.rules import SentenceFindings, deadline_tail, find_triggers, linked_verb
from domain.extract.schedules import Trigger
from domain.extract.sentences import Span, clause_start, paragraphs, sections, sentences

_AFTER_PREVIOUS = re.compile(r"(?:之后|此后|以后|随后|然后|今后)\s*$")
_FROM_ON = re.compile(r"\s*(?:起|开始)")
_LIST_GAP = re.compile(r"\s*(?:、|,|和|及|以及|与)\s*")
_DURING = re.compile(r"(?P<label>[^\s,。;:()、]{2,10}?)期间")
# 排查摸底阶段结束后: the phase is an anchor there, not the span the rule runs in.
_PHASE_EDGE = re.compile(r"(?:阶段|期)?\s*(?:结束|开始|完成|截止)")
_FROM_TODAY = re.compile(r"(?:自|从)?即日起\s*(?:至|到)\s*$")
_RECURRING_KINDS = (Kind.WEEKLY, Kind.MONTHLY, Kind.QUARTERLY, Kind.DAILY)
_RELATIVE_KINDS = (Kind.RELATIVE_DAYS, Kind.RELATIVE_WORKDAYS, Kind.RELATIVE_HOURS)


def extract_obligations(original: str) -> Extraction:
    """Every reporting deadline written in a notice's text."""
    norm = normalize(original)
    text = norm.text
    doc_date = find_doc_date(text)
    if is_narrative(text):
        # A year-end summary or a news story reports what was done; it sets no deadlines.
        return Extraction(doc_date, ())
    heading = find_heading(text)
    fallback = title_year(text)
    early_years = YearContext(doc_date, None, fallback)
    phases = find_phases(text, early_years)
    campaign = find_campaign(text, early_years, phases)
    doc = Document(
        norm,
        doc_date,
        YearContext(doc_date, campaign, fallback),
        campaign,
        phases,
        paragraphs(text),
        sections(text),
        salutation(text),
    )
    found: list[ExtractedObligation] = []
    previous: Span | None = None
    passage = _Passage()
    for start, end in sentences(text):
        made = _sentence(doc, start, end, previous, passage)
        if not made and passage.completion is not None:
            made = _governed(doc, start, end, passage.completion)
        passage.completion = None if made else _completion(doc, start, end)
        found.extend(made)
        recurring = [o for o in made if o.kind in _RECURRING_KINDS]
        if recurring:
            passage.governing = recurring[-1]
        # Only a sentence on the same line can set the scene (日报时间为X至Y。每日...).
        same_line = "\n" not in text[end : end + 1]
        previous = (start, end) if same_line else None
        if not same_line:
            passage = _Passage()
    stages = tuple(Stage(p.label, p.start, p.end) for p in phases)
    return Extraction(
        doc_date, tuple(_dedupe(found)), heading.name, heading.issuer, campaign, stages
    )


@dataclass
class _Passage:
    """What one line of a notice has set up for the sentences after it."""

    # The last recurring deadline: its cadence governs a bare 8日前 / 周五前 that follows.
    governing: ExtractedObligation | None = None
    # 以上工作于3月19日前完成。: the date and its sentence, for the submissions named next.
    completion: tuple[DateGroup, Span] | None = None


_COMPLETE = re.compile(r"\s*(?:全部|基本)?完成")


def _completion(doc: Document, start: int, end: int) -> tuple[DateGroup, Span] | None:
    """以上工作于10月31日前完成: a completion date that the next sentence's submissions share."""
    text = doc.text
    for group in find_groups(text, start, end):
        tail = deadline_tail(text, group.end)
        if tail.marked and _COMPLETE.match(text, tail.end):
            return group, (start, end)
    return None


def _governed(
    doc: Document, start: int, end: int, completion: tuple[DateGroup, Span]
) -> list[ExtractedObligation]:
    """工作总结电子版发至信箱 right after a completion date: submitted by that date."""
    text = doc.text
    if find_groups(text, start, end) or find_triggers(text, start, end).triggers:
        return []
    verbs = find_verbs(text, start, end)
    if not verbs:
        return []
    group, (first, last) = completion
    trigger = Trigger(Kind.ONCE, start, start, group=group, marked=True)
    ctx = Context(doc, start, end, end, start, trigger, verbs[0], None, None)
    findings = SentenceFindings((trigger,), (), ())
    resolved = {item.start: _resolve_item(doc, item) for item in group.items}
    made = _build(ctx, findings, resolved, None)
    lead = skip_enumerator(text, clause_start(text, group.start, first), last)
    said = doc.norm.original_span(lead, last).strip()
    return [replace(o, quote=said + o.quote, sender=o.sender) for o in made]


def _resolve_item(doc: Document, item: DateItem) -> Resolved:
    first, inferred = doc.resolve(item.first, None)
    last = doc.resolve(item.last, first)[0] if item.last is not None else None
    return Resolved(first, last, inferred)


def _sentence(
    doc: Document, start: int, end: int, previous: Span | None, passage: _Passage
) -> list[ExtractedObligation]:
    text = doc.text
    governing = passage.governing
    findings = find_triggers(text, start, end, governing.kind if governing else None)
    if not findings.triggers:
        return []
    resolved = doc.resolve_all(findings)
    out: list[ExtractedObligation] = []
    last_once: date | None = None
    floor = start
    anchor: str | None = None
    for index, trigger in enumerate(findings.triggers):
        later = [t for t in findings.triggers[index + 1 :] if t.start > trigger.start]
        bound = later[0].start if later else end
        verb = linked_verb(text, trigger, bound, start)
        if verb is None and later and _LIST_GAP.fullmatch(text, trigger.end, bound):
            # 6月30日前、12月20日前分别报送: listed deadlines share the verb that ends the list.
            following = [t.start for t in later[1:] if t.start > later[0].start]
            verb = linked_verb(text, later[0], following[0] if following else end, start)
        if verb is None:
            continue
        context = Context(doc, start, end, bound, floor, trigger, verb, anchor, previous)
        if verb.end > trigger.start:
            floor = max(floor, verb.end)
        made = _build(context, findings, resolved, last_once)
        if trigger.carried and governing is not None:
            # 周五12时前报镇安办 after 每周四…: the same cadence, in the same window.
            made = [
                replace(
                    o,
                    window=governing.window,
                    what=o.what or governing.what,
                    period=o.period or governing.period,
                )
                for o in made
            ]
        for obligation in made:
            if obligation.kind is Kind.ONCE and obligation.date is not None:
                last_once = obligation.date
            anchor = obligation.anchor or anchor
        out.extend(made)
    return out


def _build(
    ctx: Context,
    findings: SentenceFindings,
    resolved: dict[int, Resolved],
    last_once: date | None,
) -> list[ExtractedObligation]:
    trigger, doc = ctx.trigger, ctx.doc
    base = ExtractedObligation(
        kind=trigger.kind,
        quote=parties.quote(ctx, trigger.start),
        what=parties.as_written(ctx, parties.what(ctx)),
        time=trigger.time,
        sender=parties.as_written(ctx, parties.sender(ctx)),
        recipient=parties.as_written(ctx, parties.recipient(ctx)),
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
        quote = parties.quote(ctx, min([trigger.start] + [item.start for item, _ in windows]))
        windows = windows or _scene_ranges(ctx)
        if windows:
            return [
                replace(
                    base, quote=quote, window=(info.first, info.last), year_inferred=info.inferred
                )
                for _, info in windows
            ]
    period = _period(ctx, findings)
    if trigger.kind in _RECURRING_KINDS:
        return [
            replace(
                base,
                weekday=trigger.weekday,
                day_of_month=trigger.day_of_month,
                months=trigger.months,
                last_workday=trigger.last_workday,
                window=_window(ctx, findings, resolved, last_once),
                period=period,
            )
        ]
    if trigger.kind is Kind.YEARLY:
        return [replace(base, month_day=trigger.month_day, period=period)]
    if trigger.kind in _RELATIVE_KINDS:
        return [replace(base, offset=trigger.offset, anchor=parties.anchor(ctx))]
    return []


def _scene_ranges(ctx: Context) -> list[tuple[DateItem, Resolved]]:
    """Date ranges that the previous sentence set up for a daily report (日报时间为X至Y)."""
    if ctx.previous_sentence is None:
        return []
    findings = find_triggers(ctx.doc.text, *ctx.previous_sentence)
    if findings.triggers:
        return []
    return _ranges(findings, ctx.doc.resolve_all(findings))


def _month_day(mention: DateMention, when: date | None) -> str:
    return when.strftime("%m-%d") if when is not None else mention.month_day


def _ranges(
    findings: SentenceFindings, resolved: dict[int, Resolved]
) -> list[tuple[DateItem, Resolved]]:
    return [
        (item, resolved[item.start])
        for group in findings.other_groups
        for item in group.items
        if item.last is not None
    ]


def _period(ctx: Context, findings: SentenceFindings) -> Period | None:
    """The statistics period named in this deadline's own stretch of the sentence: between
    the previous deadline's verb and the next deadline, so one item never takes another's."""
    own = [p for p in findings.periods if ctx.floor <= p.start < ctx.bound]
    if not own:
        return None
    nearest = min(own, key=lambda p: abs(p.start - ctx.trigger.end))
    return nearest.period


def _window(
    ctx: Context,
    findings: SentenceFindings,
    resolved: dict[int, Resolved],
    last_once: date | None,
) -> tuple[date | None, date | None] | None:
    """The span a recurring deadline runs in: stated, from an earlier deadline, or the campaign."""
    text, trigger = ctx.doc.text, ctx.trigger
    before = text[max(ctx.start, trigger.start - 6) : trigger.start]
    if last_once is not None and _AFTER_PREVIOUS.search(before):
        return last_once, None
    ranges = _own_ranges(ctx, findings, resolved)
    if ranges:
        info = ranges[0][1]
        return info.first, info.last
    for group in findings.other_groups:
        if _FROM_TODAY.search(text, ctx.start, group.start):
            return ctx.doc.doc_date, resolved[group.items[-1].start].first
    phase = _named_phase(ctx)
    if phase is not None:
        return phase.start, phase.end
    campaign_end = ctx.doc.campaign[1] if ctx.doc.campaign else None
    for group in findings.other_groups:
        if group.end <= trigger.start and _FROM_ON.match(text, group.end):
            first = resolved[group.items[0].start].first
            end = campaign_end if campaign_end and first and campaign_end > first else None
            return first, end
    return ctx.doc.campaign


def _own_ranges(
    ctx: Context, findings: SentenceFindings, resolved: dict[int, Resolved]
) -> list[tuple[DateItem, Resolved]]:
    """Ranges that govern this deadline: in its own stretch of the sentence, or in a leading
    clause that sets the scene for the whole sentence (4月1日至9月30日期间,…). A range written
    for the deadline before (汛期(4月1日至9月30日)每周五报送…,每季度…) stays with it."""
    text = ctx.doc.text
    first_trigger = min((t.start for t in findings.triggers), default=ctx.trigger.start)
    own = []
    for item, info in _ranges(findings, resolved):
        in_stretch = ctx.floor <= item.start < ctx.bound
        leading = item.end <= first_trigger and "," in text[item.end : first_trigger]
        if in_stretch or leading:
            own.append((item, info))
    return own


def _named_phase(ctx: Context) -> Phase | None:
    """集中整治期间 / 集中整治阶段实行周报: the stage of that name, when the notice dates it."""
    for during in _DURING.finditer(ctx.doc.text, ctx.start, ctx.trigger.start):
        label = during.group("label").strip('“”"')
        for phase in ctx.doc.phases:
            if label in phase.label or phase.label in label:
                return phase
    # The phase's passage: its heading line governs the sentences written on that line
    # ((二)集中整治阶段(7月1日至10月31日)。各县每周五…), never the lines after another item.
    text = ctx.doc.text
    line_start = text.rfind("\n", 0, ctx.start) + 1
    heading = text[line_start : ctx.start]
    if find_triggers(text, line_start, ctx.start).triggers:
        heading = ""
    before = heading + text[ctx.floor : ctx.trigger.start]
    for phase in ctx.doc.phases:
        at = before.find(phase.label)
        if at >= 0 and not _PHASE_EDGE.match(before, at + len(phase.label)):
            return phase
    return None


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
