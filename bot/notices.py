"""`cuibao plan extract`: read a notice (.txt or .docx), print what it asks for."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.i18n import Catalogue
from domain.extract import Extraction, extract_obligations, render_text
from domain.plan_draft import DraftOptions, campaign_id_for, draft_plan

TEXT_ENCODINGS = ("utf-8-sig", "gb18030")  # notices saved on Chinese Windows are often GBK


class NoticeError(Exception):
    """The file cannot be read as a notice; the message is for the user."""


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
    import io
    import zipfile

    from docx import Document

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


def first_title(text: str) -> str:
    """The notice's title: the first line that reads like one."""
    for line in text.splitlines():
        line = line.strip()
        if 6 <= len(line) <= 80 and ("通知" in line or "方案" in line):
            return line
    return next((x.strip() for x in text.splitlines() if x.strip()), "")[:80]


def extract_command(path: Path, *, as_json: bool, toml_out: Path | None, catalogue: Catalogue,
                    error: type[Exception]) -> int:
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
        print(render_text(extraction))
    if toml_out is not None:
        if not extraction.obligations:
            # A plan needs at least one obligation; an empty draft would only fail later.
            print(catalogue.text("notice.nothing_to_draft", path=str(toml_out)), file=sys.stderr)
            return 0
        toml_out.write_text(draft_for(extraction, text, path.stem), encoding="utf-8")
    return 0


def draft_for(extraction: Extraction, text: str, stem: str) -> str:
    title = first_title(text) or stem
    options = DraftOptions(campaign_id=campaign_id_for(stem), name=title,
                           today=datetime.now(UTC).date())
    return draft_plan(extraction, options)
