"""The control API under /_control/: the test-side API for other processes (bench, demo).

Answers use Telegram's envelope: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}`` with 400 (bad input), 404 (unknown user/chat/callback) or
408 (a wait timed out).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fakegram.waiting import WaitingWorld, WaitTimeout

JSONDict = dict[str, Any]
Endpoint = Callable[[web.Request], Awaitable[Any]]
_dumps = functools.partial(json.dumps, ensure_ascii=False)
PREFIX = "/_control"


def _endpoint(func: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    @functools.wraps(func)
    async def wrapper(request: web.Request) -> web.Response:
        try:
            result = await func(request)
        except WaitTimeout as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=408, dumps=_dumps)
        except KeyError as exc:
            message = exc.args[0] if exc.args else "not found"
            return web.json_response(
                {"ok": False, "error": str(message)}, status=404, dumps=_dumps
            )
        except (LookupError, ValueError, TypeError, binascii.Error) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400, dumps=_dumps)
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    return wrapper


class _Body(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        # A missing field is the caller's mistake (400), not an unknown object (404).
        raise ValueError(f"missing field {key!r}")


async def _body(request: web.Request) -> _Body:
    if not request.can_read_body:
        return _Body()
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("control API expects a JSON object body") from None
    if not isinstance(body, dict):
        raise ValueError("control API expects a JSON object body")
    return _Body(body)


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _query_float(request: web.Request, name: str, default: float) -> float:
    value = request.query.get(name)
    return float(value) if value not in (None, "") else default


class ControlApi:
    def __init__(self, world: WaitingWorld, info: Callable[[], JSONDict]) -> None:
        self.world = world
        self.info = info

    def add_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/info", self.get_info),
            ("GET", "/users", self.list_users),
            ("POST", "/users", self.create_users),
            ("POST", "/users/{user_id}/text", self.user_text),
            ("POST", "/users/{user_id}/command", self.user_command),
            ("POST", "/users/{user_id}/start", self.user_start),
            ("POST", "/users/{user_id}/callback", self.user_callback),
            ("POST", "/users/{user_id}/document", self.user_document),
            ("POST", "/users/{user_id}/photo", self.user_photo),
            ("POST", "/updates/raw", self.raw_update),
            ("GET", "/chats/{chat_id}", self.chat_info),
            ("GET", "/chats/{chat_id}/messages", self.chat_messages),
            ("GET", "/chats/{chat_id}/wait", self.chat_wait),
            ("POST", "/chats/{chat_id}/block", self.chat_block),
            ("POST", "/chats/{chat_id}/unblock", self.chat_unblock),
            ("GET", "/callbacks/{callback_id}", self.get_callback),
            ("GET", "/commands", self.get_commands),
            ("GET", "/faults", self.list_faults),
            ("POST", "/faults", self.add_fault),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/flood", self.set_flood),
            ("GET", "/stats", self.get_stats),
            ("POST", "/stats/reset", self.reset_stats),
            ("GET", "/calls", self.list_calls),
        ]
        for verb, path, handler in routes:
            app.router.add_route(verb, PREFIX + path, _endpoint(handler))

    async def get_info(self, request: web.Request) -> Any:
        return self.info()

    async def list_users(self, request: web.Request) -> Any:
        return [user.to_json() for user in self.world.users.values()]

    async def create_users(self, request: web.Request) -> Any:
        body = await _body(request)
        if "count" in body:
            users = self.world.add_users(
                int(body["count"]),
                first_name=str(body.get("first_name", "User")),
                language_code=body.get("language_code", "zh-hans"),
            )
        else:
            users = [
                self.world.add_user(
                    spec.get("id"),
                    spec.get("first_name"),
                    username=spec.get("username"),
                    last_name=spec.get("last_name"),
                    language_code=spec.get("language_code", "zh-hans"),
                )
                for spec in body.get("users", [body])
            ]
        return [user.to_json() for user in users]

    async def user_text(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.world.send_text(
            _int(request, "user_id"),
            str(body["text"]),
            reply_to_message_id=body.get("reply_to_message_id"),
        ).to_json()

    async def user_command(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.world.send_command(
            _int(request, "user_id"), str(body["command"]), str(body.get("args") or "")
        ).to_json()

    async def user_start(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.world.send_start(_int(request, "user_id"), body.get("payload")).to_json()

    async def user_callback(self, request: web.Request) -> Any:
        body = await _body(request)
        callback_id = self.world.press_button(
            _int(request, "user_id"),
            int(body["message_id"]),
            body.get("data"),
            text=body.get("text"),
            strict=bool(body.get("strict", True)),
        )
        return {"callback_query_id": callback_id}

    async def user_document(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.world.send_document(
            _int(request, "user_id"),
            base64.b64decode(body["data_b64"], validate=True),
            str(body["file_name"]),
            str(body.get("mime_type") or "application/octet-stream"),
            caption=body.get("caption"),
        ).to_json()

    async def user_photo(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.world.send_photo(
            _int(request, "user_id"),
            base64.b64decode(body["data_b64"], validate=True),
            caption=body.get("caption"),
        ).to_json()

    async def raw_update(self, request: web.Request) -> Any:
        """Queue any JSON object as an update (e.g. one in an older Bot API's shape)."""
        body = await _body(request)
        return {"update_id": self.world.updates.push_raw(dict(body))}

    async def chat_info(self, request: web.Request) -> Any:
        chat = self.world.chat(_int(request, "chat_id"))
        return {
            **chat.to_api(),
            "blocked": chat.blocked,
            "actions": chat.actions,
            "reply_keyboard": chat.reply_keyboard,
            "menu_button": chat.menu_button,
        }

    async def chat_messages(self, request: web.Request) -> Any:
        chat_id = _int(request, "chat_id")
        every = request.query.get("all") in ("1", "true")
        messages = self.world.history(chat_id) if every else self.world.sent(chat_id)
        return [message.to_json() for message in messages]

    async def chat_wait(self, request: web.Request) -> Any:
        """Long-poll until ``count`` bot messages (newer than ``after``, containing
        ``contains`` if given) exist; answers 408 after ``timeout`` seconds."""
        chat_id = _int(request, "chat_id")
        count = int(request.query.get("count", "1"))
        after = int(request.query.get("after", "0"))
        contains = request.query.get("contains")
        timeout = _query_float(request, "timeout", 5.0)

        def probe() -> list[JSONDict] | None:
            found = [
                m
                for m in self.world.sent(chat_id)
                if m.message_id > after and (contains is None or contains in m.content)
            ]
            return [m.to_json() for m in found] if len(found) >= count else None

        return await self.world.wait_until(
            probe, timeout, describe=f"{count} bot messages in chat {chat_id}"
        )

    async def chat_block(self, request: web.Request) -> Any:
        body = await _body(request)
        self.world.block_chat(_int(request, "chat_id"), notify=bool(body.get("notify")))
        return True

    async def chat_unblock(self, request: web.Request) -> Any:
        body = await _body(request)
        self.world.unblock_chat(_int(request, "chat_id"), notify=bool(body.get("notify")))
        return True

    async def get_callback(self, request: web.Request) -> Any:
        return self.world.callback(request.match_info["callback_id"]).to_json()

    async def get_commands(self, request: web.Request) -> Any:
        scope = request.query.get("scope")
        return self.world.commands(
            json.loads(scope) if scope else None, request.query.get("language_code", "")
        )

    async def list_faults(self, request: web.Request) -> Any:
        return [rule.to_json() for rule in self.world.faults.rules]

    async def add_fault(self, request: web.Request) -> Any:
        body = await _body(request)
        self.world.fail_next(
            str(body["method"]),
            int(body.get("times", 1)),
            error_code=int(body.get("error_code", 400)),
            description=body.get("description"),
            chat_id=body.get("chat_id"),
            retry_after=body.get("retry_after"),
        )
        return True

    async def clear_faults(self, request: web.Request) -> Any:
        self.world.clear_faults()
        return True

    async def set_flood(self, request: web.Request) -> Any:
        body = await _body(request)
        self.world.set_flood_limit(
            body.get("per_second"),
            per_chat_per_second=body.get("per_chat_per_second"),
            burst=body.get("burst"),
            retry_after=body.get("retry_after"),
            mode=str(body.get("mode", "bucket")),
            methods=body.get("methods"),
        )
        return self.world.flood.config.to_json()

    async def get_stats(self, request: web.Request) -> Any:
        return {**self.world.stats.to_json(), "pending_updates": self.world.updates.pending_count}

    async def reset_stats(self, request: web.Request) -> Any:
        self.world.stats.reset()
        self.world.calls.clear()
        return True

    async def list_calls(self, request: web.Request) -> Any:
        method = request.query.get("method")
        limit = int(request.query.get("limit", "1000"))
        calls = [c for c in self.world.calls if method is None or c.method == method]
        return [call.to_json() for call in calls[-limit:]]
