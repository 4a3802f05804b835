"""Reading Bot API requests the way Telegram does: query string, JSON, urlencoded or multipart.

python-telegram-bot sends every parameter as a form field whose value is either the raw string
or a JSON dump (``chat_id=123``, ``reply_markup={"inline_keyboard": ...}``), so values have to be
coerced per parameter name; blindly JSON-decoding everything would turn the text "123" into 123.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JSONDict = dict[str, Any]

# Telegram's own limit for bot uploads is 50 MB; leave headroom for multipart overhead.
MAX_REQUEST_BYTES = 55 * 1024 * 1024

_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "from_chat_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "show_alert",
        "drop_pending_updates",
        "protect_content",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "scope",
        "commands",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
    }
)


class ApiError(Exception):
    """A Telegram error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request."""

    field: str
    file_name: str
    mime_type: str
    data: bytes


def coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            if name == "chat_id":
                return value  # "@channelusername"
            raise bad_request(f"invalid {name} specified") from None
    if name in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    return value


async def read_request(request: web.Request) -> tuple[JSONDict, dict[str, Upload]]:
    raw: JSONDict = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("request body must be a JSON object")
            raw.update(body)
        else:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    # Closed here: a request cut off later (a client gone while its answer
                    # is late) would leave the spooled file to the garbage collector.
                    with value.file:
                        data = value.file.read()
                    uploads[name] = Upload(name, value.filename, value.content_type, data)
                else:
                    raw[name] = value
    params = {name: coerce(name, value) for name, value in raw.items() if value is not None}
    return params, uploads


def opt_int(params: JSONDict, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None
    return value


def req_int(params: JSONDict, name: str, empty_reason: str | None = None) -> int:
    value = opt_int(params, name)
    if value is None:
        raise bad_request(empty_reason or f"{name} is empty")
    return value


def opt_str(params: JSONDict, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
