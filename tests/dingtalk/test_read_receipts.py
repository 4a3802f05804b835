"""Read receipts on DingTalk: /missing tells a unit whose people read the nudge (已读未报)
from one whose people have not (催报未读), as DingTalk reports it."""

from __future__ import annotations

from pathlib import Path

from tests.dingtalk.harness import COORDINATOR, dingtalk_bot
from tests.dingtalk.test_campaign_day_on_dingtalk import (
    CAMPAIGN_DAY,
    UNIT_A,
    UNIT_B,
    UNIT_C,
    A,
    B,
    C,
    bind,
)


async def test_missing_units_say_whether_their_liaison_read_the_nudge(tmp_path: Path) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY) as bot:
        await bind(bot)
        bot.clock.advance(hours=29.5)  # weekly report #3 has passed; nobody reported

        [before] = await bot.say(COORDINATOR, "未报")
        assert f"· {UNIT_A}(逾期未报)" in before.text  # not nudged yet: nothing to tell

        [confirm] = await bot.say(COORDINATOR, "催报")
        await bot.choose(COORDINATOR, confirm, "确认催报")
        bot.fake.reads(A)
        bot.fake.reads(B)
        [after] = await bot.say(COORDINATOR, "未报")
        assert f"· {UNIT_A}(逾期未报、已读未报)" in after.text
        assert f"· {UNIT_B}(逾期未报、已读未报)" in after.text
        assert f"· {UNIT_C}(逾期未报、催报未读)" in after.text

        bot.fake.reads(C)  # read later: the next /missing knows
        [later] = await bot.say(COORDINATOR, "未报")
        assert f"· {UNIT_C}(逾期未报、已读未报)" in later.text
