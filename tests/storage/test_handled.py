"""An update is recorded as handled with its first write that matters (storage.handled):
writes that change nothing when repeated must not be that write, or a process dying
right after them leaves the rest of the update undone for good."""

from __future__ import annotations

from datetime import datetime

from services.access import AccessService
from services.coordination import CoordinationService
from services.inbox import InboxService
from services.steps import StepService
from storage.database import Database
from storage.handled import install, on_behalf_of


def _services(database: Database) -> tuple[InboxService, AccessService]:
    install()
    return InboxService(database.sessions), AccessService(
        database.sessions, ["900001"], "telegram"
    )


async def test_an_update_whose_only_writes_are_repeatable_is_not_yet_recorded(
    database: Database, now: datetime
) -> None:
    inbox, access = _services(database)
    with on_behalf_of("telegram", "1001", lambda: now):
        # A newcomer (a person row is made), then a command forgets a pending 退回.
        actor = await access.identify("900001", "王协调", None, now)
        await CoordinationService(database.sessions).abandon_reason(actor)

    assert not await inbox.seen("telegram", "1001")


async def test_the_first_write_that_matters_records_the_update_with_it(
    database: Database, now: datetime
) -> None:
    inbox, access = _services(database)
    actor = await access.identify("900001", "王协调", None, now)
    with on_behalf_of("telegram", "1002", lambda: now):
        await CoordinationService(database.sessions).abandon_reason(actor)
        await StepService(database.sessions).put(actor.person_id, "notice_paste", {}, now)
        recorded = await inbox.seen("telegram", "1002")

    assert recorded
