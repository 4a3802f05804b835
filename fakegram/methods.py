"""Bot API methods.  Each handler gets the world, coerced parameters and uploads."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fakegram import validation as check
from fakegram.params import Upload, bad_request, opt_int, opt_str, req_int
from fakegram.state import CallbackAnswer, ChatMessage, Edit, now_ts
from fakegram.world import World, scope_key

JSONDict = dict[str, Any]
Handler = Callable[[World, JSONDict, dict[str, Upload]], Awaitable[Any]]

METHODS: dict[str, Handler] = {}
# Methods whose target chat must not have blocked the bot (403 otherwise).
CHAT_BOUND = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendChatAction",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def lookup(name: str) -> tuple[str, Handler] | None:
    """Telegram method names are case-insensitive."""
    canonical = _BY_LOWER_NAME.get(name.lower())
    return (canonical, METHODS[canonical]) if canonical is not None else None


# ---------------------------------------------------------------------- bot and updates


@method("getMe")
async def get_me(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return {
        **world.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("getUpdates")
async def get_updates(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    limit = opt_int(params, "limit") or 100
    timeout = opt_int(params, "timeout") or 0
    return await world.updates.get_updates(
        opt_int(params, "offset"), limit, timeout, params.get("allowed_updates")
    )


@method("setWebhook")
async def set_webhook(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    world.webhook.configure(params)
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    world.webhook.configure(
        {"url": "", "drop_pending_updates": params.get("drop_pending_updates")}
    )
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return world.webhook.info()


@method("logOut")
async def log_out(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return True


@method("close")
async def close(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return True


# ---------------------------------------------------------------------- sending


@method("sendMessage")
async def send_message(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    raw, text, entities = check.message_text(params)
    markup = check.reply_markup(params)
    reply_to = check.reply_target(chat, params)
    preview = params.get("link_preview_options")
    message = world.add_message(
        chat,
        from_bot=True,
        text=text,
        raw_text=raw,
        parse_mode=opt_str(params, "parse_mode"),
        entities=entities,
        reply_markup=markup,
        reply_to_message_id=reply_to,
        link_preview_options=preview if isinstance(preview, dict) else None,
    )
    check.apply_keyboard(chat, markup)
    return world.message_to_api(message)


async def _send_media(
    world: World, params: JSONDict, uploads: dict[str, Upload], kind: str
) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    stored = check.input_file(world, params, uploads, kind, kind)
    raw, caption, entities = check.caption(params)
    markup = check.reply_markup(params)
    reply_to = check.reply_target(chat, params)
    media = {kind: stored}
    message = world.add_message(
        chat,
        from_bot=True,
        caption=caption,
        raw_caption=raw,
        parse_mode=opt_str(params, "parse_mode"),
        caption_entities=entities,
        reply_markup=markup,
        reply_to_message_id=reply_to,
        **media,
    )
    check.apply_keyboard(chat, markup)
    return world.message_to_api(message)


@method("sendDocument")
async def send_document(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return await _send_media(world, params, uploads, "document")


@method("sendPhoto")
async def send_photo(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return await _send_media(world, params, uploads, "photo")


@method("sendChatAction")
async def send_chat_action(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    action = opt_str(params, "action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(action)
    world.changed.notify()
    return True


# ---------------------------------------------------------------------- editing


def _editable(world: World, params: JSONDict) -> ChatMessage:
    if params.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = world.find_chat(params.get("chat_id"))
    message_id = req_int(params, "message_id", "message identifier is not specified")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _inline_markup(message: ChatMessage) -> JSONDict | None:
    markup = message.reply_markup
    return markup if markup is not None and "inline_keyboard" in markup else None


def _finish_edit(world: World, message: ChatMessage, edit: Edit, markup: JSONDict | None) -> Any:
    # Omitting reply_markup in an edit removes the inline keyboard, exactly like Telegram.
    if markup is not None or _inline_markup(message) is not None:
        message.reply_markup = markup
    message.edit_date = edit.date
    message.edits.append(edit)
    world.changed.notify()
    return world.message_to_api(message)


@method("editMessageText")
async def edit_message_text(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    message = _editable(world, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    raw, text, entities = check.message_text(params)
    markup = check.reply_markup(params, inline_only=True)
    if (text, entities, markup) == (message.text, message.entities, _inline_markup(message)):
        raise bad_request(check.NOT_MODIFIED)
    message.text, message.raw_text, message.entities = text, raw, entities
    message.parse_mode = opt_str(params, "parse_mode")
    return _finish_edit(
        world, message, Edit("editMessageText", now_ts(), text=text, reply_markup=markup), markup
    )


@method("editMessageCaption")
async def edit_message_caption(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    message = _editable(world, params)
    if message.document is None and message.photo is None:
        raise bad_request("there is no caption in the message to edit")
    raw, caption, entities = check.caption(params)
    markup = check.reply_markup(params, inline_only=True)
    if (caption, entities, markup) == (
        message.caption,
        message.caption_entities,
        _inline_markup(message),
    ):
        raise bad_request(check.NOT_MODIFIED)
    message.caption, message.raw_caption, message.caption_entities = caption, raw, entities
    return _finish_edit(
        world,
        message,
        Edit("editMessageCaption", now_ts(), caption=caption, reply_markup=markup),
        markup,
    )


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(
    world: World, params: JSONDict, uploads: dict[str, Upload]
) -> Any:
    message = _editable(world, params)
    markup = check.reply_markup(params, inline_only=True)
    if markup == _inline_markup(message):
        raise bad_request(check.NOT_MODIFIED)
    return _finish_edit(
        world, message, Edit("editMessageReplyMarkup", now_ts(), reply_markup=markup), markup
    )


@method("deleteMessage")
async def delete_message(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    message = chat.messages.get(req_int(params, "message_id"))
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    message.deleted = True
    world.changed.notify()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    callback_id = opt_str(params, "callback_query_id")
    if not callback_id:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    world.answer_callback(
        callback_id,
        CallbackAnswer(
            opt_str(params, "text"),
            bool(params.get("show_alert")),
            opt_str(params, "url"),
            opt_int(params, "cache_time"),
            now_ts(),
        ),
    )
    return True


# ---------------------------------------------------------------------- files


@method("getFile")
async def get_file(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    stored = world.files.get(opt_str(params, "file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > 20 * 1024 * 1024:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


# ---------------------------------------------------------------------- chats and commands


@method("getChat")
async def get_chat(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@method("getChatMember")
async def get_chat_member(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat = world.find_chat(params.get("chat_id"))
    user_id = req_int(params, "user_id")
    if user_id == world.bot.id:
        return {"status": "member", "user": world.bot.to_api()}
    if user_id != chat.user.id:
        raise bad_request("PARTICIPANT_ID_INVALID")
    return {"status": "member", "user": chat.user.to_api()}


def _command_key(world: World, params: JSONDict) -> tuple[str, str]:
    scope = params.get("scope")
    if scope is not None:
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        if "chat_id" in scope:
            world.find_chat(opt_int(scope, "chat_id"))
    language = opt_str(params, "language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return scope_key(scope), language


@method("setMyCommands")
async def set_my_commands(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_NAME.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = _command_key(world, params)
    if commands:
        world.command_sets[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
    else:
        world.command_sets.pop(key, None)
    world.changed.notify()
    return True


@method("getMyCommands")
async def get_my_commands(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    return world.command_sets.get(_command_key(world, params), [])


@method("deleteMyCommands")
async def delete_my_commands(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    world.command_sets.pop(_command_key(world, params), None)
    world.changed.notify()
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    button = params.get("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in (
        "default",
        "commands",
        "web_app",
    ):
        raise bad_request("can't parse menu button JSON object")
    chat_id = params.get("chat_id")
    if chat_id is None:
        world.default_menu_button = button
    else:
        world.find_chat(chat_id).menu_button = button
    world.changed.notify()
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
    chat_id = params.get("chat_id")
    button = world.find_chat(chat_id).menu_button if chat_id is not None else None
    return button or world.default_menu_button or {"type": "commands"}


def _bot_text(name: str, field: str) -> None:
    async def setter(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
        key = (field, opt_str(params, "language_code") or "")
        world.bot_texts[key] = opt_str(params, field) or ""
        return True

    async def getter(world: World, params: JSONDict, uploads: dict[str, Upload]) -> Any:
        return {
            field: world.bot_texts.get(
                (field, opt_str(params, "language_code") or ""),
                world.bot.first_name if field == "name" else "",
            )
        }

    METHODS[f"setMy{name}"] = setter
    METHODS[f"getMy{name}"] = getter


_bot_text("Name", "name")
_bot_text("Description", "description")
_bot_text("ShortDescription", "short_description")

_BY_LOWER_NAME = {name.lower(): name for name in METHODS}
