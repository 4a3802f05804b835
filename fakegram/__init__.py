"""fakegram: a fake Telegram Bot API server for end-to-end tests, benchmarks and demos."""

from fakegram.client import FakeTelegramClient
from fakegram.faults import FloodConfig, Stats
from fakegram.params import ApiError
from fakegram.server import FakeTelegram
from fakegram.state import (
    ApiCall,
    CallbackAnswer,
    CallbackRecord,
    ChatMessage,
    Edit,
    SimUser,
    StoredFile,
)
from fakegram.waiting import WaitTimeout

__all__ = [
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "CallbackRecord",
    "ChatMessage",
    "Edit",
    "FakeTelegram",
    "FakeTelegramClient",
    "FloodConfig",
    "SimUser",
    "Stats",
    "StoredFile",
    "WaitTimeout",
]
