"""Facts about the whole notice: when it was issued and when its campaign runs."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date

from domain.extract.dates import DateMention, YearContext, find_groups, find_mentions
from domain.extract.sentences import sentences

_LABELLED = re.compile(r"(?:发布时间|发布日期|发文日期|成文日期|印发日期|发文时间|日期)\s*:\s*")
_DATE_LINE = re.compile(
    r"^[ \t]*\(?(?P<date>(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|(?:19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2})\)?[ \t]*(?:印发|发布)?[ \t]*$",
    re.MULTILINE,
)
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# 自2016年12月1日开始,至2017年2月28日结束 / 时间为6月1日至6月30日.
_OPEN_CLOSE = re.compile(r"\s*(?:开始|起)?\s*,?\s*(?:至|到|—{1,2}|-|~)\s*")
_CAMPAIGN_WORDS = re.compile(
    r"开始|结束|为期|时间|期限|起止|截止|止|期间|开展|实施|为[^,。;]{0,12}期"
)
_TIME_HEADING = re.compile(r"时间|期限|期间|时段")
# A stage heading: an optional enumerator, a short label, maybe 阶段, then the bracketed dates.
_PHASE_HEAD = re.compile(
    r"\s*(?:第[一二三四五六七八九十\d]{1,2}阶段\s*:?\s*|\(?[一二三四五六七八九十\d]{1,2}[)、.]\s*)?"
    r"(?P<label>[^,。;:()\n\d]{2,14}?)\s*(?:阶段)?\s*[(:]\s*"
)
_NAMED_AFTER = re.compile(r"\s*(?:为|是)(?P<label>[^,。;:()\d]{2,10}?)(?:期|阶段|时段)")
# A range inside a sentence that asks for a submission is a reporting window, not the campaign.
_SUBMISSION = re.compile(r"报送|上报|提交|报告|反馈")


def _mention_date(mention: DateMention) -> date | None:
    if mention.year is None or mention.day is None:
        return None
    try:
        return mention.on(mention.year)
    except ValueError:
        return None


def find_doc_date(text: str) -> date | None:
    """The issue date: a 发布时间-style label, else a line holding nothing but a full date."""
    for label in _LABELLED.finditer(text):
        mentions = find_mentions(text, label.end(), min(len(text), label.end() + 20))
        if mentions and mentions[0].start == label.end():
            found = _mention_date(mentions[0])
            if found is not None:
                return found
    for line in _DATE_LINE.finditer(text):
        mentions = find_mentions(text, line.start("date"), line.end("date"))
        if mentions:
            found = _mention_date(mentions[0])
            if found is not None:
                return found
    return None


def title_year(text: str) -> int | None:
    """A year written in the first lines (the title: 清溪镇2018年打假工作方案)."""
    head = "\n".join([line for line in text.splitlines() if line.strip()][:3])
    match = _TITLE_YEAR.search(head)
    return int(match.group(1)) if match else None


def _resolve(mention: DateMention, years: YearContext, previous: date | None) -> date | None:
    year = mention.year if mention.year is not None else years.year_for(mention, previous)
    return mention.on(year) if year is not None else None


def _span(first: DateMention, last: DateMention, years: YearContext) -> tuple[date, date] | None:
    start = _resolve(first, years, None)
    if start is None:
        return None
    end = _resolve(last, years, start)
    return (start, end) if end is not None and end >= start else None


@dataclass(frozen=True)
class Phase:
    """A named stage of the campaign with its dates: 集中整治 2016-12-11 .. 2017-02-15."""

    label: str
    start: date
    end: date


def find_phases(text: str, years: YearContext) -> list[Phase]:
    """Stages written as a heading and a bracketed range: (二)集中整治阶段(7月1日—9月30日)."""
    phases: list[Phase] = []
    for group in find_groups(text):
        named = _NAMED_AFTER.match(text, group.end)
        if named is not None and group.items[0].last is not None:
            # 其中4月20日至9月30日为集中行动期
            span = _span(group.items[0].first, group.items[0].last, years)
            if span is not None:
                phases.append(Phase(named.group("label"), *span))
            continue
        line_start = text.rfind("\n", 0, group.start) + 1
        label = _PHASE_HEAD.fullmatch(text, line_start, group.start)
        if label is None or _SUBMISSION.search(label.group("label")):
            continue
        for item in group.items:
            if item.last is not None:
                span = _span(item.first, item.last, years)
                if span is not None:
                    phases.append(Phase(label.group("label").strip('“”" '), *span))
                break
    return phases


def find_campaign(text: str, years: YearContext, phases: list[Phase]) -> tuple[date, date] | None:
    """The campaign's own period: stated outright, else the span of its phases."""
    for start, end in sentences(text):
        if _SUBMISSION.search(text, start, end) or "阶段" in text[start:end]:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if _PHASE_HEAD.match(text, line_start, end):
            continue
        if not (_CAMPAIGN_WORDS.search(text, start, end) or _under_time_heading(text, start)):
            continue
        mentions = find_mentions(text, start, end)
        for first, last in itertools.pairwise(mentions):
            if _OPEN_CLOSE.fullmatch(text, first.end, last.start):
                span = _span(first, last, years)
                if span is not None:
                    return span
    if phases:
        return min(p.start for p in phases), max(p.end for p in phases)
    return None


def _under_time_heading(text: str, start: int) -> bool:
    """Is this sentence the body of a heading such as 一、活动时间?"""
    previous_end = text.rfind("\n", 0, start)
    if previous_end < 0:
        return False
    previous_start = text.rfind("\n", 0, previous_end) + 1
    heading = text[previous_start:previous_end].strip()
    return len(heading) <= 20 and _TIME_HEADING.search(heading) is not None


# A title naming a report on past work, not a notice or plan that sets tasks.
_REPORT_TITLE = re.compile(r"总结|汇报|情况报告|述职报告|工作报告|工作回顾|综述|的报告$")
_NOTICE_TITLE = re.compile(
    r"通知|方案|意见|办法|函|要点|安排|计划|细则|规定|公告|通告|报送|上报|提交|要求"
)
_NEWS_MARK = re.compile(
    r"供稿\)|通讯员|本报讯|本网讯|本台讯|记者\s*\S{2,4}\s*(?:报道|摄)|^\S{2,12}讯\s*[(\s]",
    re.MULTILINE,
)


def is_narrative(text: str) -> bool:
    """A year-end summary or a news story: it narrates reporting done, it sets none."""
    # A title is a short line that does not end a sentence.
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and len(line.strip()) <= 60 and not line.strip().endswith(("。", ";"))
    ]
    # The title is the first of the opening lines that names a kind of document.
    title = next(
        (line for line in lines[:3] if _REPORT_TITLE.search(line) or _NOTICE_TITLE.search(line)),
        None,
    )
    if title is not None and not _NOTICE_TITLE.search(title):
        return True
    return _NEWS_MARK.search(text) is not None


_TITLE_LINE = re.compile(r"关于|通知|方案")
_ISSUE_OF = re.compile(
    r"关于(?:印发|转发|下发|发布)\s*(?:《(?P<quoted>[^《》\n]{2,60})》|(?P<bare>.{2,60}?))\s*的通知"
)
_ISSUER_BEFORE = re.compile(r"^\s*(?P<org>[^\s,。:;《》“”]{2,30}?)\s*关于")
_ISSUER_LABEL = re.compile(
    r"(?:发文机关|发布机构|发文单位|来源|发布单位)\s*:\s*(?P<org>[^\s,。;|]{2,30})"
)
_ORG_NAME = re.compile(
    r"(?:局|办|办公室|中心|委员会|委|厅|政府|学区|大队|支队|指挥部|领导小组|专班|公司|院|所|站)$"
)


@dataclass(frozen=True)
class Heading:
    """What the notice says about itself: the campaign's name and who issued it."""

    name: str | None
    issuer: str | None


def find_heading(text: str) -> Heading:
    """The campaign name (the 《…》 in 关于印发《…》的通知) and the issuing office (the
    issuer line, the 落款 above the date, or the body named before 关于 in the title)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = next((line for line in lines[:6] if _TITLE_LINE.search(line)), None)
    name = None
    issuer = None
    if title is not None:
        issue = _ISSUE_OF.search(title)
        if issue is not None:
            name = (issue.group("quoted") or issue.group("bare")).strip()
        before = _ISSUER_BEFORE.match(title)
        if before is not None and _ORG_NAME.search(before.group("org")):
            issuer = before.group("org")
    label = _ISSUER_LABEL.search(text[:600])
    if label is not None and _ORG_NAME.search(label.group("org")):
        issuer = label.group("org")
    return Heading(name, issuer or _signature(text))


def _signature(text: str) -> str | None:
    """落款: the office on the line just above a line that holds only a full date."""
    for line in _DATE_LINE.finditer(text):
        above_end = text.rfind("\n", 0, line.start())
        if above_end < 0:
            continue
        above = text[text.rfind("\n", 0, above_end) + 1 : above_end].strip()
        if 2 <= len(above) <= 30 and _ORG_NAME.search(above) and not _TITLE_LINE.search(above):
            return above
    return None
