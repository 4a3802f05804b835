"""Coordinators create a campaign from the chat: send the notice (.docx/.txt) or paste it,
review the deadlines found (each with its source sentence), drop or fix items, name the
units, confirm: the new campaign gets an id no other has. A plan file (.toml) sent as a
document is checked and loaded; over an existing campaign it is a revision, applied only
once its coordinator confirms the difference shown. An .xlsx is the workbook a plan's
`[export]` names (its coordinator's own template).

The review in progress is a half-done step in the database: a restart or a second process
continues it where it was.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any

from conversation import coordinator, liaison, slow
from conversation.codec import decode, encode
from conversation.events import FileArrived, Press, Text
from conversation.i18n import plan_error_text
from conversation.notices import (
    NOTICE_LIMITS,
    NoticeError,
    NoticeRead,
    read_notice,
)
from conversation.replies import Sent
from conversation.revisions import revision_text
from conversation.slow import SlowJob, report, still_coordinator, tell
from conversation.turn import Turn, callback, parse_callback
from domain.extract import ExtractedObligation, Extraction, Kind
from domain.extract.model import Period
from domain.plan_draft import DraftOptions, draft_plan
from domain.plan_revision import new_campaign_id
from domain.plan_toml import PlanError
from services.export import TEMPLATE_MAX_BYTES
from services.jobs import JobFailed
from services.plans import Decided, Decision, LoadReport, NotYours, PendingState, RevisionConflict
from services.reports import upload_matches

_KEY = "notice_review"
_PASTE = "notice_paste"
_PASTED = "notice"  # the stem a pasted notice goes by: says nothing about the campaign
MAX_NOTICE_BYTES = 2 * 1024 * 1024
_FIX = re.compile(
    r"^\s*(\d{1,2})\s*(日期|时间|名称|date|time|title)\s*[::]?\s*(.+?)\s*$", re.IGNORECASE
)
_UNIT_SPLIT = re.compile(r"[\n、,,;;]+")


@dataclass
class Review:
    name: str
    title: str
    doc_date: date | None
    items: list[ExtractedObligation]
    awaiting_units: bool = False
    dropped: set[int] = field(default_factory=set)

    def kept(self) -> list[ExtractedObligation]:
        return [ob for i, ob in enumerate(self.items) if i not in self.dropped]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "doc_date": encode(self.doc_date),
            "items": encode(self.items),
            "awaiting_units": self.awaiting_units,
            "dropped": sorted(self.dropped),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Review:
        items = []
        for fields in decode(data["items"]):
            fields["kind"] = Kind(fields["kind"])
            if isinstance(fields.get("period"), dict):
                fields["period"] = Period(**fields["period"])
            items.append(ExtractedObligation(**fields))
        return cls(
            data["name"],
            data["title"],
            decode(data["doc_date"]),
            items,
            bool(data["awaiting_units"]),
            set(data["dropped"]),
        )


async def _saved_review(t: Turn) -> Review | None:
    stored = await t.services.steps.get(t.actor.person_id, _KEY)
    return Review.from_json(stored) if stored is not None else None


async def _save(t: Turn, review: Review) -> None:
    await t.services.steps.put(t.actor.person_id, _KEY, review.to_json(), t.now)


def _describe(t: Turn, ob: ExtractedObligation) -> str:
    when = {
        Kind.ONCE: ob.date.isoformat() if ob.date else (ob.month_day or "?"),
        Kind.WEEKLY: t.t("notice.weekly", weekday="一二三四五六日"[(ob.weekday or 1) - 1]),
        Kind.DAILY: "~".join(d.isoformat() for d in ob.window or () if d) or "?",
        Kind.MONTHLY: t.t(
            "notice.monthly",
            day=t.t("notice.month_end") if ob.day_of_month == -1 else ob.day_of_month,
        ),
        Kind.RELATIVE_WORKDAYS: t.t("notice.relative_workdays", n=ob.offset),
        Kind.RELATIVE_DAYS: t.t("notice.relative_days", n=ob.offset),
    }.get(ob.kind, ob.kind.value)
    return f"{ob.what or '?'} — {when}" + (f" {ob.time}" if ob.time else "")


def _render(t: Turn, review: Review) -> tuple[str, list[list[tuple[str, str]]]]:
    lines = [t.t("notice.found", title=review.title, count=len(review.kept()))]
    drops: list[tuple[str, str]] = []
    for i, ob in enumerate(review.items):
        if i in review.dropped:
            continue
        lines.append(f"{i + 1}. {_describe(t, ob)}\n   {t.t('notice.quote', quote=ob.quote)}")
        drops.append((t.t("notice.drop", n=i + 1), callback("nd", i)))
    lines.append(t.t("notice.how_to_fix"))
    buttons = [drops[i : i + 4] for i in range(0, len(drops), 4)]
    buttons.append(
        [(t.t("notice.next"), callback("nok", 0)), (t.t("button.cancel"), callback("nx", 0))]
    )
    return "\n".join(lines), buttons


async def new_plan(t: Turn) -> None:
    """/plan: the next text message is the notice (or send it as a file)."""
    if not t.actor.is_coordinator:
        await liaison.tasks(t)  # a liaison's /plan means nothing else
        return
    await coordinator.abandon_review(t)  # the pasted notice must not become a 退回 reason
    await t.services.steps.put(t.actor.person_id, _PASTE, {}, t.now)
    await t.say(t.t("notice.send_it"))


async def on_document(t: Turn, file: FileArrived, data: bytes | None = None) -> None:
    """A .docx/.txt/.toml/.xlsx file: a notice or plan from a coordinator, else a
    liaison's file (`data`: the bytes, when they were fetched already)."""
    if not t.actor.is_coordinator or t.actor.unit_seats or file.is_picture:
        await liaison.on_file(t, file)
        return
    name = file.name or "notice.txt"
    workbook = name.lower().endswith(".xlsx")
    limit = TEMPLATE_MAX_BYTES if workbook else MAX_NOTICE_BYTES
    if file.size and file.size > limit:
        await t.say(t.t("problem.file_too_large", max_mb=limit // 1024 // 1024))
        return
    if data is None:
        data = await file.fetch()
    if not upload_matches(name, data):  # e.g. an .exe renamed notice.docx
        await t.say(t.t("upload.file_content", name=name))
        return
    if workbook:
        await _attach_template(t, data, name)
        return
    if name.lower().endswith(".toml"):
        await _load_plan_file(t, data, name)
        return
    await _read_later(t, data, name, name.rsplit(".", 1)[0])


async def _attach_template(t: Turn, data: bytes, name: str) -> None:
    """An .xlsx from a coordinator: the workbook a plan's `[export]` names, stored so that
    /export fills it."""
    attached = await t.services.plans.attach_template(t.actor, name, data, t.now)
    if attached.problem is not None:
        problem = t.t(f"export.{attached.problem.code}", **attached.problem.params)
        await t.say(t.t("template.refused", file=name, problem=problem))
    elif not attached.campaigns:
        await t.say(t.t("template.not_named", file=name))
    else:
        await t.say(t.t("template.stored", file=name, campaigns="、".join(attached.campaigns)))


async def on_pasted_text(t: Turn, message: Text) -> bool:
    """Text while a review is open (a fix, or the unit list) or after /plan. True if used."""
    if not t.actor.is_coordinator:
        return False
    text = message.text
    steps, person = t.services.steps, t.actor.person_id
    if await steps.get(person, _PASTE) is not None:
        # The notice's job is stored before the paste is consumed (a person's texts come
        # one at a time): a worker dying between the two makes the rerun read it twice,
        # never lose it.
        await _start_review(t, text, _PASTED)
        await steps.take(person, _PASTE)
        return True
    review = await _saved_review(t)
    if review is None:
        return False
    if review.awaiting_units:
        await _create(t, review, text)
        return True
    fix = _FIX.match(text)
    if fix is None:
        await t.say(t.t("notice.how_to_fix"))
        return True
    await _fix(t, review, int(fix.group(1)) - 1, fix.group(2).lower(), fix.group(3))
    return True


async def _start_review(t: Turn, text: str, stem: str) -> None:
    await _read_later(t, text, stem, stem)


async def _read_later(t: Turn, data: bytes | str, name: str, stem: str) -> None:
    """The notice is read by a slow job, in a worker process, so that a huge or crafted
    file stalls no chat; its review comes when it is read."""
    notice = {"text": data} if isinstance(data, str) else {"b64": base64.b64encode(data).decode()}
    await slow.start(
        t, "notice", t.t("notice.reading"), data={**notice, "name": name, "stem": stem}
    )


async def finish_reading(t: Turn, job: SlowJob, progress: Sent | None) -> None:
    """In a slow worker: read the notice (in a process of its own, with limits) and show
    the deadlines found for review; why not, where it cannot be read."""
    if not await still_coordinator(t, progress):
        return
    found = job.data
    data: bytes | str = found["text"] if "text" in found else base64.b64decode(found["b64"])
    try:
        read = await t.services.jobs.run(
            read_notice, data, str(found["name"]), limits=NOTICE_LIMITS
        )
    except NoticeError as exc:
        await report(t, progress, t.t(f"notice.{exc}", **exc.params))
        return
    except JobFailed as exc:
        text = t.t(
            f"notice.failed_{exc.failure}",
            max_mb=NOTICE_LIMITS.memory_mb,
            seconds=round(NOTICE_LIMITS.seconds),
        )
        await report(t, progress, text)
        return
    if not read.extraction.obligations:
        await report(t, progress, t.t("notice.none_found"))
        return
    await tell(progress, t.t("notice.read_done"))
    await _review(t, read, str(found["stem"]))


async def _review(t: Turn, read: NoticeRead, stem: str) -> None:
    extraction = read.extraction
    if not extraction.obligations:
        await t.say(t.t("notice.none_found"))
        return
    review = Review(stem, read.title or stem, extraction.doc_date, list(extraction.obligations))
    await _save(t, review)
    await t.say(*_render(t, review))


async def _fix(t: Turn, review: Review, index: int, what: str, value: str) -> None:
    if not 0 <= index < len(review.items) or index in review.dropped:
        await t.say(t.t("notice.no_such_item"))
        return
    ob = review.items[index]
    try:
        if what in ("日期", "date"):
            day = date.fromisoformat(value.replace("/", "-"))
            ob = replace(
                ob,
                kind=Kind.ONCE,
                date=day,
                month_day=day.strftime("%m-%d"),
                window=None,
                weekday=None,
                day_of_month=None,
                offset=None,
            )
        elif what in ("时间", "time"):
            ob = replace(ob, time=time.fromisoformat(value).strftime("%H:%M"))
        else:
            ob = replace(ob, what=value[:100])
    except ValueError:
        await t.say(t.t("notice.bad_fix"))
        return
    review.items[index] = ob
    await _save(t, review)
    await t.say(*_render(t, review))


async def on_button(t: Turn, press: Press) -> None:
    await t.ack()
    if not t.actor.is_coordinator:
        return
    payload = parse_callback(press.data)
    review = await _saved_review(t)
    if payload is None or review is None:
        await t.say(t.t("problem.stale"))
        return
    match payload.prefix:
        case "nd" if 0 <= payload.id < len(review.items):
            review.dropped.add(payload.id)
            if not review.kept():
                await t.services.steps.take(t.actor.person_id, _KEY)
                await t.edit_or_say(t.t("notice.cancelled"))
                return
            await _save(t, review)
            await t.edit_or_say(*_render(t, review))
        case "nok":
            review.awaiting_units = True
            await _save(t, review)
            await t.say(t.t("notice.ask_units"))
        case "nx":
            await t.services.steps.take(t.actor.person_id, _KEY)
            await t.edit_or_say(t.t("notice.cancelled"))
        case _:
            await t.say(t.t("problem.stale"))


async def _create(t: Turn, review: Review, unit_text: str) -> None:
    names = [n.strip() for n in _UNIT_SPLIT.split(unit_text) if n.strip()][:3000]
    if not names or any(len(n) > 100 for n in names):
        await t.say(t.t("notice.bad_units"))
        return
    units = tuple((f"u{i:03d}", name) for i, name in enumerate(dict.fromkeys(names), 1))
    extraction = Extraction(review.doc_date, tuple(review.kept()))
    stem = "" if review.name == _PASTED else review.name
    person = None if t.actor.global_coordinator else t.actor.person_id
    for _ in range(3):  # a new campaign never becomes a revision of one created meanwhile
        taken = set(await t.services.plans.campaign_codes())
        options = DraftOptions(
            campaign_id=new_campaign_id(stem, review.title, t.now.date(), taken),
            name=review.title,
            today=t.now.date(),
            units=units,
        )
        text = draft_plan(extraction, options)
        name = f"{options.campaign_id}.toml"
        try:
            report = await t.services.plans.load_text(
                text, name, t.now, person, expected_version=0
            )
        except RevisionConflict:
            continue
        if isinstance(report, PlanError):
            await t.say(plan_error_text(t.catalogue, report, t.language, source=name))
            return
        await t.services.steps.take(t.actor.person_id, _KEY)
        await _loaded(t, report, text, name)
        return
    await t.say(t.t("problem.stale"))


async def _load_plan_file(t: Turn, data: bytes, name: str) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        await t.say(t.t("notice.encoding"))
        return
    sent = await t.services.plans.send_plan(t.actor, text, name, t.now)
    if isinstance(sent, PlanError):
        await t.say(plan_error_text(t.catalogue, sent, t.language, source=name))
    elif isinstance(sent, NotYours):
        await t.say(t.t("notice.not_yours", campaign=sent.campaign))
    elif isinstance(sent, LoadReport):
        await _loaded(t, sent, text, name)
    else:  # over an existing campaign: nothing changes before the coordinator confirms
        lines = [
            revision_text(t.catalogue, sent.revision, t.language),
            t.t("revision.confirm_prompt"),
        ]
        buttons = [
            (t.t("revision.confirm"), callback("prv", sent.pending_id)),
            (t.t("button.cancel"), callback("prx", sent.pending_id)),
        ]
        await t.say("\n".join(lines), [buttons])


async def _loaded(t: Turn, report: LoadReport, text: str, name: str) -> None:
    """Say what the load did, and send the plan file back for later edits."""
    await t.say(_report_text(t, report))
    await t.document(text.encode("utf-8"), name, t.t("notice.plan_file"))


def _report_text(t: Turn, report: LoadReport) -> str:
    key = "load.unchanged" if report.unchanged else "load.done"
    lines = [t.t(key, **vars(report))]
    if report.template is not None and report.template_file:
        lines.append(t.t(f"load.template_{report.template}", file=report.template_file))
    lines.append(t.t("notice.next_steps", campaign=report.campaign))
    return "\n".join(lines)


async def on_revision_button(t: Turn, press: Press) -> None:
    """确认修改 / 取消 under a plan revision's difference: taken once, in the database."""
    await t.ack()
    if not t.actor.is_coordinator:
        return
    payload = parse_callback(press.data)
    if payload is None or payload.prefix not in ("prv", "prx"):
        await t.say(t.t("problem.stale"))
        return
    decided = await t.services.plans.decide(t.actor, payload.id, payload.prefix == "prv", t.now)
    text = _decided_text(t, decided)
    shown = press.shown_text
    if decided.outcome in (Decision.APPLIED, Decision.CANCELLED, Decision.STALE) and shown:
        await t.edit_or_say(f"{shown}\n\n{text}")  # the difference stays, the buttons go
    else:
        await t.say(text)


def _decided_text(t: Turn, decided: Decided) -> str:
    match decided.outcome:
        case Decision.APPLIED if decided.report is not None:
            return _report_text(t, decided.report)
        case Decision.CANCELLED:
            return t.t("revision.cancelled", campaign=decided.campaign)
        case Decision.ALREADY if decided.state is PendingState.APPLIED:
            return t.t("revision.already_applied")
        case Decision.ALREADY if decided.state is PendingState.CANCELLED:
            return t.t("revision.already_cancelled")
        case Decision.STALE | Decision.ALREADY:
            return t.t("revision.stale", campaign=decided.campaign, version=decided.version)
        case Decision.NOT_YOURS:
            return t.t("notice.not_yours", campaign=decided.campaign)
    return t.t("problem.stale")


async def on_unit_list(t: Turn, names: list[str]) -> bool:
    """A unit list (.xlsx 通讯录) sent while a review waits for the units: its names are the
    units, as if typed. False when no review is waiting for them."""
    review = await _saved_review(t)
    if review is None or not review.awaiting_units:
        return False
    await _create(t, review, "\n".join(names))
    return True
