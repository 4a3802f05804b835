"""Who reports what to whom, the anchor of a relative deadline, and the quote, for one trigger."""

from __future__ import annotations

import re

from domain.extract.context import Context
from domain.extract.model import Kind
from domain.extract.phrases import (
    SELF_WORD,
    after_subject,
    find_verbs,
    leading_subject,
    object_after,
    object_between,
    recipient_after,
    recipient_toward,
    skip_enumerator,
    subject_in,
)
from domain.extract.sentences import Span, clause_end, clause_start

# 通过X系统报送 / 以书面形式报送 name the channel, not the thing sent.
_BY_MEANS = re.compile(r"[\s,]*(?:通过|以|经|按|在|向|用)")
_ANCHOR_CUT = re.compile(rf"[于在从]|自(?!{SELF_WORD})")
# 2小时内电话报告: the means alone is no title; the report made that way is.
_MEANS_ONLY = re.compile(r"电话|书面|口头|传真|短信|网络|网上")
_CONDITION_ENDS = ("的", "后", "时")
_ANCHOR_LEAD = re.compile(r"(?:请|须|需|应|应当|要|务必|并|均|统一)+")
_MAKING = re.compile(r"形成|制定|制订|填写|撰写|编制|整理|汇总|确定|梳理|起草|填报")
_HAN_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])[ \t\u3000]+|[ \t\u3000]+(?=[\u4e00-\u9fff])")
_RELATIVE_KINDS = (Kind.RELATIVE_DAYS, Kind.RELATIVE_WORKDAYS, Kind.RELATIVE_HOURS)


def as_written(ctx: Context, phrase: str | None) -> str | None:
    """The phrase as the original text spells it (前一日, not the normalised 前1日)."""
    if phrase is None:
        return None
    text = ctx.doc.text
    at = text.find(phrase, ctx.start, ctx.end)
    if at < 0:
        at = text.find(phrase)
    if at < 0:
        return phrase
    return _HAN_SPACE.sub("", ctx.doc.norm.original_span(at, at + len(phrase))).strip()


def quote(ctx: Context, first: int) -> str:
    text = ctx.doc.text
    start = clause_start(text, min(first, ctx.verb.start), ctx.start)
    if start < ctx.floor:
        # Two deadlines run together without a comma: start at this one's own date.
        start = min(first, ctx.verb.start)
    start = skip_enumerator(text, start, ctx.end)
    ceiling = min(ctx.end, max(ctx.bound, ctx.verb.end))
    end = clause_end(text, max(ctx.verb.end, ctx.trigger.end), ceiling)
    quote = ctx.doc.norm.original_span(start, end).strip()
    while quote.endswith((")", "）")) and quote.count(")") + quote.count("）") > quote.count(
        "("
    ) + quote.count("（"):
        quote = quote[:-1].rstrip()
    return quote


def what(ctx: Context) -> str | None:
    """The thing to submit; a bare means (电话) names the report made that way (电话报告)."""
    found = _what(ctx)
    if found is None:
        return None
    if _MEANS_ONLY.fullmatch(found):
        return found + ctx.doc.text[ctx.verb.start : ctx.verb.end]  # 电话报告, 网络直报
    # 各企业自查表及…于: 自 read as "from" ends the subject; the thing is still 自查表.
    if re.match(SELF_WORD, found) and "自" + found in ctx.doc.text[ctx.start : ctx.end]:
        return "自" + found
    return found


def _what(ctx: Context) -> str | None:
    text, trigger, verb = ctx.doc.text, ctx.trigger, ctx.verb
    clause = max(ctx.floor, clause_start(text, min(trigger.start, verb.start), ctx.start))
    if verb.start > trigger.end:
        between = text[trigger.end : verb.start]
        by_means = _BY_MEANS.match(between)
        if re.search("[将把]", between) or (len(between.strip(" ,")) >= 2 and not by_means):
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
    receiver = recipient_after(text, verb.end)
    if receiver is None or not text.startswith(receiver, verb.end):
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


def _previous_clause_object(ctx: Context, clause: int) -> str | None:
    """形成自查报告,经审核后,于X前报送: the thing was made a clause or two earlier."""
    text = ctx.doc.text
    fallback: str | None = None
    for _ in range(3):
        if clause <= ctx.start:
            break
        previous = clause_start(text, clause - 1, ctx.start)
        chunk = text[previous : clause - 1]
        made = list(_MAKING.finditer(chunk))
        if made:
            return object_between(text, previous + made[-1].end(), clause - 1)
        if fallback is None and not chunk.rstrip().endswith(("后", "时")):
            fallback = object_between(text, previous, clause - 1)
        clause = previous
    return fallback


def _enclosing(spans: list[Span], pos: int, fallback: Span) -> Span:
    for start, end in spans:
        if start <= pos < end:
            return start, end
    return fallback


def sender(ctx: Context) -> str | None:
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


def recipient(ctx: Context) -> str | None:
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


def anchor(ctx: Context) -> str | None:
    text, trigger = ctx.doc.text, ctx.trigger
    clause = clause_start(text, trigger.start, ctx.start)
    chunk = text[clause : trigger.start]
    cuts = list(_ANCHOR_CUT.finditer(chunk))
    offset = clause + (cuts[-1].end() if cuts else 0)
    lead = _ANCHOR_LEAD.match(text, offset, trigger.start)
    if lead:
        offset = lead.end()
    offset = after_subject(text, offset, trigger.start)
    # 4.专项行动结束后: the list number is not part of the event.
    offset = skip_enumerator(text, offset, trigger.start)
    anchor = ctx.doc.norm.original_span(offset, trigger.start).strip()
    if anchor:
        return anchor
    # 发现疑似疫情的,应于2小时内报告: the event is the conditional clause before.
    if clause > ctx.start:
        previous = skip_enumerator(text, clause_start(text, clause - 1, ctx.start), clause)
        condition = text[previous : clause - 1].rstrip()
        if condition.endswith(_CONDITION_ENDS):
            stop = previous + len(condition) - (1 if condition.endswith("的") else 0)
            return ctx.doc.norm.original_span(previous, stop).strip() or None
    return ctx.previous_anchor
