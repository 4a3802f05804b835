"""The Excel export (汇总报表) of a campaign, for the `cuibao export` command and /export.

The workbook has, in this order:

- 提交情况: units × deadlines; each cell the time of the unit's newest revision, marked
  迟报 / 零报告 / 已退回, 未报 in red once a deadline has passed with nothing valid, "—"
  where the unit does not report; counts per deadline underneath.
- 累计: campaign-to-date totals of every numeric field, per unit and overall.
- one sheet per obligation: a block per deadline (its period in the block's heading),
  units as rows, the form's fields as columns (units of measure in the headers), a 合计
  row. Numbers are numbers, dates are dates, text is text.

Totals count valid reports only: not returned ones (已退回, to be corrected) and not 零报告.

The database is read with a fixed number of statements whatever the number of units or
deadlines: campaign, plan, units, deadlines, then two streamed passes over the newest
revisions (one in unit order for 提交情况, one in deadline order for the rest). The
workbook is written in a worker thread (`asyncio.to_thread`) with XlsxWriter's
constant_memory mode; the streamed rows are fetched on the event loop, batch by batch,
as the worker asks for them, so neither the loop nor memory has to hold the whole
campaign.

The package: `model` (requests, summaries, refusals), `layout` (what the worker needs,
loaded up front), `queries` (the two streamed passes, as named rows), `cells` (answers as
cells, totals), `writer` (the worker thread), `template` (the coordinator's own workbook)
and `service` (the use case).
"""

from services.export.model import (
    TEMPLATE_MAX_BYTES,
    ExportedBytes,
    ExportError,
    ExportRequest,
    ExportSummary,
    PlanTemplate,
    Texts,
    template_problem,
)
from services.export.service import ExportService

__all__ = [
    "TEMPLATE_MAX_BYTES",
    "ExportError",
    "ExportRequest",
    "ExportService",
    "ExportSummary",
    "ExportedBytes",
    "PlanTemplate",
    "Texts",
    "template_problem",
]
