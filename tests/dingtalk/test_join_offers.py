"""People a plan names by mobile or DingTalk userid are offered their binding by the bot,
once each, and bind with one reply."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage import models as m
from tests.dingtalk.harness import DAGUAN, dingtalk_bot
from tests.dingtalk.test_campaign_day_on_dingtalk import CAMPAIGN_DAY, UNIT_A, UNIT_B

PLAN = (
    DAGUAN.read_text(encoding="utf-8")
    .replace(
        f'name = "{UNIT_A}"\n',
        f'name = "{UNIT_A}"\n'
        'liaison = { name = "李明", mobile = "13800000001" }\n'
        'deputy = { name = "张华", dingtalk = "zhanghua02" }\n',
        1,
    )
    .replace(
        f'name = "{UNIT_B}"\n',
        f'name = "{UNIT_B}"\nliaison = {{ name = "周敏", mobile = "13900000009" }}\n',
        1,
    )
)


async def test_the_people_a_plan_names_are_offered_their_binding_once_and_bind_with_it(
    tmp_path: Path,
) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY, plan_text=PLAN) as bot:
        bot.fake.add_user("liming01", "李明", mobile="13800000001")
        bot.fake.add_user("zhanghua02", "张华")
        await bot.bot.offer_bindings()
        await bot.bot.offer_bindings()  # again (and the loop's own round): nothing new
        await bot.fake.wait_until(lambda: len({s.user for s in bot.fake.sent}) >= 2)
        offers = {s.user: s for s in bot.fake.sent if "由您担任" in s.text}
        assert sorted(offers) == ["liming01", "zhanghua02"]
        assert len([s for s in bot.fake.sent if "由您担任" in s.text]) == 2
        assert offers["liming01"].text.startswith(
            f"李明您好!“2017年元旦春节期间打假专项行动”中,“{UNIT_A}”的信息联络员由您担任。"
        )

        # 李明 picks the offered choice; 张华 types the words the message gives.
        [bound, *_] = await bot.say("liming01", offers["liming01"].option("确认绑定"))
        assert bound.text.startswith(f"绑定成功!您现在是“{UNIT_A}”")
        words = offers["zhanghua02"].text.split("或回复:", 1)[1].splitlines()[0]
        [bound, *_] = await bot.say("zhanghua02", words)
        assert "副联络员" in bound.text

        # 周敏's mobile is nobody's in the organisation yet: offered once she is.
        assert "13900000009" not in {s.user for s in bot.fake.sent}
        bot.fake.add_user("zhoumin09", "周敏", mobile="13900000009")
        await bot.bot.offer_bindings()
        assert [s.user for s in bot.fake.sent if "由您担任" in s.text][-1] == "zhoumin09"

        async with bot.db.sessions() as s:
            outcomes = (await s.execute(select(m.JoinOffer.contact, m.JoinOffer.outcome))).all()
        assert sorted(tuple(r) for r in outcomes) == [
            ("dingtalk:zhanghua02", "sent"),
            ("mobile:13800000001", "sent"),
            ("mobile:13900000009", "sent"),
        ]


async def test_a_card_offer_binds_with_one_press(tmp_path: Path) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY, plan_text=PLAN, cards=True) as bot:
        await bot.bot.offer_bindings()  # or the loop's round at start-up: either sends it
        [card] = await bot.fake.wait_until(
            lambda: [s for s in bot.fake.to("zhanghua02") if "由您担任" in s.text]
        )
        assert card.msg_key == "card"
        pressed = await bot.press("zhanghua02", card, "确认绑定")
        assert any(s.text.startswith(f"绑定成功!您现在是“{UNIT_A}”") for s in pressed)
