"""HTTP adapter for the Bot API: /bot<token>/<method> and /file/bot<token>/<file_path>."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

from aiohttp import web

from fakegram.methods import CHAT_BOUND, lookup
from fakegram.params import ApiError, Upload, read_request
from fakegram.state import ApiCall
from fakegram.world import World

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_dumps = functools.partial(json.dumps, ensure_ascii=False)
BLOCKED = "Forbidden: bot was blocked by the user"


def telegram_response(payload: JSONDict, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=_dumps)


def _summary(params: JSONDict, uploads: dict[str, Upload]) -> JSONDict:
    """Parameters as logged in ``calls``: uploads are described, not copied."""
    summary = dict(params)
    for name, upload in uploads.items():
        summary[name] = {
            "upload": upload.file_name,
            "mime_type": upload.mime_type,
            "size": len(upload.data),
        }
    return summary


class BotApi:
    def __init__(self, world: World) -> None:
        self.world = world

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)

    async def handle(self, request: web.Request) -> web.Response:
        world = self.world
        name = request.match_info["method"]
        if request.match_info["token"] != world.token:
            return telegram_response(ApiError(401, "Unauthorized").payload(), 401)
        found = lookup(name)
        if found is None:
            # PTB reports a 404 as InvalidToken, which misleads; say what really happened.
            _LOGGER.warning("fakegram: Bot API method %r is not implemented", name)
            world.stats.record(name, 404)
            return telegram_response(ApiError(404, "Not Found").payload(), 404)
        canonical, handler = found
        call = ApiCall(canonical, {})
        world.calls.append(call)
        try:
            params, uploads = await read_request(request)
            call.params = _summary(params, uploads)
            result = await self._dispatch(canonical, params, uploads, handler)
        except ApiError as exc:
            status, payload = exc.error_code, exc.payload()
        except Exception:
            # A bug in the fake must not look like a Telegram answer the bot could rely on.
            _LOGGER.exception("fakegram: %s failed", canonical)
            status, payload = 500, ApiError(500, "Internal Server Error").payload()
        else:
            status, payload = 200, {"ok": True, "result": result}
        call.status = status
        world.stats.record(canonical, status)
        return telegram_response(payload, status)

    async def _dispatch(
        self, method: str, params: JSONDict, uploads: dict[str, Upload], handler: Any
    ) -> Any:
        world = self.world
        raw_chat = params.get("chat_id")
        chat_id = raw_chat if isinstance(raw_chat, int) else None
        injected = world.faults.take(method, chat_id)
        if injected is not None:
            world.stats.injected += 1
            raise injected
        if method in CHAT_BOUND and chat_id in world.chats and world.chats[chat_id].blocked:
            raise ApiError(403, BLOCKED)
        limited = world.flood.check(method, chat_id)
        if limited is not None:
            world.stats.flood_429 += 1
            raise limited
        result = await handler(world, params, uploads)
        late = world.take_late_answer(method)
        if late:
            await asyncio.sleep(late)  # done already: only the answer is late
        return result

    async def download(self, request: web.Request) -> web.Response:
        stored = self.world.files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.world.token or stored is None:
            return telegram_response(ApiError(404, "Not Found").payload(), 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
