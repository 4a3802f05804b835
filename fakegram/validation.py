"""Checks Telegram applies to outgoing content: text, captions, keyboards, reply targets."""

from __future__ import annotations

import mimetypes
from typing import Any

from fakegram.markup import MarkupError, render, utf16_len
from fakegram.params import ApiError, Upload, bad_request, opt_int, opt_str
from fakegram.state import ChatState, StoredFile
from fakegram.world import World

JSONDict = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_UPLOAD_LIMITS = {"document": 50 * 1024 * 1024, "photo": 10 * 1024 * 1024}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def formatted(
    params: JSONDict, field: str, entities_field: str
) -> tuple[str | None, str | None, list[JSONDict]]:
    """(raw text, plain text, entities) for ``text`` or ``caption`` with its parse_mode."""
    raw = opt_str(params, field)
    if raw is None:
        return None, None, []
    explicit = params.get(entities_field)
    if isinstance(explicit, list):
        return raw, raw, explicit
    try:
        plain, entities = render(raw, opt_str(params, "parse_mode"))
    except MarkupError as exc:
        if str(exc) == "unsupported parse_mode":
            raise bad_request("unsupported parse_mode") from None
        raise bad_request(f"can't parse entities: {exc}") from None
    return raw, plain, entities


def message_text(params: JSONDict) -> tuple[str, str, list[JSONDict]]:
    raw, plain, entities = formatted(params, "text", "entities")
    if raw is None or plain is None or not plain.strip():
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return raw, plain, entities


def caption(params: JSONDict) -> tuple[str | None, str | None, list[JSONDict]]:
    raw, plain, entities = formatted(params, "caption", "caption_entities")
    if plain is not None and utf16_len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return raw, plain, entities


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = _BUTTON_ACTIONS.intersection(button)
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = str(button["url"])
        if not url.startswith(("http://", "https://", "tg://")):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def reply_markup(params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                "can't parse inline keyboard markup JSON object: Field "
                '"inline_keyboard" must be of type Array'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'can\'t parse keyboard markup JSON object: Field "keyboard" must be of type Array'
            )
        for row in rows:
            for button in row:
                if not (
                    isinstance(button, str)
                    or (isinstance(button, dict) and isinstance(button.get("text"), str))
                ):
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def apply_keyboard(chat: ChatState, markup: JSONDict | None) -> None:
    if markup is None:
        return
    if "keyboard" in markup:
        chat.reply_keyboard = markup
    elif markup.get("remove_keyboard"):
        chat.reply_keyboard = None


def reply_target(chat: ChatState, params: JSONDict) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id = opt_int(reply, "message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = opt_int(params, "reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
    if message_id is None:
        return None
    target = chat.messages.get(message_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return message_id


def input_file(
    world: World, params: JSONDict, uploads: dict[str, Upload], field: str, kind: str
) -> StoredFile:
    """A file given as multipart upload, attach://name, or an existing file_id."""
    value = params.get(field)
    upload = uploads.get(field)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = uploads.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > _UPLOAD_LIMITS[kind]:
            raise ApiError(413, "Request Entity Too Large")
        guessed = mimetypes.guess_type(upload.file_name)[0] if upload.file_name else None
        mime = guessed or upload.mime_type or "application/octet-stream"
        name = upload.file_name if kind == "document" else None
        return world.store_file(kind, upload.data, name, mime)
    if isinstance(value, str) and value:
        stored = world.files.get(value)
        if stored is not None:
            if stored.kind != kind:
                raise bad_request(
                    f"can't use file of type {stored.kind.title()} as {kind.title()}"
                )
            return stored
        if value.startswith(("http://", "https://")):
            # The fake never fetches URLs: it must stay offline.
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")
    raise bad_request(f"there is no {field} in the request")
