"""A unit's leader (负责人): bound by a link of their own from /leaders, they see their own
unit read-only whatever they send and cannot report; a leader's link binds one person."""

from __future__ import annotations

from pathlib import Path

import pytest

from conversation.replies import Capabilities
from tests.core.memory import MEMORY, PLAIN, memory_platform
from tests.core.test_campaign_day_in_memory import (
    A_LIAISON,
    ANSWERS,
    CAMPAIGN_DAY,
    COORDINATOR,
    DAGUAN,
    UNIT_A,
    UNIT_B,
    invitations,
    open_weekly_3,
)
from tests.core.test_campaign_day_in_memory import LINK as ANY_LINK

LEADER, OTHER = 3001, 3002


async def leader_links(platform: object) -> dict[str, str]:
    [answer] = await platform.command(COORDINATOR, "leaders")  # type: ignore[attr-defined]
    assert answer.text.startswith("“2017年元旦春节期间打假专项行动”各单位负责人的邀请链接")
    links: dict[str, str] = {}
    for line in answer.text.splitlines():
        found = ANY_LINK.search(line)
        if line.startswith("· ") and found:
            links[line[2:].split(":", 1)[0]] = found.group(0)
    return links


@pytest.mark.parametrize("capabilities", [MEMORY, PLAIN], ids=["buttons", "numbered"])
async def test_a_leader_sees_their_unit_read_only_and_nothing_else(
    tmp_path: Path, capabilities: Capabilities
) -> None:
    async with memory_platform(
        tmp_path, CAMPAIGN_DAY, DAGUAN, COORDINATOR, capabilities=capabilities
    ) as platform:
        liaison_links = await invitations(platform)
        await platform.join(A_LIAISON, "李明", liaison_links[UNIT_A])
        await open_weekly_3(platform, A_LIAISON)
        for answer in ANSWERS:
            await platform.text(A_LIAISON, answer)

        links = await leader_links(platform)
        bound, record = await platform.join(LEADER, "赵局", links[UNIT_A])
        assert bound.text.startswith(
            f"绑定成功!您现在是“{UNIT_A}”在“2017年元旦春节期间打假专项行动”中的单位负责人"
        )
        assert record.text.startswith(f"【{UNIT_A}】") or UNIT_A in record.text.splitlines()[0]
        assert "李明(信息联络员)" in record.text and "赵局(单位负责人)" in record.text

        # Whatever the leader sends, their unit's record: they cannot report.
        for sent in (platform.command(LEADER, "submit"), platform.text(LEADER, "状态")):
            [shown] = await sent
            assert shown.text.splitlines()[0] == record.text.splitlines()[0]
            assert "请选择要填报的事项" not in shown.text

        # A leader's link is spent once used; another unit's still works.
        [spent] = await platform.join(OTHER, "钱局", links[UNIT_A])
        assert spent.text == "该邀请链接无效或已过期。请向牵头单位索取新的链接。"
        bound_b, _ = await platform.join(OTHER, "钱局", links[UNIT_B])
        assert UNIT_B in bound_b.text
