"""SQLAlchemy tables. The database is the source of truth; jobs are derived from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic migrations can alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids of these rows travel in chat buttons. SQLite would hand a deleted row's id to the next
# row, and an old button would then act on a new draft; AUTOINCREMENT never reuses ids.
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC instants on every backend (SQLite stores no zone and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares instants as text: store them all naive in UTC, one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    office: Mapped[str] = mapped_column(String(200))
    coordinator: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlanVersion(Base):
    """Every plan text ever loaded, so a deadline can always be traced to the plan that made it."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int]
    source_name: Mapped[str] = mapped_column(String(300))
    source_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime]


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the plan
    active: Mapped[bool] = mapped_column(default=True)  # False: dropped from the plan, kept


class Obligation(Base):
    __tablename__ = "obligations"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    form_code: Mapped[str] = mapped_column(String(64))
    cadence: Mapped[str] = mapped_column(String(16))
    local_time: Mapped[time] = mapped_column(Time)
    # none_as_null: "every unit" is SQL NULL, so `IS NULL` finds it (not the JSON text null).
    unit_codes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Deadline(Base):
    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("obligation_id", "key"),
        Index("ix_deadlines_campaign_due", "campaign_id", "due_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int]
    due_at: Mapped[datetime]
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    # Set when a plan edit dropped this occurrence but submissions were already attached.
    cancelled: Mapped[bool] = mapped_column(default=False)
    plan_version: Mapped[int]


class Person(Base):
    """Someone who talks to the bot, identified by their chat platform's user id."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), default="telegram")
    external_id: Mapped[str] = mapped_column(String(64))  # Telegram: the user (= private chat) id
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    reachable: Mapped[bool] = mapped_column(default=True)  # False after a 403 "blocked"
    created_at: Mapped[datetime]


class Membership(Base):
    """A person's role in a campaign: coordinator (no unit), liaison or deputy of a unit."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("campaign_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Indexed: every update identifies its sender by person, and a province has thousands.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Invite(Base):
    __tablename__ = "invites"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256; token never stored
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class Submission(Base):
    """One revision of a unit's report for a deadline; revisions are never overwritten."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("deadline_id", "unit_id", "revision"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # domain.status.RevisionStatus
    nil: Mapped[bool] = mapped_column(default=False)  # 零报告
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(default=False)
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]


class Draft(Base):
    """A half-filled form, so a restart or a busy afternoon loses nothing."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("person_id", "deadline_id", "unit_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
    # The step (a field id, files, preview) its owner was last shown: a typed answer is
    # taken only for that question.
    shown_step: Mapped[str | None] = mapped_column(String(64))
    # Raised by every change of `state`: a change read at another version is refused.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Attachment(Base):
    """A stored file; the user's file name is kept here and never becomes part of a path."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="RESTRICT"), index=True
    )
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL"), index=True
    )
    field_id: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime]


class SentReminder(Base):
    """The delivery log: the unique key makes each nudge go out at most once."""

    __tablename__ = "sent_reminders"
    __table_args__ = (UniqueConstraint("deadline_id", "unit_id", "person_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Sends tried so far (the first claim is 1): failed ones are retried with backoff, capped.
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # A claim is its claimer's until then; the claimer renews it while the send is under
    # way, so only a claim whose process died (or froze) is taken over. None: claimed_at
    # plus the deployment's stale_after (rows from before leases).
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class DigestPreference(Base):
    """A coordinator's own digest setting: muted, or at another time than the deployment's."""

    __tablename__ = "digest_preferences"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    local_time: Mapped[time | None] = mapped_column(Time)  # None: the deployment's digest_at
    updated_at: Mapped[datetime]


class ExportTemplate(Base):
    """The workbook a plan's `[export]` table names, kept in the database with the plan so
    every bot process and `cuibao export` fill the same file."""

    __tablename__ = "export_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True
    )
    file_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime]


class PendingRevision(Base):
    """A plan sent in chat over an existing campaign, waiting for its coordinator to confirm
    the difference shown; its id travels in the confirm button, consumed once."""

    __tablename__ = "pending_revisions"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    base_version: Mapped[int]  # the campaign's version the difference was computed against
    source_name: Mapped[str] = mapped_column(String(300))
    source_text: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_at: Mapped[datetime | None]


class UnitDeadlineOverride(Base):
    """The coordinator's exception for one unit on one deadline: 免报 (exempt) or 延期
    (a later due time of its own). Undoing one keeps the row (revoked_at), so the unit's
    people can be told, and a later exception for the same pair reuses it."""

    __tablename__ = "unit_deadline_overrides"
    __table_args__ = (UniqueConstraint("unit_id", "deadline_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    deadline_id: Mapped[int] = mapped_column(
        ForeignKey("deadlines.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # domain.status.OverrideKind
    due_at: Mapped[datetime | None]  # extended: the unit's own due time
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]  # last set or undone: what the unit's people are told about
    revoked_at: Mapped[datetime | None]  # undone: the deadline's own time applies again


class Conversation(Base):
    """Where a person is in the chat, so a restart or a second bot process answers the
    next message the same way: the draft whose prompt was shown to them last (a typed
    answer, a file or /blank is for that one; the step it showed is the draft's
    `shown_step`), and a 退回 whose reason they are about to type."""

    __tablename__ = "conversations"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    shown_draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL")
    )
    review_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    review_asked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Confirmation(Base):
    """A confirmation offered with a button (确认催报); consumed once, in the database, so a
    double tap or a second bot process cannot carry it out twice."""

    __tablename__ = "confirmations"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    created_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class CalendarNotice(Base):
    """A campaign's coordinators were told that its deadlines fall in a year without
    holiday data (once per campaign and year)."""

    __tablename__ = "calendar_notices"
    __table_args__ = (UniqueConstraint("campaign_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    notified_at: Mapped[datetime]


class ChatStep(Base):
    """A half-done step of a person's conversation that waits for their next message or
    tap (an /exempt request waiting for its deadline, a notice under review, the numbered
    choices of a platform without buttons): in the database, so a restart or a second
    process picks it up where it was."""

    __tablename__ = "chat_steps"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class InboundMessage(Base):
    """A message a platform delivered, by its own id: DingTalk may deliver one again (after
    a reconnect), and it is handled once, in this process or another, after a restart too."""

    __tablename__ = "inbound_messages"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class MessageReceipt(Base):
    """A message the bot sent a person on a platform that tells whether it was read
    (DingTalk's robot messages, by their query key): /missing and the digest tell
    已读未报 from 未读 by it."""

    __tablename__ = "message_receipts"
    __table_args__ = (Index("ix_message_receipts_person", "platform", "external_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    query_key: Mapped[str] = mapped_column(String(128))
    sent_at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class JoinOffer(Base):
    """A binding offered to a person the plan names for a unit (by DingTalk userid or
    mobile): made once per campaign, unit and contact, in whichever process claims it."""

    __tablename__ = "join_offers"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    contact: Mapped[str] = mapped_column(String(80), primary_key=True)  # dingtalk:… / mobile:…
    user_id: Mapped[str] = mapped_column(String(64), default="")  # the platform's id, if found
    outcome: Mapped[str] = mapped_column(String(16))  # sent / failed / unknown (no such person)
    offered_at: Mapped[datetime]


class SendBudget(Base):
    """Messages sent per second by all the processes of one bot (or DingTalk app): the
    platform's limit is per bot, not per process."""

    __tablename__ = "send_budget"

    bot: Mapped[str] = mapped_column(String(64), primary_key=True)
    second: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # Unix time, whole
    used: Mapped[int] = mapped_column(Integer, default=0)
