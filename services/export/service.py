"""The export use case: reads the campaign once, streams the rows, writes in a thread."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.export_template import ExportTemplate, check_against
from domain.forms import Form
from services.campaign_reads import PlanRegistry, latest_submissions, overrides_for
from services.export.layout import (
    DeadlineColumn,
    Layout,
    ObligationSheet,
    TemplateRow,
    UnitLine,
    pick_deadline,
    plan_layout,
    select_deadlines,
)
from services.export.model import (
    TEMPLATE_MAX_BYTES,
    ExportedBytes,
    ExportError,
    ExportRequest,
    ExportSummary,
    PlanTemplate,
    Texts,
    refusal,
)
from services.export.queries import GridRow, LoopFeed, SheetRow, grid_query, sheet_query
from services.export.template import template_fill
from services.export.writer import Writer
from storage import models as m
from storage.archive import safe_component
from storage.filestore import FileStore
from storage.spreadsheets import (
    TemplateRefused,
    fill_template,
)


class ExportService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], plans: PlanRegistry, files: FileStore
    ) -> None:
        self.sessions = sessions
        self.plans = plans
        self.files = files

    async def export_bytes(self, request: ExportRequest, texts: Texts) -> ExportedBytes:
        """The workbook in memory (for sending in a chat)."""
        buffer = io.BytesIO()
        summary = await self._export(request, texts, buffer, None)
        return ExportedBytes(buffer.getvalue(), summary)

    async def export_to(
        self, request: ExportRequest, texts: Texts, sink: IO[bytes], archive: Path | None = None
    ) -> ExportSummary:
        """The workbook written to `sink`, which may refuse to grow past a size by raising
        (the chat's 50 MB): the export stops there. With `archive`, the submitted files
        too, as for `export_file`."""
        return await self._export(request, texts, sink, archive)

    async def export_file(
        self, request: ExportRequest, texts: Texts, out: Path, archive: Path | None = None
    ) -> ExportSummary:
        """The workbook at `out`; with `archive`, also a .zip of the submitted files laid
        out as 单位/截止事项/原文件名, the workbook at its root."""
        return await self._export(request, texts, out, archive)

    async def _export(
        self, request: ExportRequest, texts: Texts, sink: Path | IO[bytes], archive: Path | None
    ) -> ExportSummary:
        async with self.sessions() as s:
            layout = await self._layout(s, request, texts)
            conn = await s.connection()
            loop = asyncio.get_running_loop()
            grid_rows = LoopFeed(loop, conn, grid_query(layout), GridRow)
            sheet_rows = LoopFeed(loop, conn, sheet_query(layout), SheetRow)
            writer = Writer(layout, self.files, archive)
            return await asyncio.to_thread(writer.run, grid_rows, sheet_rows, sink)

    async def fill_template(
        self,
        request: ExportRequest,
        texts: Texts,
        template: ExportTemplate,
        data: bytes,
        *,
        max_bytes: int = TEMPLATE_MAX_BYTES,
    ) -> ExportedBytes:
        """The coordinator's own workbook (`data`) filled as `template` maps it, for one
        deadline per mapped sheet: the chosen one (--deadline), else the latest passed.
        Reads a fixed number of statements (campaign, plan, units, deadlines, and the
        newest revisions of the chosen deadlines)."""
        async with self.sessions() as s:
            layout = await self._layout(s, request, texts)
            check_against(template, {o.code: o.form for o in layout.obligations}, template.file)
            chosen = [pick_deadline(layout, sheet.obligation) for sheet in template.sheets]
            latest = await latest_submissions(s, deadline_ids=sorted({d.id for d in chosen}))
            rows = {
                key: TemplateRow(sub.status, sub.nil, sub.submitted_at, dict(sub.answers or {}))
                for key, sub in latest.items()
            }
        fills = [
            template_fill(layout, sheet, d, rows)
            for sheet, d in zip(template.sheets, chosen, strict=True)
        ]
        filled = await asyncio.to_thread(fill_template, data, fills, max_bytes=max_bytes)
        if isinstance(filled, TemplateRefused):
            raise refusal(filled, max_bytes)
        name = layout.t(
            "export.template_file_name",
            campaign=layout.campaign_name,
            day=f"{layout.now:%Y-%m-%d}",
        )
        summary = ExportSummary(
            layout.campaign_code,
            layout.campaign_name,
            safe_component(name),
            len(layout.units),
            len({d.id for d in chosen}),
            len(rows),
            (),
        )
        return ExportedBytes(filled, summary)

    async def plan_template(self, request: ExportRequest) -> PlanTemplate | None:
        """The template the campaign's plan names, with the stored workbook if any."""
        async with self.sessions() as s:
            campaign = await self._campaign(s, request)
            plan = await self.plans.plan(s, campaign.id)
            if plan.export is None:
                return None
            row = await s.scalar(
                select(m.ExportTemplate).where(m.ExportTemplate.campaign_id == campaign.id)
            )
        name = plan.export.file_name
        data = row.data if row is not None and row.file_name == name else None
        return PlanTemplate(plan.export, name, data)

    async def export_plan_template(
        self, request: ExportRequest, texts: Texts
    ) -> ExportedBytes | None:
        """The campaign's own template filled, when its plan names one that is stored;
        None when the plan names none (use the standard workbook). Raises
        ExportError("template_missing") when the plan names a workbook not stored yet."""
        found = await self.plan_template(request)
        if found is None:
            return None
        if found.data is None:
            raise ExportError("template_missing", file=found.file_name, campaign=request.campaign)
        return await self.fill_template(request, texts, found.mapping, found.data)

    async def _campaign(self, s: AsyncSession, request: ExportRequest) -> m.Campaign:
        campaign = await s.scalar(select(m.Campaign).where(m.Campaign.code == request.campaign))
        if campaign is None:
            raise ExportError("unknown_campaign", campaign=request.campaign)
        if request.actor is not None and not request.actor.coordinates(campaign.id):
            raise ExportError("unknown_campaign", campaign=request.campaign)
        return campaign

    async def _layout(self, s: AsyncSession, request: ExportRequest, texts: Texts) -> Layout:
        campaign = await self._campaign(s, request)
        plan = await self.plans.plan(s, campaign.id)
        tz = ZoneInfo(campaign.timezone)
        unit_rows = await s.scalars(
            select(m.Unit)
            .where(m.Unit.campaign_id == campaign.id, m.Unit.active.is_(True))
            .order_by(m.Unit.position, m.Unit.id)
        )
        units = [UnitLine(u.id, u.code, u.name, u.group) for u in unit_rows]
        pairs = (
            await s.execute(
                select(m.Deadline, m.Obligation)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .where(m.Deadline.campaign_id == campaign.id, m.Deadline.cancelled.is_(False))
                .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id)
            )
        ).all()
        obligations: dict[int, ObligationSheet] = {}
        per_obligation: dict[int, int] = {}
        for _, o in pairs:
            per_obligation[o.id] = per_obligation.get(o.id, 0) + 1
            if o.id not in obligations:
                form = plan.forms.get(o.form_code) or Form(o.form_code, o.title, ())
                codes = frozenset(o.unit_codes) if o.unit_codes is not None else None
                obligations[o.id] = ObligationSheet(o.id, o.code, o.title, o.position, form, codes)
        deadlines = [
            DeadlineColumn(
                d.id,
                obligations[o.id],
                d.seq,
                d.due_at,
                d.due_at.astimezone(tz).replace(tzinfo=None),
                (d.period_start, d.period_end) if d.period_start and d.period_end else None,
                per_obligation[o.id] > 1,
            )
            for d, o in pairs
        ]
        chosen = select_deadlines(deadlines, request.deadline, tz)
        layout = plan_layout(campaign, tz, request, texts, units, deadlines, chosen)
        layout.overrides = await overrides_for(s, campaign_id=campaign.id)
        return layout
