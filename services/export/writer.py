"""The worker thread that writes the workbook (and the attachments archive) from the
streamed rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from domain.forms import Field, FieldType, Form
from domain.status import LatestSubmission, RevisionStatus, State, due_for, state_of
from services.export.cells import (
    Cumulative,
    as_written,
    field_readers,
    kind_of,
    number_format,
)
from services.export.layout import DeadlineColumn, Layout, ObligationSheet, UnitLine
from services.export.model import ExportSummary
from services.export.queries import GridRow, Groups, LoopFeed, SheetRow
from storage.archive import FileArchive, safe_component, unique_names
from storage.filestore import FileStore
from storage.spreadsheets import (
    CellValue,
    Column,
    ExportBook,
    Kind,
    Mark,
    SheetSpec,
    SheetWriter,
    Tone,
    display_width,
)


class Writer:
    def __init__(self, layout: Layout, files: FileStore, archive: Path | None) -> None:
        self.layout = layout
        self.labels = layout.labels
        self.files = files
        self.archive_path = archive
        self.submissions = 0
        self._marks: dict[tuple[State, bool], Mark] = {}
        self.archived = 0
        self.missing_files = 0
        self.answered: set[int] = set()  # deadlines with a newest revision, from 提交情况
        unit_width = max((display_width(u.name) for u in layout.units), default=8)
        self.unit_column = Column(self.labels.unit, Kind.TEXT, float(min(unit_width + 2, 40)))
        self.group_column = Column(self.labels.group, Kind.TEXT)

    def _unit_columns(self) -> list[Column]:
        return [self.unit_column, self.group_column] if self.layout.groups else [self.unit_column]

    def _unit_cells(self, unit: UnitLine) -> list[CellValue]:
        return [unit.name, unit.group] if self.layout.groups else [unit.name]

    def _notes(self, *extra: str) -> tuple[str, ...]:
        return (self.labels.exported, *extra)

    def _spec(
        self,
        name: str,
        notes: tuple[str, ...],
        columns: list[Column],
        bands: tuple[tuple[str | None, ...], ...] = (),
    ) -> SheetSpec:
        """A sheet as printed: the issuing office above, page numbers below."""
        layout = self.layout
        return SheetSpec(
            name,
            self.labels.title,
            notes,
            tuple(columns),
            bands,
            freeze_columns=len(self._unit_columns()),
            issuer=layout.office,
            page_numbers=layout.t("export.page_numbers"),
        )

    def _sign(self, sheet: SheetWriter) -> None:
        sheet.sign(self.layout.t("export.signature", day=f"{self.layout.now:%Y-%m-%d}"))

    def run(
        self,
        grid_rows: LoopFeed[GridRow],
        sheet_rows: LoopFeed[SheetRow],
        sink: Path | IO[bytes],
    ) -> ExportSummary:
        with ExportBook() as book:
            with contextlib.closing(grid_rows.rows()) as rows:
                self._grid(book, rows)
            cumulative = [Cumulative(o) for o, _, _ in self.layout.sheets if o.numeric]
            totals_sheet = self._open_totals(book, cumulative)
            archive = FileArchive(self.archive_path) if self.archive_path else None
            try:
                with contextlib.closing(sheet_rows.rows()) as rows:
                    self._obligation_sheets(
                        book, rows, {c.obligation.id: c for c in cumulative}, archive
                    )
                self._write_totals(totals_sheet, cumulative)
                book.save(sink)
                if archive is not None and isinstance(sink, Path):
                    archive.add(sink, [], sink.name)
            finally:
                if archive is not None:
                    archive.close()
        layout = self.layout
        name = layout.t(
            "export.chat_file_name", campaign=layout.campaign_name, day=f"{layout.now:%Y-%m-%d}"
        )
        return ExportSummary(
            layout.campaign_code,
            layout.campaign_name,
            safe_component(name),
            len(layout.units),
            len(layout.grid),
            self.submissions,
            tuple(book.sheet_names),
            self.archived,
            self.missing_files,
            self.archive_path,
        )

    # -- 提交情况 --

    def _grid(self, book: ExportBook, rows: Iterator[GridRow]) -> None:
        layout, labels = self.layout, self.labels
        grid = layout.grid
        lead = self._unit_columns()
        columns = [
            *lead,
            *(Column(f"{d.local:%Y-%m-%d}\n{d.local:%H:%M}", Kind.STATUS, 15) for d in grid),
            Column(labels.missed, Kind.NUMBER),
            Column(labels.late_count, Kind.NUMBER),
        ]
        band: tuple[str | None, ...] = (
            *[None] * len(lead),
            *(layout.title(d) for d in grid),
            None,
            None,
        )
        sheet = book.sheet(
            self._spec(
                layout.t("export.sheet_status"),
                self._notes(layout.t("export.status_note")),
                columns,
                (band,),
            )
        )
        counts = [[0] * 6 for _ in grid]
        groups = Groups(rows, by_unit, {u.id: i for i, u in enumerate(layout.units)})
        not_expected = Mark(labels.not_expected, Tone.NOT_EXPECTED)
        missing = Mark(labels.missing, Tone.MISSING)
        now, tz = layout.now_utc, layout.tz
        for unit in layout.units:
            found = {r.deadline_id: r for r in groups.take(unit.id)}
            cells: list[CellValue] = self._unit_cells(unit)
            missed = late_count = 0
            for i, d in enumerate(grid):
                if not d.obligation.applies(unit):
                    cells.append(not_expected)
                    continue
                tally = counts[i]
                row = found.get(d.id)
                override = layout.overrides.get((d.id, unit.id))
                if row is None:
                    state = state_of(d.due, None, now, override)
                    if state is State.EXEMPT:  # not expected to report: not counted
                        cells.append(self._state_mark(state, False))
                        continue
                    tally[0] += 1
                    own = due_for(d.due, override)
                    if state is State.OVERDUE:
                        tally[5] += 1
                        missed += 1
                        cells.append(missing)
                    elif own is not None and own != d.due:
                        cells.append(f"{labels.extended} {own.astimezone(tz):%m-%d %H:%M}")
                    else:
                        cells.append(None)
                    continue
                tally[0] += 1
                self.submissions += 1
                self.answered.add(d.id)
                status, nil, at = row.status, row.nil, row.submitted_at
                state = state_of(
                    d.due,
                    LatestSubmission(at, status == RevisionStatus.RETURNED, nil, 0),
                    now,
                    override,
                )
                text = f"{at.astimezone(tz):%m-%d %H:%M}"
                if state is State.RETURNED:
                    tally[4] += 1
                    cells.append(Mark(f"{text} {labels.returned}", Tone.RETURNED))
                    continue
                tally[1] += 1
                if nil:
                    tally[3] += 1
                    text = f"{text} {labels.nil}"
                if state is State.LATE:
                    tally[2] += 1
                    late_count += 1
                    cells.append(Mark(f"{text} {labels.late}", Tone.LATE))
                else:
                    cells.append(Mark(text, Tone.NIL) if nil else text)
            cells += [missed, late_count]
            sheet.row(cells)
        pad: list[CellValue] = [None] * (len(lead) - 1)
        sheet.keep_together(len(labels.counts))
        for k, label in enumerate(labels.counts):
            sheet.total([label, *pad, *(c[k] for c in counts), None, None])
        self._sign(sheet)

    # -- 累计 --

    def _open_totals(self, book: ExportBook, cumulative: list[Cumulative]) -> SheetWriter:
        layout, labels = self.layout, self.labels
        lead = self._unit_columns()
        columns = list(lead)
        band: list[str | None] = [None] * len(lead)
        for c in cumulative:
            columns.append(Column(labels.reports, Kind.NUMBER))
            band.append(c.obligation.title)  # over the obligation's columns, merged
            fixed = [col.header for col in (*lead, columns[-1])]
            numeric = c.obligation.numeric
            for header, f in zip(field_headers(layout, fixed, numeric), numeric, strict=True):
                columns.append(Column(header, Kind.NUMBER, number_format=number_format(f)))
                band.append("")
        until = (
            layout.cutoff.astimezone(layout.tz).replace(tzinfo=None)
            if layout.cutoff
            else layout.now
        )
        note = layout.t("export.cumulative_note", when=f"{until:%Y-%m-%d %H:%M}")
        if not cumulative:
            note = layout.t("export.cumulative_none")
        return book.sheet(
            self._spec(layout.t("export.sheet_total"), self._notes(note), columns, (tuple(band),))
        )

    def _write_totals(self, sheet: SheetWriter, cumulative: list[Cumulative]) -> None:
        overall = [[Decimal(0)] * len(c.obligation.numeric) for c in cumulative]
        reports = [0] * len(cumulative)
        for unit in self.layout.units:
            cells = self._unit_cells(unit)
            for k, c in enumerate(cumulative):
                fields = c.obligation.numeric
                if not c.obligation.applies(unit):
                    cells += [None] * (1 + len(fields))
                    continue
                sums = c.per_unit.get(unit.id, [Decimal(0)] * len(fields))
                count = c.reports.get(unit.id, 0)
                reports[k] += count
                cells.append(count)
                for i, f in enumerate(fields):
                    overall[k][i] += sums[i]
                    cells.append(as_written(f, sums[i]))
            sheet.row(cells)
        total: list[CellValue] = [self.labels.total] + [None] * (len(self._unit_columns()) - 1)
        for k, c in enumerate(cumulative):
            total.append(reports[k])
            total += [
                as_written(f, s) for f, s in zip(c.obligation.numeric, overall[k], strict=True)
            ]
        sheet.total(total)
        self._sign(sheet)

    # -- one sheet per obligation --

    def _obligation_sheets(
        self,
        book: ExportBook,
        rows: Iterator[SheetRow],
        cumulative: dict[int, Cumulative],
        archive: FileArchive | None,
    ) -> None:
        layout = self.layout
        rank = {d.id: i for i, d in enumerate(d for _, c, _ in layout.sheets for d in c)}
        groups = Groups(rows, by_deadline, rank)
        unit_folders = dict(
            zip(
                (u.id for u in layout.units),
                unique_names([u.name for u in layout.units]),
                strict=True,
            )
        )
        for obligation, covered, chosen in layout.sheets:
            # A period not yet due and not answered has nothing to print but 未提交 and
            # a 合计 of 0.
            shown = {d.id for d in covered if d.id in chosen and layout.listed(d, self.answered)}
            later = sum(1 for d in covered if d.id in chosen and d.id not in shown)
            listed = [d for d in covered if d.id in shown]
            sheet = self._open_obligation(book, obligation, listed)
            lines = 1 + sum(1 for u in layout.units if obligation.applies(u))  # and 合计
            total = cumulative.get(obligation.id)
            folders = dict(
                zip(
                    (d.id for d in covered),
                    unique_names([self._folder(d) for d in covered]),
                    strict=True,
                )
            )
            for d in covered:
                found: dict[int, tuple[SheetRow, list[SheetRow]]] = {}
                for r in groups.take(d.id):
                    entry = found.setdefault(r.unit_id, (r, []))
                    if r.storage_key is not None:
                        entry[1].append(r)
                if d.id in shown:
                    sheet.keep_together(lines, self._block_title(d) if len(shown) > 1 else None)
                self._block(sheet, d, found, total, d.id in shown, len(shown) > 1)
                if archive is not None and d.id in chosen:
                    self._archive(archive, d, found, unit_folders, folders[d.id])
            if later:  # under the tables, so the header rows stay where they always are
                sheet.line(layout.t("export.later_left_out", count=later))
            self._sign(sheet)

    def _folder(self, d: DeadlineColumn) -> str:
        return f"{self.layout.title(d)} {d.local:%Y-%m-%d}"

    def _archive(
        self,
        archive: FileArchive,
        d: DeadlineColumn,
        found: dict[int, tuple[SheetRow, list[SheetRow]]],
        unit_folders: dict[int, str],
        folder: str,
    ) -> None:
        for unit in self.layout.units:
            entry = found.get(unit.id)
            if entry is None or not d.obligation.applies(unit):
                continue
            for a in entry[1]:
                try:
                    source = self.files.path(a.storage_key or "")
                except ValueError:
                    source = None
                if source is None or not source.is_file():
                    self.missing_files += 1
                    continue
                archive.add(source, [unit_folders[unit.id], folder], a.original_name or "")
                self.archived += 1

    def _field_columns(self, form: Form, fixed: Sequence[str]) -> list[Column]:
        headers = field_headers(self.layout, fixed, form.fields)
        return [
            Column(h, kind_of(f), number_format=number_format(f))
            for h, f in zip(headers, form.fields, strict=True)
        ]

    def _open_obligation(
        self,
        book: ExportBook,
        obligation: ObligationSheet,
        shown: list[DeadlineColumn],
    ) -> SheetWriter:
        layout, labels = self.layout, self.labels
        lead = self._unit_columns()
        fixed = [
            *lead,
            Column(labels.status, Kind.STATUS, 16),
            Column(labels.submitted, Kind.DATETIME),
        ]
        comment = Column(labels.comment, Kind.TEXT, 24)
        columns = [
            *fixed,
            *self._field_columns(obligation.form, [c.header for c in (*fixed, comment)]),
            comment,
        ]
        notes = [
            layout.t(
                "export.obligation_note", obligation=obligation.title, form=obligation.form.title
            )
        ]
        if len(shown) == 1:
            notes.append(self._block_title(shown[0]))
        return book.sheet(self._spec(obligation.title, self._notes(*notes), columns))

    def _block_title(self, d: DeadlineColumn) -> str:
        layout = self.layout
        due = f"{d.local:%Y-%m-%d %H:%M}"
        key = "export.block_seq" if d.repeats else "export.block"
        text = layout.t(key, title=d.obligation.title, seq=d.seq, due=due)
        if d.period:
            text += " · " + layout.t(
                "export.period", start=d.period[0].isoformat(), end=d.period[1].isoformat()
            )
        return text

    def _block(
        self,
        sheet: SheetWriter,
        d: DeadlineColumn,
        found: dict[int, tuple[SheetRow, list[SheetRow]]],
        cumulative: Cumulative | None,
        shown: bool,
        heading: bool,
    ) -> None:
        """One deadline: heading, a row per unit, 合计. A deadline that is only covered
        (before the chosen one) feeds 累计 and writes nothing. A sheet of one deadline
        has its heading among the notes at the top instead."""
        layout, labels = self.layout, self.labels
        fields = d.obligation.form.fields
        readers = field_readers(d.obligation.form)
        numeric_at = [i for i, f in enumerate(fields) if f.is_numeric]
        files_at = [(i, f.id) for i, f in enumerate(fields) if f.type is FieldType.FILE]
        sums = [Decimal(0)] * len(fields)
        expected = done = 0
        lead = len(self._unit_columns())
        if shown and heading:
            sheet.heading(self._block_title(d))
        for unit in layout.units:
            if not d.obligation.applies(unit):
                continue
            override = layout.overrides.get((d.id, unit.id))
            entry = found.get(unit.id)
            if entry is None:
                state, nil, row = state_of(d.due, None, layout.now_utc, override), False, None
                cells: list[CellValue] = [None] * len(fields)
            else:
                row = entry[0]
                nil = bool(row.nil)
                latest = LatestSubmission(
                    row.submitted_at, row.status == RevisionStatus.RETURNED, nil, 0
                )
                state = state_of(d.due, latest, layout.now_utc, override)
                answers: dict[str, Any] = {} if nil else (row.answers or {})
                get = answers.get
                cells = []
                for field_id, keep, convert in readers:
                    v = get(field_id)
                    cells.append(v if v is None or type(v) is keep else convert(v))
            expected += state is not State.EXEMPT
            if state.is_done:
                done += 1
                for i in numeric_at:
                    n = cells[i]
                    if type(n) is int or type(n) is Decimal:
                        sums[i] += n
                if cumulative is not None:
                    cumulative.add(unit.id, cells, numeric_at)
            if not shown:
                continue
            if entry is not None and entry[1]:
                for i, field_id in files_at:
                    names = [a.original_name or "" for a in entry[1] if a.field_id == field_id]
                    cells[i] = "、".join(names) if names else None
            if row is None:
                sheet.row(
                    [*self._unit_cells(unit), self._state_mark(state, nil), None, *cells, None]
                )
                continue
            comment = (
                layout.t("export.returned_comment", comment=row.review_comment)
                if state is State.RETURNED and row.review_comment
                else None
            )
            at = row.submitted_at.astimezone(layout.tz).replace(tzinfo=None)
            sheet.row([*self._unit_cells(unit), self._state_mark(state, nil), at, *cells, comment])
        if not shown:
            return
        total: list[CellValue] = [labels.total] + [None] * (lead - 1)
        total += [layout.t("export.done_of", done=done, expected=expected), None]
        total += [
            as_written(fields[i], sums[i]) if i in numeric_at else None for i in range(len(fields))
        ]
        sheet.total([*total, None])
        sheet.blank()

    def _state_mark(self, state: State, nil: bool) -> Mark:
        found = self._marks.get((state, nil))
        if found is None:
            found = self._marks[(state, nil)] = self._new_mark(state, nil)
        return found

    def _new_mark(self, state: State, nil: bool) -> Mark:
        labels = self.labels
        text = labels.states[state]
        if nil and state.is_done:
            text = f"{text} · {labels.nil}"
        tone = {
            State.LATE: Tone.LATE,
            State.OVERDUE: Tone.MISSING,
            State.RETURNED: Tone.RETURNED,
            State.EXEMPT: Tone.NOT_EXPECTED,
        }.get(state, Tone.NIL if nil else Tone.PLAIN)
        return Mark(text, tone)


def field_headers(layout: Layout, fixed: Sequence[str], fields: Sequence[Field]) -> list[str]:
    """The fields' headers, none repeating a header of the sheet's own columns (a field
    named 备注 becomes 备注(表单)) or another field's (数量, 数量 (2))."""
    own = set(fixed)
    taken = set(own)
    headers = []
    for spec in fields:
        header = header_of(layout, spec)
        if header in own:
            header = layout.t("export.form_field", header=header)
        candidate, n = header, 1
        while candidate in taken:
            n += 1
            candidate = f"{header} ({n})"
        taken.add(candidate)
        headers.append(candidate)
    return headers


def header_of(layout: Layout, spec: Field) -> str:
    if spec.unit:
        return layout.t("export.with_unit", label=spec.label, unit=spec.unit)
    return spec.label


def by_unit(row: GridRow) -> int:
    return row.unit_id


def by_deadline(row: SheetRow) -> int:
    return row.deadline_id
