"""The core's services, reachable from python-telegram-bot's context (no string keys
scattered around)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from conversation.services import AppServices

_KEY = "cuibao.services"


class CustomContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> AppServices:
        services: AppServices = self.bot_data[_KEY]
        return services


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> AppServices:
    services: AppServices = application.bot_data[_KEY]
    return services


def install(application: Application[Any, Any, Any, Any, Any, Any], services: AppServices) -> None:
    application.bot_data[_KEY] = services
