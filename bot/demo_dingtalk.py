"""`cuibao demo --platform dingtalk`: the same campaign day as the Telegram demo, played
offline on a fake DingTalk.

cuibao's real DingTalk side (`running_dingtalk`, as `cuibao run` serves it) opens a Stream
connection to a fake DingTalk on 127.0.0.1 and calls its OpenAPI; simulated people type
to the robot. As on a DingTalk app without a card template, commands are words (邀请, 报送,
状态 …), an invitation is a 绑定码 and every choice is a numbered list answered by its
number. The transcript is what the robot really sent."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TextIO

from bot.config import DINGTALK_SECRET_ENV, load_settings
from bot.demo import (
    CONFIG_HEADER,
    CONFIG_NAME,
    DB_NAME,
    DEMO_START,
    FILES_NAME,
    PLAN_NAME,
    PLAN_SOURCE,
    STATUS_PICTURE,
    TONGBAO_FILES,
    DemoClock,
    DemoError,
    _next_steps,
    weekly_workbook,
)
from bot.dingtalk_app import DingTalkBot, running_dingtalk
from domain.plan_toml import parse_plan
from fakedingtalk import FakeDingTalk, Sent
from services.plans import load_plan
from storage.database import Database

COORDINATOR = "manager0001"
COORDINATOR_NAME = "王协调"
REPLY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Person:
    user: str  # DingTalk userid
    name: str
    role: str

    @property
    def label(self) -> str:
        return f"{self.name}({self.role})"


def write_config(data_dir: Path, fake: FakeDingTalk, language: str) -> Path:
    path = data_dir / CONFIG_NAME
    stamp = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    path.write_text(
        f"""{CONFIG_HEADER} on {stamp} (--platform dingtalk); each run rewrites it.
# Relative paths are resolved from this file's folder. The DingTalk URLs point at the fake
# DingTalk the demo ran, which is gone now: `cuibao run` needs the real ones (the defaults)
# and DINGTALK_CLIENT_SECRET. Every other command works against this config as it is.

[bot]
language = {json.dumps(language)}

[dingtalk]
client_id = {json.dumps(fake.client_id)}
coordinators = [{json.dumps(COORDINATOR)}]  # the demo's coordinator (a simulated user)
api_base_url = {json.dumps(fake.base_url)}
oapi_base_url = {json.dumps(fake.base_url)}
per_second = 100

[database]
url = "sqlite:///{DB_NAME}"

[files]
dir = "{FILES_NAME}"

[reminders]
# The demo shows a coordinator's 催报; automatic nudges would interleave with the
# scripted scene. A real deployment leaves them on (the default).
enabled = false
""",
        encoding="utf-8",
    )
    return path


async def play_dingtalk(data_dir: Path, language: str, out: TextIO) -> None:
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
    async with FakeDingTalk() as fake:
        config = write_config(data_dir, fake, language)
        settings = load_settings(config, env={DINGTALK_SECRET_ENV: fake.client_secret})
        async with Database.open(settings.database_url) as db:
            await load_plan(
                db.sessions, plan, PLAN_NAME, plan_text, clock(), settings.calendar.overrides()
            )
            fake.add_user(COORDINATOR, COORDINATOR_NAME)
            async with running_dingtalk(settings, db, clock) as bot:
                try:
                    await fake.wait_until(lambda: fake.connected, REPLY_TIMEOUT)
                except TimeoutError:
                    raise DemoError("the bot did not connect to the fake DingTalk") from None
                units = {u.id: u.name for u in plan.units}
                await DingTalkStory(fake, bot, clock, out, units, data_dir).play()
    _next_steps(data_dir, language, out, platform="dingtalk")


@dataclass
class DingTalkStory:
    fake: FakeDingTalk
    bot: DingTalkBot
    clock: DemoClock
    out: TextIO
    units: dict[str, str]
    data_dir: Path
    people: dict[str, Person] = field(default_factory=dict)
    printed: int = 0  # messages of fake.sent already in the transcript
    scene_no: int = 0

    async def play(self) -> None:
        coordinator = self.person(COORDINATOR, COORDINATOR_NAME, "协调员")
        li = self.person("liming01", "李明", self.units["dekuan"])
        zhang = self.person("zhanghua02", "张华", self.units["yulin"])
        zhao = self.person("zhaoqiang03", "赵强", self.units["jixian"])

        self.scene(
            time(9, 0), "协调员发“邀请”,得到各单位的绑定码 / the coordinator asks for 绑定码"
        )
        [codes, *_] = await self.say(coordinator, "邀请")
        found = _codes(codes.text)

        self.scene(
            time(9, 5), "三个单位的联络员向机器人发送绑定码 / three liaisons send their 绑定码"
        )
        for person in (li, zhang, zhao):
            code = found.get(person.role)
            if code is None:
                raise DemoError(f"邀请 gave no 绑定码 for {person.role}")
            await self.say(person, f"绑定 {code}")

        self.scene(time(9, 30), f"{li.name}报送联络员名单 / {li.name} sends the liaison list")
        menu = _one(await self.say(li, "报送"), "联络员名单")
        await self.say(li, menu.option("联络员名单"))
        await self.say(li, li.name)
        await self.say(li, "综合科科员")
        preview = _one(await self.say(li, "0556-5542026"), "确认提交")
        await self.say(li, preview.option("确认提交"))

        self.scene(
            time(10, 0),
            f"{li.name}报送信息周报并上传统计表 / {li.name} fills the weekly report",
        )
        menu = _one(await self.say(li, "报送"), "信息周报第3期")
        await self.say(li, menu.option("信息周报第3期"))
        replies: list[Sent] = []
        for answer in ("36", "128", "5", "2", "1.35", "0.8"):
            replies = await self.say(li, answer)
        optional = _one(replies, "跳过")
        await self.say(li, optional.option("跳过"))
        await self.say(li, "假冒白酒120瓶")
        files = _one(
            await self.send_file(li, weekly_workbook(), f"{li.role}-信息周报-2016-12-15.xlsx"),
            "附件已传完",
        )
        preview = _one(await self.say(li, files.option("附件已传完")), "确认提交")
        await self.say(li, preview.option("确认提交"))

        self.scene(
            time(10, 30), f"{zhang.name}本周无数据,报零报告 / {zhang.name} sends a nil report"
        )
        menu = _one(await self.say(zhang, "报送"), "信息周报第3期")
        question = _one(await self.say(zhang, menu.option("信息周报第3期")), "零报告")
        await self.say(zhang, question.option("零报告"))

        self.scene(
            time(15, 30),
            f"周报截止(15:00)之后,协调员查看情况并催报 / after the deadline the coordinator "
            f"checks and nudges ({zhao.name} has sent nothing)",
        )
        status = await self.say(coordinator, "状态")
        pictures = [s for s in status if s.msg_key == "sampleImageMsg"]
        if not pictures:
            raise DemoError("状态 sent no picture")
        self.save(STATUS_PICTURE, self.fake.media[pictures[0].param["photoURL"]][1])
        await self.say(coordinator, "未报")
        confirm = _one(await self.say(coordinator, "催报"), "确认催报")
        await self.say(coordinator, confirm.option("确认催报"))
        if not any("催报" in s.text for s in self.fake.to(zhao.user)):
            raise DemoError(f"{zhao.name} did not receive the nudge")

        self.scene(
            time(16, 0), "协调员生成本周报送情况通报 / the coordinator drafts this week's 通报"
        )
        sent = await self.say(coordinator, "通报 week")
        drafted = [
            self.fake.media[str(s.param.get("mediaId") or s.param.get("photoURL"))][1]
            for s in sent
            if s.msg_key in ("sampleFile", "sampleImageMsg")
        ]
        if len(drafted) != len(TONGBAO_FILES):
            raise DemoError(f"expected the 通报 as {len(TONGBAO_FILES)} files, got {len(drafted)}")
        for name, data in zip(TONGBAO_FILES, drafted, strict=True):
            self.save(name, data)

    # ---------------------------------------------------------------- people and scenes

    def person(self, user: str, name: str, role: str) -> Person:
        self.fake.add_user(user, name)
        self.people[user] = Person(user, name, role)
        return self.people[user]

    def scene(self, local: time, title: str) -> None:
        self.clock.set(local)
        self.scene_no += 1
        self.write(f"\n── {self.scene_no}. {local:%H:%M} {title} ──")

    def save(self, name: str, data: bytes) -> None:
        path = self.data_dir / name
        path.write_bytes(data)
        self.write(f"   (已保存 saved: {path})")

    # ---------------------------------------------------------------- actions

    async def say(self, person: Person, text: str) -> list[Sent]:
        self.write(f"{person.label} ▶ {text}")
        return await self._handled(person, await self.fake.user_sends_text(person.user, text))

    async def send_file(self, person: Person, data: bytes, name: str) -> list[Sent]:
        self.write(f"{person.label} ▶ 📎 {name} ({len(data)} bytes)")
        return await self._handled(
            person, await self.fake.user_sends_file(person.user, data, name)
        )

    async def _handled(self, person: Person, message_id: str) -> list[Sent]:
        """Wait until the robot acknowledged the message (it does once handled), print
        what it sent meanwhile; the new messages to `person`."""
        mark = len(self.fake.sent)
        frame = f"frame-{message_id}"
        try:
            await self.fake.wait_until(lambda: self.fake.acked.get(frame, 0) >= 1, REPLY_TIMEOUT)
            await self.fake.wait_until(self.bot.idle, REPLY_TIMEOUT)  # and its slow jobs
        except TimeoutError:
            raise DemoError(f"the robot did not handle {message_id}") from None
        await asyncio.sleep(0)  # let a reply sent just before the ack land
        self.flush(person.user)
        return [s for s in self.fake.sent[mark:] if s.user == person.user]

    # ---------------------------------------------------------------- the transcript

    def write(self, line: str = "") -> None:
        print(line, file=self.out)

    def flush(self, acting: str) -> None:
        for sent in self.fake.sent[self.printed :]:
            who = self.people.get(sent.user)
            to = "" if sent.user == acting or who is None else f" → {who.label}"
            if sent.msg_key == "sampleText":
                lines = sent.text.splitlines() or [""]
            elif sent.msg_key == "sampleImageMsg":
                lines = ["[图片 picture]"]
            else:
                lines = [f"[文件 file] {sent.param.get('fileName', '')}"]
            self.write(f"    机器人{to} ◀ {lines[0]}")
            for line in lines[1:]:
                self.write(f"        {line}")
        self.printed = len(self.fake.sent)


def _one(replies: list[Sent], words: str) -> Sent:
    """The reply the scenario goes on with: the last one offering `words`."""
    found = [s for s in replies if words in s.text]
    if not found:
        raise DemoError(f"expected {words!r}, the robot sent: {[s.text[:60] for s in replies]}")
    return found[-1]


def _codes(text: str) -> dict[str, str]:
    """Unit name → 绑定码, from the answer to 邀请 (`· 单位:… 绑定 K7Q2M9 …`)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("· ") and "绑定 " in line:
            unit = line[2:].split(":", 1)[0].split(":", 1)[0].strip()
            found[unit] = line.split("绑定 ", 1)[1].split()[0].strip('」”"')
    return found
