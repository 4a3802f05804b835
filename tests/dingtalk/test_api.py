"""The DingTalk OpenAPI client against the fake: the token is cached and renewed when
refused, throttling is backed off and retried, a person who left is reported as such, a
download stops at the size limit, and a repeated text is never sent twice identically."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from dingtalk.adapter import Repeats
from dingtalk.api import DingTalkApi, TooLarge, Unreachable
from dingtalk.protocol import CardCallback
from fakedingtalk import FakeDingTalk


@pytest.fixture
async def setup() -> AsyncIterator[tuple[FakeDingTalk, DingTalkApi]]:
    async with FakeDingTalk() as fake, aiohttp.ClientSession() as http:
        api = DingTalkApi(
            http,
            fake.client_id,
            fake.client_secret,
            api_base=fake.base_url,
            oapi_base=fake.base_url,
            per_second=100,
        )
        yield fake, api


async def test_the_token_is_fetched_once_and_again_only_when_refused(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    await api.send_text("u1", "一")
    await api.send_text("u1", "二")
    assert fake.token_requests == 1
    fake.expire_tokens()
    await api.send_text("u1", "三")
    assert fake.token_requests == 2
    assert [s.text for s in fake.to("u1")] == ["一", "二", "三"]


async def test_a_throttled_call_is_retried_after_a_pause_and_goes_out_once(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    fake.throttle_next = 2
    await api.send_text("u1", "催报")
    assert [s.text for s in fake.to("u1")] == ["催报"]


async def test_a_person_outside_the_organisation_is_unreachable_not_retried(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    fake.invalid_users.add("gone")
    with pytest.raises(Unreachable):
        await api.send_text("gone", "催报")
    assert fake.to("gone") == []


async def test_a_download_stops_at_the_size_limit(setup: tuple[FakeDingTalk, DingTalkApi]) -> None:
    fake, api = setup
    fake.files["small"] = ("a.pdf", b"%PDF" + b"x" * 100)
    fake.files["big"] = ("b.pdf", b"%PDF" + b"x" * 5000)
    assert await api.download("small", 1000) == b"%PDF" + b"x" * 100
    with pytest.raises(TooLarge):
        await api.download("big", 1000)


async def test_files_and_pictures_are_uploaded_then_sent(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    await api.send_file("u1", b"PK\x03\x04 workbook", "汇总报表.xlsx")
    await api.send_picture("u1", b"\x89PNG picture", "status.png")
    file, picture = fake.to("u1")
    assert file.msg_key == "sampleFile" and file.param["fileName"] == "汇总报表.xlsx"
    assert fake.media[file.param["mediaId"]] == ("汇总报表.xlsx", b"PK\x03\x04 workbook")
    assert picture.msg_key == "sampleImageMsg"
    assert fake.media[picture.param["photoURL"]][1] == b"\x89PNG picture"


def test_the_same_text_twice_in_a_row_to_one_person_is_made_distinct() -> None:
    repeats = Repeats()
    first = repeats.distinct("u1", "请回复编号")
    second = repeats.distinct("u1", "请回复编号")
    other = repeats.distinct("u2", "请回复编号")
    assert first == other == "请回复编号" and second != first
    assert second.strip("\u2060") == first


async def test_who_read_a_robot_message_is_asked_by_its_query_key(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    key = await api.send_text("u1", "【催报】请尽快填报")
    assert await api.read_by(key) == set()
    fake.reads("u1")
    assert await api.read_by(key) == {"u1"}


async def test_a_card_to_someone_outside_the_organisation_is_reported_unreachable(
    setup: tuple[FakeDingTalk, DingTalkApi],
) -> None:
    fake, api = setup
    fake.invalid_users.add("gone")
    with pytest.raises(Unreachable):
        await api.send_card("gone", "t.schema", "card-1", {"content": "x", "buttons": "[]"})
    await api.send_card("u1", "t.schema", "card-2", {"content": "x", "buttons": "[]"})
    await api.update_card("card-2", {"content": "y", "buttons": "[]"})
    assert fake.cards["card-2"].text == "y"


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ('{"cardPrivateData":{"actionIds":["b1"],"params":{"data":"cf:12"}}}', "cf:12"),
        ('{"cardPrivateData":{"actionIds":["cf:7"],"params":{}}}', "cf:7"),  # no data param
        ('{"cardPrivateData":{"actionIds":[],"params":{}}}', None),
        ("not json", None),
    ],
)
def test_a_card_callback_gives_the_pressed_buttons_data(value: str, data: str | None) -> None:
    found = CardCallback.parse({"userId": "u1", "outTrackId": "card-1", "value": value})
    assert (found.data if found else None) == data
