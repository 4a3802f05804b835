"""Which dates and schedules in a sentence are submission deadlines, and the verb of each."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from domain.extract.clock import read_clock
from domain.extract.dates import DateGroup, find_groups
from domain.extract.model import Kind
from domain.extract.phrases import Verb, find_verbs, verb_at
from domain.extract.schedules import (
    WD,
    PeriodMention,
    Trigger,
    find_periods,
    find_schedules,
    overlaps,
)

# After the date or weekday: (星期五), (含当日), a clock time, then 前 / 之前 / 止.
_WEEKDAY_NOTE = re.compile(rf"\s*\(?(?:星期|周|礼拜){WD}\)?")
# (含当日), (正月初五), (遇节假日顺延): a short aside between a date and its 前.
_INCLUSIVE_NOTE = re.compile(r"\s*\([^()]{1,12}\)")
_BEFORE = re.compile(r"\s*(?:之前|以前|前|为止|截止|止)")
_AFTER_YU = re.compile(r"\s*,?\s*(?:将|把|向|通过|统一|以|按照|按|由|报|前|集中)")
_YU_BEFORE = re.compile(r"(?:于|在)\s*$")
# What makes a date a start, an as-of point or a phase rather than a deadline.
_START_BEFORE = re.compile(r"(?:自|从|由)\s*$")
_START_AFTER = re.compile(r"\s*(?:起|开始|以来|以后|后|至今|之后)")
_AS_OF_BEFORE = re.compile(r"截至\s*$|截止到\s*$|截止至\s*$")
# 已于3月20日前上报 narrates a deadline that has been met.
_DONE_BEFORE = re.compile(r"已经?(?:按时|按期|如期|按要求)?(?:于|在)?\s*$")
_PHASE_BEFORE = re.compile(r"(?:阶段|时间|期间|时段)\s*[(:]?\s*$|阶段[^,。;()]{0,12}[(:]\s*$")
# 县局将于 / 定于 / 拟于 announce what the issuer itself will do, not what units must send.
_ISSUER_PLAN_BEFORE = re.compile(r"(?:将于|将在|定于|拟于|拟在)\s*$")
# 报送截至3月15日: the verb right before 截至 makes it a deadline, not an as-of point.
_VERB_AS_OF_BEFORE = re.compile(
    r"(?:报送|上报|提交|填报|反馈)(?:时间)?\s*(?:截至|截止到|截止至)\s*$"
)
_LABEL_BEFORE = re.compile(
    r"(?<![日周月季年旬通公预举情简快])(?P<verb>报送|上报|提交|报|反馈|填报|申报|截止)(?:材料|资料|信息|的)?(?:截止)?"
    r"(?:时间|时限|日期|期限)"
    r"\s*(?:分别)?\s*(?:为|是|:)?\s*(?:分别)?\s*(?:在|于|截至|截止到|截止至)?\s*$"
)
# Between a schedule and its verb these turn the sentence into the issuer's own action:
# 每季度通报各地数据报送情况 publishes, it does not submit.
_DOWNWARD = re.compile(r"通报|公示|公布|公开|曝光|下发|印发|转发")
_VERB_BRACKET_BEFORE = re.compile(r"\(\s*$")
_STRICT_REACH = 25
_REACH = 70


@dataclass(frozen=True)
class Tail:
    time: str | None
    end: int
    marked: bool


def deadline_tail(text: str, pos: int) -> Tail:
    """Read what may follow a date or weekday: a weekday note, a clock time and 前."""
    for note in (_WEEKDAY_NOTE, _INCLUSIVE_NOTE):
        match = note.match(text, pos)
        if match:
            pos = match.end()
    clock = read_clock(text, pos)
    pos = clock.end
    before = _BEFORE.match(text, pos)
    if before:
        pos = before.end()
        inclusive = _INCLUSIVE_NOTE.match(text, pos)
        pos = inclusive.end() if inclusive else pos
    return Tail(clock.time, pos, before is not None)


def _is_deadline(text: str, start: int, tail: Tail, floor: int) -> bool:
    if tail.marked:
        return True
    rest = tail.end
    while rest < len(text) and text[rest] == " ":
        rest += 1
    if verb_at(text, rest) is not None:
        return True
    return bool(_YU_BEFORE.search(text, floor, start) and _AFTER_YU.match(text, tail.end))


def _with_tail(text: str, trigger: Trigger, floor: int) -> Trigger | None:
    """Attach clock time and decide if the trigger is a deadline; None if it is not."""
    tail = deadline_tail(text, trigger.end)
    if trigger.strict:
        return replace(trigger, time=tail.time, end=tail.end)
    # 季度结束后10日内 / 每月前5个工作日内 carry their own "by" in 内.
    marked = (
        trigger.marked
        or text[trigger.end - 1] == "内"
        or _is_deadline(text, trigger.start, tail, floor)
    )
    if not marked:
        return None
    return replace(trigger, time=tail.time, end=tail.end, marked=True)


def _date_trigger(text: str, group: DateGroup, floor: int) -> Trigger | None:
    lo, hi = max(floor, group.start - 12), group.start
    tail = deadline_tail(text, group.end)

    def before(pattern: re.Pattern[str]) -> bool:
        # Searching the text itself (not a slice) lets look-behinds see past the window.
        return pattern.search(text, lo, hi) is not None

    if before(_DONE_BEFORE):
        return None
    if before(_START_BEFORE) or _START_AFTER.match(text, tail.end):
        return None
    if before(_LABEL_BEFORE) or before(_VERB_AS_OF_BEFORE):
        return Trigger(Kind.ONCE, group.start, tail.end, time=tail.time, group=group, marked=True)
    if before(_ISSUER_PLAN_BEFORE) or before(_PHASE_BEFORE):
        return None
    if before(_AS_OF_BEFORE) and not tail.marked:
        return None
    if _is_deadline(text, group.start, tail, floor):
        return Trigger(Kind.ONCE, group.start, tail.end, time=tail.time, group=group, marked=True)
    return None


@dataclass(frozen=True)
class SentenceFindings:
    """Triggers in a sentence, plus the dates in it that were not deadlines themselves."""

    triggers: tuple[Trigger, ...]
    other_groups: tuple[DateGroup, ...]
    periods: tuple[PeriodMention, ...]


def find_triggers(
    text: str, start: int, end: int, cadence: Kind | None = None
) -> SentenceFindings:
    """All candidate deadlines in the sentence text[start:end], in reading order; `cadence`
    is the recurrence an earlier sentence of the passage set (每月4日前…;…8日前报送)."""
    periods = find_periods(text, start, end)
    taken = [(p.start, p.end) for p in periods]
    triggers: list[Trigger] = []
    for trigger in find_schedules(text, start, end, taken, cadence):
        checked = _with_tail(text, trigger, start)
        if checked is not None:
            triggers.append(checked)
    others: list[DateGroup] = []
    for group in find_groups(text, start, end):
        if overlaps(taken, group.start, group.end):
            continue
        date_trigger = _date_trigger(text, group, start)
        if date_trigger is None:
            others.append(group)
        else:
            triggers.append(date_trigger)
    triggers.sort(key=lambda t: t.start)
    return SentenceFindings(tuple(triggers), tuple(others), tuple(periods))


def linked_verb(text: str, trigger: Trigger, bound: int, floor: int) -> Verb | None:
    """The submission verb a trigger governs: after it, or a label or bracket just before it."""
    if trigger.strict:
        clause = re.search(r"[,;。]", text[trigger.end : bound])
        bound = min(bound, trigger.end + _STRICT_REACH)
        if clause:
            bound = min(bound, trigger.end + clause.start())
    else:
        bound = min(bound, trigger.end + _REACH)
    verbs = find_verbs(text, trigger.end, bound)
    if verbs:
        if _DOWNWARD.search(text, trigger.end, verbs[0].start):
            return None
        return verbs[0]
    before_start = max(floor, trigger.start - 30)
    label = _LABEL_BEFORE.search(text, before_start, trigger.start)
    if label is not None and label.group("verb") != "截止":
        return Verb(label.start("verb"), label.end("verb"))
    as_of = _VERB_AS_OF_BEFORE.search(text, before_start, trigger.start)
    if as_of is not None:
        return Verb(as_of.start(), as_of.start() + 2)
    if label is not None or _VERB_BRACKET_BEFORE.search(text, before_start, trigger.start):
        earlier = find_verbs(text, floor, trigger.start)
        if earlier:
            return earlier[-1]
    return None
