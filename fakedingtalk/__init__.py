"""A fake DingTalk for tests, benchmarks and the demo, as fakegram is for Telegram: the
Stream gateway (connection open, the WebSocket with its SYSTEM and CALLBACK frames), the
OpenAPI endpoints cuibao calls (token, robot messages, interactive cards and their button
callbacks, read status, media upload, file download, user lookup by mobile), faults (a
dropped socket, a redelivered message, throttling, an expired token) and a Python control
API for the test side. One organisation, one robot, all state in memory."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


@dataclass
class Sent:
    """A robot message the bot sent to a person."""

    user: str
    msg_key: str  # sampleText, sampleFile, sampleImageMsg …; "card" for an interactive card
    param: dict[str, Any]  # a card's: its cardParamMap, as last updated
    at: float = field(default_factory=time.monotonic)
    query_key: str = ""  # processQueryKey (a robot message) or outTrackId (a card)
    read: bool = False

    @property
    def text(self) -> str:
        return str(self.param.get("content", ""))

    @property
    def buttons(self) -> list[dict[str, str]]:
        """A card's buttons ({label, data}), as its template would show them."""
        found = json.loads(self.param.get("buttons") or "[]")
        return found if isinstance(found, list) else []

    def button(self, words: str) -> str:
        """The data of the card button whose label is (or holds) `words`."""
        for b in self.buttons:
            if b["label"] == words or words in b["label"]:
                return b["data"]
        raise LookupError(f"no button {words!r} on {self.text!r}: {self.buttons}")

    def option(self, words: str) -> str:
        """What to type for an option listed under this message: its number (`N. words`),
        or its words where the list is not numbered (`· words`, under a question)."""
        for line in self.text.splitlines():
            number, _, label = line.partition(". ")
            if number.isdigit() and (label == words or words in label):
                return number
            if line.startswith("· ") and words in line:
                return line.removeprefix("· ")
        raise LookupError(f"no option {words!r} in {self.text!r}")


class FakeDingTalk:
    def __init__(self, client_id: str = "ding-test", client_secret: str = "s3cret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.names: dict[str, str] = {}
        self.sent: list[Sent] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.frames: dict[str, dict[str, Any]] = {}  # messageId -> frame, to redeliver
        self.acked: dict[str, int] = {}  # messageId -> acknowledgements
        self.pongs = 0
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.throttle_next = 0  # the next n API calls answer 429 (QPS limit)
        self.invalid_users: set[str] = set()  # not in the organisation any more
        self.mobiles: dict[str, str] = {}  # mobile -> userid
        self.cards: dict[str, Sent] = {}  # outTrackId -> the card as it stands
        self.updates = 0  # card updates
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._turn = 0
        self._last_created = 0
        self._tickets: set[str] = set()
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._download_url)
        app.router.add_get("/files/{code}", self._file)
        app.router.add_post("/media/upload", self._upload)
        app.router.add_get("/v1.0/robot/oToMessages/readStatus", self._read_status)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._create_card)
        app.router.add_put("/v1.0/card/instances", self._update_card)
        app.router.add_post("/topapi/v2/user/getbymobile", self._by_mobile)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    # ---- the gateway ---------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (self.client_id, self.client_secret):
            return web.json_response({"code": "invalidClientId", "message": "bad"}, status=400)
        self.token_requests += 1
        token = f"t-{uuid.uuid4().hex[:12]}"
        self.tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (as after its expiry)."""
        self.tokens.clear()

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("clientId"), body.get("clientSecret")) != (
            self.client_id,
            self.client_secret,
        ):
            return web.json_response({"code": "invalidClient", "message": "bad"}, status=401)
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return web.json_response(
            {"endpoint": f"{self.base_url.replace('http', 'ws', 1)}/connect", "ticket": ticket}
        )

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=403)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await self._notify()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                mid = ack.get("headers", {}).get("messageId", "")
                if mid.startswith("ping-"):
                    self.pongs += 1
                else:
                    self.acked[mid] = self.acked.get(mid, 0) + 1
                await self._notify()
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    @property
    def open_connections(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self._sockets if not ws.closed]

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def _push(self, frame: dict[str, Any]) -> None:
        """To one open connection, the next in turn: with several (several processes, or
        several connections of one app), DingTalk hands each event to one of them."""
        await self.wait_until(lambda: self.connected, 10.0)
        open_ones = self.open_connections
        self._turn += 1
        ws = open_ones[self._turn % len(open_ones)]
        await ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def ping(self) -> None:
        await self._push(
            {
                "specVersion": "1.0",
                "type": "SYSTEM",
                "data": '{"opaque":"x"}',
                "headers": {
                    "topic": "ping",
                    "messageId": f"ping-{next(self._ids)}",
                    "contentType": "application/json",
                },
            }
        )

    async def disconnect(self, notice: bool = False) -> None:
        """Drop the connection: abruptly, or with the server's disconnect notice first."""
        for ws in list(self._sockets):
            if notice and not ws.closed:
                await ws.send_str(
                    json.dumps(
                        {
                            "specVersion": "1.0",
                            "type": "SYSTEM",
                            "data": "{}",
                            "headers": {
                                "topic": "disconnect",
                                "messageId": f"d-{next(self._ids)}",
                            },
                        }
                    )
                )
            else:
                await ws.close()

    # ---- what people do ------------------------------------------------------------------

    def add_user(self, staff_id: str, name: str, mobile: str = "") -> None:
        self.names[staff_id] = name
        if mobile:
            self.mobiles[mobile] = staff_id

    def reads(self, user: str) -> None:
        """The person opens the chat: every message to them so far is read."""
        for sent in self.to(user):
            sent.read = True

    async def user_presses(self, user: str, card: Sent, words: str) -> str:
        """The person presses the button labelled `words` on a card; returns the frame's
        messageId."""
        assert card.msg_key == "card" and card.user == user, card
        value = json.dumps(
            {"cardPrivateData": {"actionIds": ["button"], "params": {"data": card.button(words)}}}
        )
        message_id = f"card{next(self._ids):06d}"
        frame = {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "topic": CARD_TOPIC,
                "messageId": message_id,
                "contentType": "application/json",
                "time": str(int(time.time() * 1000)),
            },
            "data": json.dumps(
                {
                    "extension": "{}",
                    "corpId": "ding-corp",
                    "type": "actionCallback",
                    "userId": user,
                    "userIdType": 1,
                    "outTrackId": card.query_key,
                    "content": value,
                    "value": value,
                },
                ensure_ascii=False,
            ),
        }
        self.frames[message_id] = frame
        await self._push(frame)
        return message_id

    def _created_now(self) -> int:
        """DingTalk's createAt (ms); strictly increasing, as a person's messages are."""
        self._last_created = max(self._last_created + 1, int(time.time() * 1000))
        return self._last_created

    async def user_sends(self, staff_id: str, msgtype: str, **content: Any) -> str:
        message_id = f"msg{next(self._ids):06d}"
        data: dict[str, Any] = {
            "msgId": message_id,
            "msgtype": msgtype,
            "conversationType": "1",
            "senderStaffId": staff_id,
            "senderId": f"$:{staff_id}",
            "senderNick": self.names.get(staff_id, staff_id),
            "robotCode": self.client_id,
            "conversationId": f"cid-{staff_id}",
            "createAt": self._created_now(),
        }
        data.update(content)
        frame = {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "topic": ROBOT_TOPIC,
                "messageId": f"frame-{message_id}",
                "contentType": "application/json",
                "time": str(int(time.time() * 1000)),
            },
            "data": json.dumps(data, ensure_ascii=False),
        }
        self.frames[message_id] = frame
        await self._push(frame)
        return message_id

    async def user_sends_text(self, staff_id: str, text: str) -> str:
        return await self.user_sends(staff_id, "text", text={"content": text})

    async def user_sends_file(self, staff_id: str, data: bytes, file_name: str) -> str:
        code = f"dc-{uuid.uuid4().hex[:16]}"
        self.files[code] = (file_name, data)
        return await self.user_sends(
            staff_id, "file", content={"downloadCode": code, "fileName": file_name}
        )

    async def redeliver(self, message_id: str) -> None:
        """DingTalk delivers a message again (it saw no acknowledgement in time)."""
        await self._push(self.frames[message_id])

    # ---- the OpenAPI -----------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        if token not in self.tokens:
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "token expired"}, status=401
            )
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return web.json_response(
                {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}, status=429
            )
        return None

    async def _batch_send(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        body = await request.json()
        invalid = [u for u in body["userIds"] if u in self.invalid_users]
        key = uuid.uuid4().hex
        for user in body["userIds"]:
            if user not in self.invalid_users:
                self.sent.append(
                    Sent(user, body["msgKey"], json.loads(body["msgParam"]), query_key=key)
                )
        await self._notify()
        return web.json_response(
            {
                "processQueryKey": key,
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": [],
            }
        )

    async def _download_url(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        body = await request.json()
        if body.get("downloadCode") not in self.files:
            return web.json_response({"code": "invalidDownloadCode", "message": "?"}, status=400)
        return web.json_response({"downloadUrl": f"{self.base_url}/files/{body['downloadCode']}"})

    async def _file(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["code"])
        return web.Response(status=404) if found is None else web.Response(body=found[1])

    async def _upload(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        form = await request.post()
        media = form["media"]
        assert isinstance(media, web.FileField)
        media_id = f"@media{next(self._ids)}"
        self.media[media_id] = (media.filename, media.file.read())
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "media_id": media_id,
                "type": request.query.get("type", "file"),
            }
        )

    async def _read_status(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        key = request.query.get("processQueryKey", "")
        found = [s for s in self.sent if s.query_key == key and s.msg_key != "card"]
        if not key or not found:
            return web.json_response({"code": "invalidParameter", "message": "key"}, status=400)
        return web.json_response(
            {
                "sendStatus": "SUCCESS",
                "messageReadInfoList": [
                    {
                        "name": self.names.get(s.user, s.user),
                        "userId": s.user,
                        "readStatus": "READ" if s.read else "UNREAD",
                        "readTimestamp": 0,
                    }
                    for s in found
                ],
            }
        )

    async def _create_card(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        body = await request.json()
        space = str(body.get("openSpaceId", ""))
        prefix = "dtv1.card//IM_ROBOT."
        if not space.startswith(prefix) or body.get("callbackType") != "STREAM":
            return web.json_response({"code": "invalidParameter", "message": "space"}, status=400)
        user = space.removeprefix(prefix)
        track = str(body["outTrackId"])
        if user in self.invalid_users:
            return web.json_response(
                {
                    "success": True,
                    "result": {
                        "outTrackId": track,
                        "deliverResults": [
                            {
                                "spaceType": "IM_ROBOT",
                                "spaceId": user,
                                "success": False,
                                "errorMsg": "user not in organisation",
                            }
                        ],
                    },
                }
            )
        card = Sent(user, "card", dict(body["cardData"]["cardParamMap"]), query_key=track)
        self.cards[track] = card
        self.sent.append(card)
        await self._notify()
        return web.json_response(
            {
                "success": True,
                "result": {
                    "outTrackId": track,
                    "deliverResults": [
                        {"spaceType": "IM_ROBOT", "spaceId": user, "success": True}
                    ],
                },
            }
        )

    async def _update_card(self, request: web.Request) -> web.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        body = await request.json()
        card = self.cards.get(str(body.get("outTrackId")))
        if card is None:
            return web.json_response({"code": "cardNotExist", "message": "?"}, status=400)
        card.param.update(body["cardData"]["cardParamMap"])
        self.updates += 1
        await self._notify()
        return web.json_response({"success": True, "result": True})

    async def _by_mobile(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        body = await request.json()
        user = self.mobiles.get(str(body.get("mobile", "")))
        if user is None:
            return web.json_response({"errcode": 60121, "errmsg": "找不到该用户"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": {"userid": user}})

    # ---- waiting ---------------------------------------------------------------------------

    def to(self, user: str) -> list[Sent]:
        return [s for s in self.sent if s.user == user]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, probe: Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        async def poll() -> Any:
            while not (found := probe()):
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)
            return found

        return await asyncio.wait_for(poll(), timeout)
