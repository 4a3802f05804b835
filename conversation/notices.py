"""Reading a notice (.txt or .docx): `cuibao plan extract` prints what it asks for; the chat
reads it within bounds, in a worker process (`read_notice`)."""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conversation.i18n import Catalogue
from domain.extract import ExtractedObligation, Extraction, Kind, extract_obligations
from domain.plan_draft import DraftNotes, DraftOptions, campaign_id_for, draft_plan
from services.jobs import Limits

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")  # notices saved on Chinese Windows are often GBK

# What a notice read in chat may be. Real notices are a few thousand characters and a few
# hundred paragraphs; past these bounds the reading is refused rather than left to run.
MAX_CHARACTERS = 200_000
MAX_PARAGRAPHS = 20_000
# The XML a .docx unpacks to, measured before python-docx parses it: a small zip of
# millions of empty paragraphs would otherwise take a gigabyte to build.
MAX_DOCX_XML_BYTES = 16 * 1024 * 1024
# The worker reading it: python-docx on a notice at the bounds stays well under this.
NOTICE_LIMITS = Limits(memory_mb=512, seconds=60.0)


class NoticeError(Exception):
    """The file cannot be read as a notice; the message (a key under `notice.`, with
    `params`) is for the user."""

    def __init__(self, code: str, **params: int) -> None:
        super().__init__(code)
        self.params = params

    def __reduce__(self) -> tuple[object, ...]:  # crosses from the worker process intact
        return _notice_error, (str(self), self.params)


def _notice_error(code: str, params: dict[str, int]) -> NoticeError:
    return NoticeError(code, **params)


@dataclass(frozen=True)
class NoticeRead:
    """A notice's title and what it asks for, as the chat review shows it."""

    title: str
    extraction: Extraction


def read_notice(data: bytes | str, name: str) -> NoticeRead:
    """Decode (unless pasted text), check the bounds, extract. CPU-heavy and blocking:
    the bot runs it in a worker process (services.jobs)."""
    text = data if isinstance(data, str) else notice_text(data, name)
    if len(text) > MAX_CHARACTERS:
        raise NoticeError("too_long", characters=len(text), max_characters=MAX_CHARACTERS)
    paragraphs = text.count("\n") + 1
    if paragraphs > MAX_PARAGRAPHS:
        raise NoticeError(
            "too_many_paragraphs", paragraphs=paragraphs, max_paragraphs=MAX_PARAGRAPHS
        )
    return NoticeRead(first_title(text), extract_obligations(text))


def notice_text(data: bytes, name: str) -> str:
    """The plain text of a notice file's bytes (.docx paragraphs and tables, or text)."""
    if name.lower().endswith(".docx"):
        return _docx_text(data)
    if name.lower().endswith(".doc"):
        raise NoticeError("doc")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise NoticeError("encoding")


def _docx_text(data: bytes) -> str:
    from docx import Document

    _check_docx_size(data)
    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise NoticeError("docx") from exc
    lines = [p.text for p in document.paragraphs]
    # Deadlines often sit in tables (报送时间 columns): read them row by row.
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(lines)


def _check_docx_size(data: bytes) -> None:
    """Refuse a .docx whose XML would unpack past MAX_DOCX_XML_BYTES or that holds more than
    MAX_PARAGRAPHS paragraphs, before python-docx builds it (the sizes the zip declares
    may lie: the bytes are counted as they are unpacked)."""
    unpacked = paragraphs = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = [i for i in archive.infolist() if i.filename.lower().endswith(".xml")]
            if sum(i.file_size for i in parts) <= MAX_DOCX_XML_BYTES:
                for info in parts:
                    with archive.open(info) as part:
                        xml = part.read(MAX_DOCX_XML_BYTES - unpacked + 1)
                    unpacked += len(xml)
                    if unpacked > MAX_DOCX_XML_BYTES:
                        break
                    if info.filename.startswith("word/"):
                        paragraphs += len(_PARAGRAPH.findall(xml))
            else:
                unpacked = MAX_DOCX_XML_BYTES + 1
    except (zipfile.BadZipFile, KeyError, ValueError, NotImplementedError, EOFError) as exc:
        raise NoticeError("docx") from exc
    if unpacked > MAX_DOCX_XML_BYTES:
        raise NoticeError("docx_too_large", max_mb=MAX_DOCX_XML_BYTES // 1024 // 1024)
    if paragraphs > MAX_PARAGRAPHS:
        raise NoticeError(
            "too_many_paragraphs", paragraphs=paragraphs, max_paragraphs=MAX_PARAGRAPHS
        )


_PARAGRAPH = re.compile(rb"<w:p[\s/>]")


def first_title(text: str) -> str:
    """The notice's title: the first line that reads like one."""
    for line in text.splitlines():
        line = line.strip()
        if 6 <= len(line) <= 80 and ("通知" in line or "方案" in line):
            return line
    return next((x.strip() for x in text.splitlines() if x.strip()), "")[:80]


def extract_command(
    path: Path,
    *,
    as_json: bool,
    toml_out: Path | None,
    catalogue: Catalogue,
    error: type[Exception],
) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        raise error(catalogue.text("cli.not_found", path=str(path))) from None
    try:
        text = notice_text(data, path.name)
    except NoticeError as exc:
        raise error(f"{path}: " + catalogue.text(f"notice.{exc}")) from None
    extraction = extract_obligations(text)
    if as_json:
        print(json.dumps(extraction.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_extraction(extraction, catalogue))
    if toml_out is not None:
        if not extraction.obligations:
            # A plan needs at least one obligation; an empty draft would only fail later.
            print(catalogue.text("notice.nothing_to_draft", path=str(toml_out)), file=sys.stderr)
            return 0
        toml_out.write_text(draft_for(extraction, text, path.stem, catalogue), encoding="utf-8")
    return 0


def draft_for(extraction: Extraction, text: str, stem: str, catalogue: Catalogue) -> str:
    title = first_title(text) or stem
    t = catalogue.text
    # The placeholders go through as they are: the draft fills them in per obligation.
    notes = DraftNotes(
        header=t("plan_draft.header"),
        assumed_issue=t("plan_draft.assumed_issue"),
        source=t("plan_draft.source", quote="{quote}"),
        not_converted=t("plan_draft.not_converted", kind="{kind}", quote="{quote}"),
    )
    options = DraftOptions(
        campaign_id=campaign_id_for(stem), name=title, today=datetime.now(UTC).date(), notes=notes
    )
    return draft_plan(extraction, options)


def render_extraction(extraction: Extraction, catalogue: Catalogue) -> str:
    """What `plan extract` prints: the issue date, then each obligation numbered, with its
    deadline in words, who reports to whom, and the sentence it comes from."""
    t = catalogue.text
    issued = extraction.doc_date
    lines = [
        t("extract.issued", date=issued.isoformat()) if issued else t("extract.issued_unknown"),
        t("extract.count", count=len(extraction.obligations)),
    ]
    for number, ob in enumerate(extraction.obligations, start=1):
        lines += [
            "",
            f"{number}. {describe_deadline(ob, catalogue)}  {ob.what or t('extract.unnamed')}",
        ]
        if ob.sender or ob.recipient:
            unknown = t("extract.not_stated")
            lines.append(f"   {ob.sender or unknown} → {ob.recipient or unknown}")
        lines.append("   " + t("notice.quote", quote=ob.quote))
    return "\n".join(lines)


def describe_deadline(ob: ExtractedObligation, catalogue: Catalogue) -> str:
    """The deadline in a few words: 2020-09-18前 15:00, 每周四 15:00, 下发之日起5个工作日内."""
    t = catalogue.text
    at = f" {ob.time}" if ob.time else ""
    window = ""
    if ob.window is not None:
        start, end = (d.isoformat() if d else "…" for d in ob.window)
        window = t("extract.window", start=start, end=end)
    match ob.kind:
        case Kind.ONCE if ob.date is not None:
            guessed = t("extract.year_inferred") if ob.year_inferred else ""
            return t("extract.once", date=ob.date.isoformat()) + at + guessed
        case Kind.ONCE:
            month, day = _month_day(ob.month_day)
            return t("extract.once_no_year", month=month, day=day) + at
        case Kind.DAILY:
            return t("extract.daily") + at + window
        case Kind.WEEKLY if ob.weekday:
            weekday = t("extract.weekdays").split(",")[ob.weekday - 1].strip()
            return t("extract.weekly", weekday=weekday) + at + window
        case Kind.WEEKLY:
            return t("extract.weekly_no_day") + at + window
        case Kind.MONTHLY | Kind.QUARTERLY:
            day = (
                t("extract.day_not_stated")
                if ob.day_of_month is None
                else t("extract.last_day")
                if ob.day_of_month == -1
                else t("extract.day", n=ob.day_of_month)
            )
            months = (
                t("extract.in_months", months=",".join(map(str, ob.months))) if ob.months else ""
            )
            return t(f"extract.{ob.kind.value}", day=day, months=months) + at + window
        case Kind.YEARLY if ob.month_day:
            month, day = _month_day(ob.month_day)
            return t("extract.yearly", month=month, day=day) + at
        case Kind.YEARLY:
            return t("extract.yearly_no_day") + at
    anchor = ob.anchor or t("extract.anchor_not_stated")
    return t(
        f"extract.within_{ob.kind.value.removeprefix('relative_')}", n=ob.offset, anchor=anchor
    )


def _month_day(month_day: str | None) -> tuple[str, str]:
    """'02-28' as ('2', '28'); '?' for what the notice leaves out."""
    parts = (month_day or "").split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return "?", "?"
    return str(int(parts[0])), str(int(parts[1]))
