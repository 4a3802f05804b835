"""DingTalk's OpenAPI as the robot uses it: an access token (cached, refreshed before it
expires and when refused), 1:1 robot messages, media upload and the download of what a
person sent. Base URLs are settings, so tests and 专有钉钉 deployments point elsewhere.

The sending edge respects the platform's limits: one shared rate for the app, a throttled
call backed off and retried, and a person who left the organisation (or cannot be reached)
reported as such rather than retried."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

log = logging.getLogger("cuibao.dingtalk")

API_BASE = "https://api.dingtalk.com"
OAPI_BASE = "https://oapi.dingtalk.com"
TOKEN_MARGIN = 300.0  # seconds before expiry a token is renewed
THROTTLED = (
    "Forbidden.AccessDenied.QpsLimitForApi",
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    "Throttling",
)


class DingTalkError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class Unreachable(DingTalkError):
    """The person cannot get the robot's messages (left the organisation, not in its scope)."""


class TooLarge(Exception):
    """A file past the size the bot takes."""


@dataclass
class _Token:
    value: str
    renew_at: float


class DingTalkApi:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        client_secret: str,
        robot_code: str | None = None,
        *,
        api_base: str = API_BASE,
        oapi_base: str = OAPI_BASE,
        per_second: float = 15.0,
        retries: int = 4,
    ) -> None:
        self.session = session
        self.client_id, self.client_secret = client_id, client_secret
        self.robot_code = robot_code or client_id
        self.api_base, self.oapi_base = api_base.rstrip("/"), oapi_base.rstrip("/")
        self.limiter = AsyncLimiter(per_second, 1)
        self.retries = retries
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    # ---- token ---------------------------------------------------------------------------

    async def token(self) -> str:
        async with self._token_lock:
            if self._token is not None and time.monotonic() < self._token.renew_at:
                return self._token.value
            async with self.session.post(
                f"{self.api_base}/v1.0/oauth2/accessToken",
                json={"appKey": self.client_id, "appSecret": self.client_secret},
            ) as r:
                body = await _json(r)
            self._token = _Token(
                str(body["accessToken"]), time.monotonic() + float(body["expireIn"]) - TOKEN_MARGIN
            )
            return self._token.value

    # ---- calls ---------------------------------------------------------------------------

    async def _call(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call a v1.0 API with the token; throttling backed off, a refused token renewed."""
        for attempt in range(self.retries + 1):
            async with self.limiter:
                token = await self.token()
                async with self.session.request(
                    method,
                    f"{self.api_base}{path}",
                    json=body,
                    params=query,
                    headers={"x-acs-dingtalk-access-token": token},
                ) as r:
                    try:
                        return await _json(r)
                    except DingTalkError as error:
                        if error.status == 401 or "token" in error.code.lower():
                            self._token = None  # expired or revoked: get a new one
                        elif not (error.status == 429 or error.code in THROTTLED):
                            raise
                        if attempt == self.retries:
                            raise
            await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")

    async def send(self, user: str, msg_key: str, param: dict[str, Any]) -> str:
        """One robot message to one person (batchSend with one id); its query key, by
        which DingTalk later tells whether it was read."""
        found = await self._call(
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.robot_code,
                "userIds": [user],
                "msgKey": msg_key,
                "msgParam": json.dumps(param, ensure_ascii=False),
            },
        )
        if user in (found.get("invalidStaffIdList") or []):
            raise Unreachable(200, "invalidStaffId", user)
        if user in (found.get("flowControlledStaffIdList") or []):
            raise DingTalkError(429, "flowControlled", user)
        return str(found.get("processQueryKey", ""))

    async def send_text(self, user: str, text: str) -> str:
        return await self.send(user, "sampleText", {"content": text})

    async def read_by(self, query_key: str) -> set[str]:
        """Who has read the robot message sent under `query_key` (BatchOTOQuery)."""
        found = await self._call(
            "/v1.0/robot/oToMessages/readStatus",
            method="GET",
            query={"processQueryKey": query_key, "robotCode": self.robot_code},
        )
        return {
            str(info.get("userId"))
            for info in found.get("messageReadInfoList") or []
            if str(info.get("readStatus", "")).upper() == "READ"
        }

    # ---- interactive cards ------------------------------------------------------------------

    async def send_card(
        self, user: str, template_id: str, out_track_id: str, params: dict[str, str]
    ) -> None:
        """An interactive card in the person's chat with the robot; its buttons' callbacks
        come back over Stream (createAndDeliver, callbackType STREAM)."""
        found = await self._call(
            "/v1.0/card/instances/createAndDeliver",
            {
                "cardTemplateId": template_id,
                "outTrackId": out_track_id,
                "callbackType": "STREAM",
                "cardData": {"cardParamMap": params},
                "openSpaceId": f"dtv1.card//IM_ROBOT.{user}",
                "imRobotOpenSpaceModel": {"supportForward": False},
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self.robot_code},
                "userIdType": 1,
            },
        )
        results = (found.get("result") or {}).get("deliverResults") or []
        if any(not r.get("success", True) for r in results if isinstance(r, dict)):
            raise Unreachable(200, "cardNotDelivered", user)

    async def update_card(self, out_track_id: str, params: dict[str, str]) -> None:
        """Change a card already delivered (a confirmation loses its buttons)."""
        await self._call(
            "/v1.0/card/instances",
            {"outTrackId": out_track_id, "cardData": {"cardParamMap": params}},
            method="PUT",
        )

    async def upload(self, data: bytes, file_name: str, kind: str = "file") -> str:
        """A media id for a file (kind "file") or a picture ("image")."""
        async with self.limiter:
            token = await self.token()
            form = aiohttp.FormData(quote_fields=False)  # the UTF-8 name, not %-escaped
            form.add_field("media", data, filename=file_name)
            async with self.session.post(
                f"{self.oapi_base}/media/upload",
                params={"access_token": token, "type": kind},
                data=form,
            ) as r:
                body = await _json(r)
        if body.get("errcode", 0) != 0:
            raise DingTalkError(200, str(body.get("errcode")), str(body.get("errmsg", "")))
        return str(body["media_id"])

    async def user_by_mobile(self, mobile: str) -> str | None:
        """The userid of the organisation's member with this mobile; None if none."""
        async with self.limiter:
            token = await self.token()
            async with self.session.post(
                f"{self.oapi_base}/topapi/v2/user/getbymobile",
                params={"access_token": token},
                json={"mobile": mobile},
            ) as r:
                body = await _json(r)
        if body.get("errcode", 0) == 60121:  # 找不到该用户
            return None
        if body.get("errcode", 0) != 0:
            raise DingTalkError(200, str(body.get("errcode")), str(body.get("errmsg", "")))
        return str((body.get("result") or {}).get("userid") or "") or None

    async def send_file(self, user: str, data: bytes, file_name: str) -> str:
        media = await self.upload(data, file_name)
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "file"
        return await self.send(
            user, "sampleFile", {"mediaId": media, "fileName": file_name, "fileType": extension}
        )

    async def send_picture(self, user: str, png: bytes, file_name: str) -> str:
        media = await self.upload(png, file_name, "image")
        return await self.send(user, "sampleImageMsg", {"photoURL": media})

    async def download(self, download_code: str, max_bytes: int) -> bytes:
        """What a person sent, by the download code of their message; TooLarge past
        `max_bytes` (read no further than that)."""
        found = await self._call(
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": download_code, "robotCode": self.robot_code},
        )
        async with self.session.get(str(found["downloadUrl"])) as r:
            r.raise_for_status()
            if (r.content_length or 0) > max_bytes:
                raise TooLarge(r.content_length)
            data = bytearray()
            async for chunk in r.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise TooLarge(len(data))
            return bytes(data)


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if response.status >= 400 or not isinstance(body, dict):
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        raise DingTalkError(response.status, code, message)
    return body
