"""`cuibao demo`: a short campaign played offline, end to end, against a fake Telegram.

The real bot (`build_application`, the same one `cuibao run` serves) talks over HTTP to a
fakegram server on 127.0.0.1; simulated people tap and type. Everything the bot says in the
transcript is what the bot really sent; only the headings and the closing table are the
demo's own words. The data dir keeps a config, the database and the uploaded files, so the
CLI can be tried against them afterwards.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import CuibaoApp, build_application, serving, until_idle
from bot.config import TOKEN_ENV, load_settings
from conversation.i18n import Catalogue
from conversation.services import AppServices
from domain.plan_toml import parse_plan
from fakegram import ChatMessage, FakeTelegram, WaitTimeout
from handlers.context import services_of
from services.access import Actor
from services.campaign_reads import DeadlineView
from services.plans import load_plan
from storage.database import Database

CAMPAIGN = "daguan-2017-anticounterfeit"
PLAN_SOURCE = Path(__file__).resolve().parents[1] / "examples" / "plans" / f"{CAMPAIGN}.toml"
BOT_USERNAME = "cuibao_demo_bot"
BEIJING = ZoneInfo("Asia/Shanghai")
DEMO_DAY = date(2016, 12, 15)  # the liaison list and the third weekly report fall due
DEMO_START = datetime.combine(DEMO_DAY, time(9, 0), BEIJING)

# What the demo creates inside the data dir; nothing else there is ever touched.
CONFIG_NAME = "config.toml"
DB_NAME = "cuibao-demo.sqlite3"
DB_SIDECARS = ("-wal", "-shm", "-journal")
FILES_NAME = "files"
PLAN_NAME = f"{CAMPAIGN}.toml"
MANIFEST_NAME = ".cuibao-demo.json"
CONFIG_HEADER = "# Written by `cuibao demo`"
STATUS_PICTURE = "status.png"  # the picture /status sent, as the coordinator saw it
TONGBAO_NAME = "tongbao"  # the 通报 /tongbao sent: .docx, .xlsx and .png
TONGBAO_FILES = tuple(f"{TONGBAO_NAME}{ext}" for ext in (".docx", ".xlsx", ".png"))
OWNED = (CONFIG_NAME, DB_NAME, FILES_NAME, PLAN_NAME, STATUS_PICTURE, *TONGBAO_FILES)

COORDINATOR = 900_001
COORDINATOR_NAME = "王协调"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPLY_TIMEOUT = 5.0
# One line of the /invite answer: "· 德宽路市场监管所:https://t.me/<bot>?start=<token>".
INVITE_LINE = re.compile(r"^[·\s]*(.+?)\s*[::]\s*https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


class DemoError(Exception):
    """The demo cannot run or the bot did not answer as the scenario expects.

    What a user can act on (the data dir, a missing example plan) names a catalogue text
    (`key`, `params`); a scenario that went wrong carries its technical detail only."""

    def __init__(self, detail: str, key: str = "demo.failed", **params: Any) -> None:
        super().__init__(detail)
        self.key = key
        self.params = {"detail": detail, **params}


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    role: str  # shown after the name in the transcript

    @property
    def label(self) -> str:
        return f"{self.name}({self.role})"


@dataclass
class DemoClock:
    """The bot's clock: starts at DEMO_START and is moved forward between scenes."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set(self, local: time) -> None:
        self.now = datetime.combine(DEMO_DAY, local, BEIJING).astimezone(UTC)


def run_demo(data_dir: Path, language: str = "zh-CN", platform: str = "telegram") -> int:
    """Play the demo on a fake Telegram or a fake DingTalk; 0 when it ran to the end, 1
    (message on stderr) otherwise."""
    try:
        prepare_data_dir(data_dir)
        if platform == "dingtalk":
            from bot.demo_dingtalk import play_dingtalk  # it builds on this module

            asyncio.run(play_dingtalk(data_dir, language, sys.stdout))
        else:
            asyncio.run(_main(data_dir, language, sys.stdout))
    except DemoError as exc:
        message = Catalogue(language).text(exc.key, **exc.params)
        print(f"cuibao demo: {message}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------- the data dir


def prepare_data_dir(data_dir: Path) -> None:
    """Make the data dir ready for a fresh run: remove what an earlier demo left there
    (only the names in OWNED, and only if its manifest says the demo made them)."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DemoError(
            f"{data_dir} exists and is not a folder", "demo.not_a_folder", path=str(data_dir)
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    owned = _manifest(data_dir)
    present = [name for name in _all_names(OWNED) if _exists(data_dir / name)]
    foreign = [name for name in present if _owner(name) not in owned]
    config = data_dir / CONFIG_NAME
    if CONFIG_NAME in present and CONFIG_NAME not in foreign and not _demo_config(config):
        foreign.append(CONFIG_NAME)  # lost the demo's header: someone made it their own
    if foreign:
        names = ", ".join(sorted(foreign))
        raise DemoError(
            f"{data_dir} holds {names}, which the demo did not create; choose another --data-dir",
            "demo.foreign_files",
            path=str(data_dir),
            names=names,
        )
    for name in present:
        _remove(data_dir / name)
    (data_dir / MANIFEST_NAME).write_text(
        json.dumps({"created_by": "cuibao demo", "paths": list(OWNED)}, indent=2) + "\n",
        encoding="utf-8",
    )


def _all_names(names: Sequence[str]) -> list[str]:
    return [*names, *(DB_NAME + suffix for suffix in DB_SIDECARS)]


def _owner(name: str) -> str:
    """The OWNED entry a name belongs to (SQLite's side files belong to the database)."""
    return DB_NAME if name.startswith(DB_NAME) else name


def _manifest(data_dir: Path) -> set[str]:
    path = data_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    paths = data.get("paths") if isinstance(data, dict) else None
    return {p for p in paths if p in OWNED} if isinstance(paths, list) else set()


def _demo_config(path: Path) -> bool:
    try:
        return path.read_text(encoding="utf-8").startswith(CONFIG_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def write_config(data_dir: Path, fake: FakeTelegram, language: str) -> Path:
    path = data_dir / CONFIG_NAME
    stamp = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    path.write_text(
        f"""{CONFIG_HEADER} on {stamp}; each run of the demo rewrites it.
# Relative paths are resolved from this file's folder. The Bot API URLs point at the fake
# Telegram server the demo ran, which is gone now: `cuibao run` needs real ones (and
# TELEGRAM_BOT_TOKEN). Every other command works against this config as it is.

[bot]
language = {json.dumps(language)}
coordinators = [{COORDINATOR}]  # the demo's coordinator (a simulated user)
api_base_url = {json.dumps(fake.base_url)}
api_file_url = {json.dumps(fake.base_file_url)}

[database]
url = "sqlite:///{DB_NAME}"

[files]
dir = "{FILES_NAME}"

[reminders]
# The demo shows a coordinator's /remind; automatic nudges would interleave with the
# scripted scene. A real deployment leaves them on (the default).
enabled = false
""",
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------------- the run


async def _main(data_dir: Path, language: str, out: TextIO) -> None:
    if not PLAN_SOURCE.is_file():
        raise DemoError(
            f"the example plan {PLAN_SOURCE} is missing (run from a source tree)",
            "demo.plan_missing",
            path=str(PLAN_SOURCE),
        )
    plan_text = PLAN_SOURCE.read_text(encoding="utf-8")
    (data_dir / PLAN_NAME).write_text(plan_text, encoding="utf-8")
    plan = parse_plan(plan_text, PLAN_NAME)
    clock = DemoClock(DEMO_START.astimezone(UTC))
    async with FakeTelegram(bot_username=BOT_USERNAME) as fake:
        config = write_config(data_dir, fake, language)
        settings = load_settings(config, env={TOKEN_ENV: fake.token})
        async with Database.open(settings.database_url) as db:
            await load_plan(
                db.sessions, plan, PLAN_NAME, plan_text, clock(), settings.calendar.overrides()
            )
            # The coordinator's chat must exist before post_init sets their command menu.
            fake.add_user(COORDINATOR, COORDINATOR_NAME)
            app = build_application(settings, clock=clock, database=db)
            async with serving(app):
                units = {u.id: u.name for u in plan.units}
                story = Story(fake, app, clock, out, units, data_dir=data_dir)
                await story.play()
                await story.final_table()
    leftover = asyncio.all_tasks() - {asyncio.current_task()}
    if leftover:
        raise DemoError(f"tasks still running after shutdown: {leftover}")
    _next_steps(data_dir, language, out)


# ---------------------------------------------------------------------- the scenario


@dataclass
class Story:
    fake: FakeTelegram
    app: CuibaoApp
    clock: DemoClock
    out: TextIO
    units: dict[str, str]  # unit code → name
    people: dict[int, Person] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)  # chat → last message id printed
    edits: dict[tuple[int, int], int] = field(default_factory=dict)
    scene_no: int = 0
    data_dir: Path = Path()

    @property
    def services(self) -> AppServices:
        return services_of(self.app)

    def t(self, key: str, **params: Any) -> str:
        return self.services.catalogue.text(key, **params)

    async def play(self) -> None:
        coordinator = self.person(COORDINATOR, COORDINATOR_NAME, "协调员", add=False)
        li = self.person(2001, "李明", self.units["dekuan"])
        zhang = self.person(2002, "张华", self.units["yulin"])
        zhao = self.person(2003, "赵强", self.units["jixian"])

        label = self.t
        self.scene(
            time(9, 0), "协调员生成各单位的邀请链接 / the coordinator asks for invitation links"
        )
        invites = _with(
            await self.command(coordinator, "invite"),
            lambda m: "https://t.me/" in m.content,
            "the invitation links",
        )
        links = _links(invites.text or "")

        self.scene(
            time(9, 5),
            "三个单位的联络员点开各自的链接 / three liaisons open their unit's deep link",
        )
        bound: dict[int, list[ChatMessage]] = {}
        for person in (li, zhang, zhao):
            token = links.get(person.role)
            if token is None:
                raise DemoError(f"/invite gave no link for {person.role}")
            bound[person.user_id] = await self.act(
                person,
                f"(点开邀请链接 open the link) /start {token[:6]}…",
                partial(self.fake.send_start, person.user_id, token),
            )

        weekly = await self.deadline("weekly-report")
        roster = await self.deadline("liaison-list")

        self.scene(time(9, 30), f"{li.name}报送联络员名单 / {li.name} sends the liaison list")
        pick = _with(
            await self.command(li, "submit"),
            _data(f"sub:{roster.deadline_id}"),
            "the deadlines to pick from",
        )
        await self.press(li, pick, roster.deadline_id)
        await self.say(li, li.name)
        await self.say(li, "综合科科员")
        preview = _with(
            await self.say(li, "0556-5542026"), _label(label("button.confirm")), "the preview"
        )
        await self.press(li, preview, label=label("button.confirm"))

        self.scene(
            time(10, 0),
            f"{li.name}报送信息周报并上传统计表 / {li.name} fills the "
            "weekly report and uploads a spreadsheet",
        )
        pick = _with(
            await self.command(li, "submit"),
            _data(f"sub:{weekly.deadline_id}"),
            "the deadlines to pick from",
        )
        await self.press(li, pick, weekly.deadline_id)
        replies: list[ChatMessage] = []
        for answer in ("36", "128", "5", "2", "1.35", "0.8"):
            replies = await self.say(li, answer)
        optional = _with(replies, _label(label("button.skip")), "an optional question")
        await self.press(li, optional, label=label("button.skip"))
        await self.say(li, "假冒白酒120瓶")
        replies = await self.document(li, weekly_workbook(), f"{li.role}-信息周报-2016-12-15.xlsx")
        files = _with(replies, _label(label("button.files_done")), "the attachments step")
        preview = _with(
            await self.press(li, files, label=label("button.files_done")),
            _label(label("button.confirm")),
            "the preview",
        )
        await self.press(li, preview, label=label("button.confirm"))

        self.scene(
            time(10, 30),
            f"{zhang.name}本周无数据,从待办列表报零报告 / {zhang.name} "
            "sends a nil report from the task list",
        )
        welcome = _with(bound[zhang.user_id], _data(f"sub:{weekly.deadline_id}"), "the task list")
        question = _with(
            await self.press(zhang, welcome, weekly.deadline_id),
            _label(label("button.nil")),
            "the first question",
        )
        replies = await self.press(zhang, question, label=label("button.nil"))
        asks = next((m for m in replies if label("button.confirm") in m.button_texts), None)
        if asks is not None:  # a bot that asks to confirm a 零报告 too
            await self.press(zhang, asks, label=label("button.confirm"))

        self.scene(
            time(15, 30),
            f"周报截止(15:00)之后,协调员查看情况并催报 / after the "
            f"15:00 deadline the coordinator checks and nudges "
            f"({zhao.name} has sent nothing)",
        )
        replies = await self.command(coordinator, "status")
        status = _with(replies, _data(f"st:{weekly.deadline_id}"), "the status overview")
        picture = _with(replies, lambda m: m.photo is not None, "the progress picture")
        self.save(STATUS_PICTURE, picture.photo.data if picture.photo else b"")
        await self.press(coordinator, status, weekly.deadline_id, prefix="st")
        await self.command(coordinator, "missing")
        confirm = _with(
            await self.command(coordinator, "remind"),
            _label(label("button.remind_go")),
            "the confirmation",
        )
        before = self.seen.get(zhao.user_id, 0)
        await self.press(coordinator, confirm, label=label("button.remind_go"))
        if not any(
            m.message_id > before and label("button.fill_now") in m.button_texts
            for m in self.fake.sent(zhao.user_id)
        ):
            raise DemoError(f"{zhao.name} did not receive the nudge")

        self.scene(
            time(16, 0),
            "协调员生成本周报送情况通报 / the coordinator drafts this "
            "week's 通报 (reporting notice)",
        )
        replies = await self.command(coordinator, "tongbao", "week")
        sent = [
            m.document.data if m.document else m.photo.data if m.photo else None for m in replies
        ]
        drafted = [data for data in sent if data is not None]
        if len(drafted) != len(TONGBAO_FILES):
            raise DemoError(f"expected the 通报 as {len(TONGBAO_FILES)} files, got {len(drafted)}")
        for name, data in zip(TONGBAO_FILES, drafted, strict=True):
            self.save(name, data)

    def save(self, name: str, data: bytes) -> None:
        """Keep a file the bot sent in the data dir, and say where in the transcript."""
        path = self.data_dir / name
        path.write_bytes(data)
        self.write(f"   (已保存 saved: {path})")

    # -------------------------------------------------------------- people and scenes

    def person(self, user_id: int, name: str, role: str, *, add: bool = True) -> Person:
        person = Person(user_id, name, role)
        if add:
            self.fake.add_user(user_id, name)
        self.people[user_id] = person
        return person

    def scene(self, local: time, title: str) -> None:
        self.clock.set(local)
        self.scene_no += 1
        self.write(f"\n── {self.scene_no}. {local:%H:%M} {title} ──")

    async def deadline(self, obligation: str) -> DeadlineView:
        """The demo day's occurrence of an obligation, as the coordinator's services see it."""
        campaign = await self.services.coordination.campaign(await self.coordinator(), CAMPAIGN)
        if campaign is None:
            raise DemoError(f"campaign {CAMPAIGN} is not loaded")
        for line in await self.services.coordination.overview(campaign.id, self.clock(), window=0):
            d = line.deadline
            if d.obligation_code == obligation and d.due.astimezone(BEIJING).date() == DEMO_DAY:
                return d
        raise DemoError(f"no {obligation} deadline on {DEMO_DAY}")

    async def coordinator(self) -> Actor:
        return await self.services.access.identify(
            str(COORDINATOR), COORDINATOR_NAME, None, self.clock()
        )

    # -------------------------------------------------------------- actions

    async def command(self, person: Person, command: str, args: str = "") -> list[ChatMessage]:
        text = f"/{command} {args}".strip()
        return await self.act(
            person, text, lambda: self.fake.send_command(person.user_id, command, args)
        )

    async def say(self, person: Person, text: str) -> list[ChatMessage]:
        return await self.act(person, text, lambda: self.fake.send_text(person.user_id, text))

    async def document(self, person: Person, data: bytes, name: str) -> list[ChatMessage]:
        return await self.act(
            person,
            f"📎 {name} ({len(data)} bytes)",
            lambda: self.fake.send_document(person.user_id, data, name, mime_type=XLSX_MIME),
        )

    async def press(
        self,
        person: Person,
        message: ChatMessage,
        ident: int | None = None,
        *,
        prefix: str = "sub",
        label: str | None = None,
    ) -> list[ChatMessage]:
        """Tap a button: by its label, or the one carrying `prefix:ident` (a deadline)."""
        data = f"{prefix}:{ident}" if ident is not None else None
        button = next((b for b in message.buttons if b.get("callback_data") == data), None)
        text = label or str(button.get("text") if button else data)
        callback_ids: list[str] = []

        def tap() -> object:
            callback_ids.append(
                self.fake.press_button(person.user_id, message.message_id, data, text=label)
            )
            return None

        replies = await self.act(person, f"[{text}]", tap, edits_of=message)
        try:  # a tapped button shows a spinner until the bot answers the query
            await self.fake.wait_for_callback_answer(callback_ids[0], REPLY_TIMEOUT)
        except WaitTimeout as exc:
            raise DemoError(str(exc)) from None
        return replies

    async def act(
        self,
        person: Person,
        shown: str,
        inject: Callable[[], object],
        *,
        edits_of: ChatMessage | None = None,
    ) -> list[ChatMessage]:
        """Print what the person does, inject it, wait until the bot is done with it, print
        what the bot sent (to anyone) meanwhile; returns the new messages in their chat."""
        chat = person.user_id
        self.write(f"{person.label} ▶ {shown}")
        after = self.fake.sent(chat)[-1].message_id if self.fake.sent(chat) else 0
        edits_before = len(edits_of.edits) if edits_of else 0
        try:
            inject()
        except LookupError as exc:
            raise DemoError(str(exc)) from None

        def probe() -> bool:
            new = any(m.message_id > after for m in self.fake.sent(chat))
            return new or (edits_of is not None and len(edits_of.edits) > edits_before)

        try:
            await self.fake.wait_until(probe, REPLY_TIMEOUT, describe=f"a reply to {shown}")
        except WaitTimeout as exc:
            raise DemoError(str(exc)) from None
        await self.idle()
        self.flush(first=chat)
        return [m for m in self.fake.sent(chat) if m.message_id > after]

    async def idle(self) -> None:
        try:
            await until_idle(self.app, REPLY_TIMEOUT)
        except TimeoutError:
            raise DemoError("the bot did not finish handling an update") from None

    # -------------------------------------------------------------- the transcript

    def write(self, line: str = "") -> None:
        print(line, file=self.out)

    def flush(self, first: int) -> None:
        """Print every bot message and edit not printed yet, the acting chat first."""
        for chat in sorted(self.people, key=lambda c: c != first):
            to = "" if chat == first else f" → {self.people[chat].label}"
            for message in self.fake.sent(chat):
                key = (chat, message.message_id)
                if message.message_id > self.seen.get(chat, 0):
                    self.seen[chat] = message.message_id
                    self.edits[key] = len(message.edits)
                    self.bot_message(message, f"催报{to}")
                elif len(message.edits) > self.edits.get(key, 0):
                    self.edits[key] = len(message.edits)
                    self.bot_message(message, f"催报{to} (改为 edited)")

    def bot_message(self, message: ChatMessage, who: str) -> None:
        lines = (message.content or "").splitlines() or [""]
        self.write(f"    {who} ◀ {lines[0]}")
        for line in lines[1:]:
            self.write(f"        {line}")
        for row in message.inline_keyboard:
            self.write("        " + " ".join(f"[{b.get('text', '')}]" for b in row))

    async def final_table(self) -> None:
        actor = await self.coordinator()
        columns = [await self.deadline("weekly-report"), await self.deadline("liaison-list")]
        cells: dict[str, list[str]] = {}
        for d in columns:
            found = await self.services.coordination.units_of_deadline(
                actor, d.deadline_id, self.clock()
            )
            if found is None:
                raise DemoError("the coordinator cannot see the campaign")
            for line in found[1]:
                state = self.t(f"state.{line.state.value}")
                if line.nil:
                    state += "·" + self.t("mine.nil")
                cells.setdefault(line.unit_name, []).append(state)
        title = [
            self.services.catalogue.text("deadline.repeating", title=d.title, seq=d.seq)
            if d.repeats
            else d.title
            for d in columns
        ]
        header = [
            "单位 unit",
            *(
                f"{t} {d.due.astimezone(BEIJING):%m-%d %H:%M}"
                for t, d in zip(title, columns, strict=True)
            ),
        ]
        rows = [[unit, *states] for unit, states in cells.items()]
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.write(f"\n── 报送情况 status at {self.clock().astimezone(BEIJING):%m-%d %H:%M} ──")
        for i, row in enumerate([header, *rows]):
            self.write(
                "  " + "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
            if i == 0:
                self.write("  " + "  ".join("─" * w for w in widths))


def _with(
    replies: list[ChatMessage], wanted: Callable[[ChatMessage], bool], what: str
) -> ChatMessage:
    """The reply the scenario goes on with (a reminder may arrive alongside it)."""
    found = [m for m in replies if wanted(m)]
    if not found:
        raise DemoError(f"expected {what}, the bot sent: {[m.content[:60] for m in replies]}")
    return found[-1]


def _data(data: str) -> Callable[[ChatMessage], bool]:
    return lambda m: any(b.get("callback_data") == data for b in m.buttons)


def _label(text: str) -> Callable[[ChatMessage], bool]:
    return lambda m: text in m.button_texts


def _links(text: str) -> dict[str, str]:
    """Unit name → invitation token, from the bot's /invite answer."""
    links: dict[str, str] = {}
    for line in text.splitlines():
        m = INVITE_LINE.match(line)
        if m:
            links[m.group(1)] = m.group(2)
    return links


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def weekly_workbook() -> bytes:
    """A small 统计报表 like the ones units attach to their weekly report."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "信息周报"
    sheet.append(["项目", "数量", "单位"])
    for row in (
        ("出动执法人员", 36, "人次"),
        ("检查经营户", 128, "户次"),
        ("受理举报投诉", 5, "件"),
        ("立案查处案件数", 2, "件"),
        ("案值", 1.35, "万元"),
        ("罚没款", 0.8, "万元"),
    ):
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def program(argv0: str | None = None) -> str:
    """How to run cuibao again: `cuibao`, unless that is not what was run (the README's
    `.venv/bin/cuibao demo`, without an activated venv): then the path as typed."""
    typed = argv0 if argv0 is not None else sys.argv[0]
    if Path(typed).name != "cuibao":  # python -m bot, or a test runner
        return "cuibao"
    on_path = shutil.which("cuibao")
    if on_path is not None and Path(on_path).resolve() == Path(typed).resolve():
        return "cuibao"
    return typed


def _next_steps(data_dir: Path, language: str, out: TextIO, platform: str = "telegram") -> None:
    """What to try next against the data the demo left, as commands to copy."""
    config = data_dir / CONFIG_NAME
    plan = data_dir / PLAN_NAME
    as_of = datetime.combine(DEMO_DAY, time(15, 30), BEIJING).isoformat(timespec="minutes")
    t = Catalogue(language)
    cuibao = program()
    print(
        "\n".join(
            [
                "",
                t.text("demo.next_data", language, folder=str(data_dir)),
                t.text("demo.next_try", language),
                f"  {cuibao} plan check {plan} --config {config}",
                f"  {cuibao} plan load {plan} --config {config}",
                (
                    f"  {cuibao} invite --config {config} --campaign {CAMPAIGN}"
                    + (
                        " --platform dingtalk"
                        if platform == "dingtalk"
                        else f" --bot-username {BOT_USERNAME}"
                    )
                ),
                (
                    f"  {cuibao} export --config {config} --campaign {CAMPAIGN} --out demo.xlsx"
                    f" --now {as_of}"
                ),
                f"  {cuibao} demo --data-dir {data_dir}"
                + (" --platform dingtalk" if platform == "dingtalk" else ""),
                t.text("demo.next_now", language),
            ]
        ),
        file=out,
    )
