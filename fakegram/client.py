"""Client for the control API, for a process that did not start the fake (bench, demo driver).

Results are the control API's JSON (dicts), not the in-process dataclasses.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

import aiohttp

JSONDict = dict[str, Any]


class ControlError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"fakegram control API answered {status}: {message}")
        self.status = status


class FakeTelegramClient:
    """``async with FakeTelegramClient("http://127.0.0.1:8081") as fake: ...``"""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self,
        verb: str,
        path: str,
        body: JSONDict | None = None,
        query: dict[str, str] | None = None,
        read_timeout: float = 30.0,
    ) -> Any:
        if self._session is None:
            raise RuntimeError("use FakeTelegramClient as an async context manager")
        async with self._session.request(
            verb,
            f"{self.url}/_control{path}",
            json=body,
            params=query,
            timeout=aiohttp.ClientTimeout(total=read_timeout),
        ) as response:
            payload = await response.json()
        if not payload.get("ok"):
            raise ControlError(response.status, str(payload.get("error")))
        return payload["result"]

    # ------------------------------------------------------------------ setup

    async def info(self) -> JSONDict:
        """token, base_url, base_file_url, control_url and the bot user."""
        result: JSONDict = await self._call("GET", "/info")
        return result

    async def add_users(
        self, count: int, *, first_name: str = "User", language_code: str | None = "zh-hans"
    ) -> list[JSONDict]:
        return list(
            await self._call(
                "POST",
                "/users",
                {"count": count, "first_name": first_name, "language_code": language_code},
            )
        )

    async def add_user(
        self,
        user_id: int | None = None,
        first_name: str | None = None,
        *,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> JSONDict:
        users = await self._call(
            "POST",
            "/users",
            {
                "users": [
                    {
                        "id": user_id,
                        "first_name": first_name,
                        "username": username,
                        "language_code": language_code,
                    }
                ]
            },
        )
        return dict(users[0])

    # ------------------------------------------------------------------ user actions

    async def send_text(self, user_id: int, text: str) -> JSONDict:
        return dict(await self._call("POST", f"/users/{user_id}/text", {"text": text}))

    async def send_command(self, user_id: int, command: str, args: str = "") -> JSONDict:
        return dict(
            await self._call(
                "POST", f"/users/{user_id}/command", {"command": command, "args": args}
            )
        )

    async def send_start(self, user_id: int, payload: str | None = None) -> JSONDict:
        return dict(await self._call("POST", f"/users/{user_id}/start", {"payload": payload}))

    async def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str | None = None,
        *,
        text: str | None = None,
        strict: bool = True,
    ) -> str:
        result = await self._call(
            "POST",
            f"/users/{user_id}/callback",
            {"message_id": message_id, "data": data, "text": text, "strict": strict},
        )
        return str(result["callback_query_id"])

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
    ) -> JSONDict:
        return dict(
            await self._call(
                "POST",
                f"/users/{user_id}/document",
                {
                    "data_b64": base64.b64encode(data).decode("ascii"),
                    "file_name": file_name,
                    "mime_type": mime_type,
                    "caption": caption,
                },
            )
        )

    async def send_photo(
        self, user_id: int, data: bytes, *, caption: str | None = None
    ) -> JSONDict:
        return dict(
            await self._call(
                "POST",
                f"/users/{user_id}/photo",
                {"data_b64": base64.b64encode(data).decode("ascii"), "caption": caption},
            )
        )

    async def push_raw_update(self, update: JSONDict) -> int:
        """Queue any JSON object as an update; returns the update_id it was given."""
        result = await self._call("POST", "/updates/raw", update)
        return int(result["update_id"])

    async def block_chat(self, chat_id: int, *, notify: bool = False) -> None:
        await self._call("POST", f"/chats/{chat_id}/block", {"notify": notify})

    async def unblock_chat(self, chat_id: int, *, notify: bool = False) -> None:
        await self._call("POST", f"/chats/{chat_id}/unblock", {"notify": notify})

    # ------------------------------------------------------------------ reading

    async def sent(self, chat_id: int) -> list[JSONDict]:
        return list(await self._call("GET", f"/chats/{chat_id}/messages"))

    async def history(self, chat_id: int) -> list[JSONDict]:
        return list(await self._call("GET", f"/chats/{chat_id}/messages", query={"all": "1"}))

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        *,
        after: int = 0,
        contains: str | None = None,
        wait_seconds: float = 5.0,
    ) -> list[JSONDict]:
        """Bot messages newer than ``after``; raises ControlError(408) on timeout."""
        query = {"count": str(count), "after": str(after), "timeout": str(wait_seconds)}
        if contains is not None:
            query["contains"] = contains
        return list(
            await self._call(
                "GET", f"/chats/{chat_id}/wait", query=query, read_timeout=wait_seconds + 10
            )
        )

    async def callback(self, callback_id: str) -> JSONDict:
        return dict(await self._call("GET", f"/callbacks/{callback_id}"))

    async def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        query = {"language_code": language_code}
        if scope is not None:
            query["scope"] = json.dumps(scope)
        return list(await self._call("GET", "/commands", query=query))

    async def stats(self) -> JSONDict:
        """calls per method, statuses, errors, flood_429, injected, pending_updates."""
        return dict(await self._call("GET", "/stats"))

    async def reset_stats(self) -> None:
        await self._call("POST", "/stats/reset")

    async def calls(self, method: str | None = None, limit: int = 1000) -> list[JSONDict]:
        query = {"limit": str(limit)}
        if method is not None:
            query["method"] = method
        return list(await self._call("GET", "/calls", query=query))

    # ------------------------------------------------------------------ faults

    async def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        error_code: int = 400,
        description: str | None = None,
        chat_id: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        await self._call(
            "POST",
            "/faults",
            {
                "method": method,
                "times": times,
                "error_code": error_code,
                "description": description,
                "chat_id": chat_id,
                "retry_after": retry_after,
            },
        )

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def set_flood_limit(
        self,
        per_second: float | None = None,
        *,
        per_chat_per_second: float | None = None,
        burst: float | None = None,
        retry_after: int | None = None,
        mode: str = "bucket",
        methods: Iterable[str] | None = None,
    ) -> JSONDict:
        return dict(
            await self._call(
                "POST",
                "/flood",
                {
                    "per_second": per_second,
                    "per_chat_per_second": per_chat_per_second,
                    "burst": burst,
                    "retry_after": retry_after,
                    "mode": mode,
                    "methods": list(methods) if methods is not None else None,
                },
            )
        )
