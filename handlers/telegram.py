"""The Telegram adapter: a python-telegram-bot update becomes a core event, and the core's
replies become Bot API calls. Nothing here decides anything about campaigns or reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram import Message as TelegramMessage
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from conversation.dispatch import handle
from conversation.events import (
    Command,
    Event,
    FileArrived,
    Join,
    Other,
    Press,
    Sender,
    Text,
)
from conversation.replies import (
    Ack,
    Activity,
    Busy,
    Capabilities,
    Document,
    Edit,
    Menu,
    Message,
    Picture,
    Reply,
    Sent,
)
from conversation.services import AppServices
from handlers.context import CustomContext
from handlers.menus import set_menu_for
from services.ports import Button

# Telegram's limits for a photo (sendPhoto); a bigger picture goes as a document.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000

TELEGRAM = Capabilities(
    buttons=True,
    button_data_bytes=64,
    can_edit=True,
    message_chars=4096,  # counted in UTF-16 code units
    max_upload_bytes=50 * 1024 * 1024,
    max_download_bytes=20 * 1024 * 1024,  # without a self-hosted Bot API server
    pictures=True,
)


def keyboard(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
        for row in buttons
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def is_not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing, which is success here."""
    return "message is not modified" in exc.message.lower()


class SentMessage:
    """A message in a chat, to be edited later, by this process or another."""

    def __init__(self, bot: Bot, chat_id: int, message_id: int) -> None:
        self.bot, self.chat_id, self.message_id = bot, chat_id, message_id

    @property
    def ref(self) -> str:
        return str(self.message_id)

    async def edit(self, text: str) -> None:
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=self.message_id
            )
        except BadRequest as exc:
            if not is_not_modified(exc):
                raise


class TelegramChannel:
    """Where the replies go: a private chat, and the button pressed there if any."""

    capabilities = TELEGRAM

    def __init__(
        self,
        bot: Bot,
        services: AppServices,
        chat_id: int,
        query: CallbackQuery | None = None,
    ) -> None:
        self.bot, self.services, self.chat_id, self.query = bot, services, chat_id, query

    def invitation(self, token: str) -> str:
        username = self.services.bot_username or self.bot.username
        return f"https://t.me/{username}?start={token}"

    def resume(self, ref: str) -> Sent | None:
        return SentMessage(self.bot, self.chat_id, int(ref))

    async def deliver(self, reply: Reply) -> Sent | None:
        query = self.query
        match reply:
            case Message(text, buttons):
                sent = await self.bot.send_message(
                    self.chat_id, text, reply_markup=keyboard(buttons)
                )
                return SentMessage(self.bot, self.chat_id, sent.message_id)
            case Edit(text, buttons) if query is not None and query.message is not None:
                try:
                    await query.edit_message_text(text, reply_markup=keyboard(buttons))
                except BadRequest as exc:
                    # A second tap asks for the very text the first one put there: done.
                    if not is_not_modified(exc):
                        raise
            case Edit(text, buttons):
                return await self.deliver(Message(text, buttons))
            case Ack(text):
                if query is not None:
                    await query.answer(text)
            case Document(data, name, caption):
                await self.bot.send_document(
                    self.chat_id, InputFile(data, filename=name), caption=caption or None
                )
            case Picture(png, name, caption):
                await send_picture(self.bot, self.chat_id, png, name, caption)
            case Busy(activity):
                action = (
                    ChatAction.TYPING
                    if activity is Activity.TYPING
                    else ChatAction.UPLOAD_DOCUMENT
                )
                with contextlib.suppress(TelegramError):  # only a hint
                    await self.bot.send_chat_action(self.chat_id, action)
            case Menu(coordinator):
                await set_menu_for(self.bot, self.chat_id, coordinator, self.services.catalogue)
        return None


def event_of(update: Update) -> Event | None:
    """The core event an update carries; None for what is nobody's concern (a channel
    post, a group)."""
    if update.callback_query is not None:
        query = update.callback_query
        shown = query.message.text if isinstance(query.message, TelegramMessage) else None
        return Press(query.data or "", shown)
    message = update.effective_message
    if message is None:
        return None
    edited = update.edited_message is not None
    if message.document is not None:
        doc = message.document
        return FileArrived(
            doc.file_name or "file",
            doc.file_size,
            doc.mime_type or "application/octet-stream",
            _fetcher(message.get_bot(), doc.file_id),
            message.caption or "",
            edited=edited,
        )
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        return FileArrived(
            f"photo-{photo.file_unique_id}.jpg",
            photo.file_size,
            "image/jpeg",
            _fetcher(message.get_bot(), photo.file_id),
            message.caption or "",
            is_picture=True,
            edited=edited,
        )
    if message.text is not None:
        text = message.text
        if text.startswith("/") and not edited:
            return _command(text)
        return Text(text, edited=edited)
    return Other()


def _command(text: str) -> Command | Join:
    head, *args = text.split()
    name = head[1:].split("@", 1)[0].lower()
    if name == "start" and args:  # an invitation's deep link
        return Join(args[0])
    return Command(name, tuple(args))


def _fetcher(bot: Bot, file_id: str) -> Callable[[], asyncio.Future[bytes]]:
    async def fetch() -> bytes:
        telegram_file = await bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())

    return fetch  # type: ignore[return-value]


async def on_update(update: Update, context: CustomContext) -> None:
    """Every update of a private chat goes through the core."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    event = event_of(update)
    if event is None:
        return
    sender = Sender(str(user.id), user.full_name, user.language_code)
    services = context.services
    channel = TelegramChannel(context.bot, services, chat.id, update.callback_query)
    await handle(event, sender, channel, services)


def reach_chats(bot: Bot, services: AppServices) -> None:
    """Slow jobs of people on Telegram answer in their private chat (conversation.slow)."""
    services.reaches.route(
        "telegram", services, lambda user: TelegramChannel(bot, services, int(user))
    )


async def send_picture(bot: Bot, chat_id: int, png: bytes, name: str, caption: str) -> None:
    """As a photo when Telegram takes it as one, else as a document (never shrunk)."""
    if len(png) <= PHOTO_MAX_BYTES and _sides(png) <= PHOTO_MAX_SIDES:
        await bot.send_photo(chat_id, png, caption=caption or None)
    else:
        await bot.send_document(chat_id, InputFile(png, filename=name), caption=caption or None)


def _sides(png: bytes) -> int:
    """Width plus height, read from the PNG header (IHDR) without decoding the picture."""
    return int.from_bytes(png[16:20], "big") + int.from_bytes(png[20:24], "big")
