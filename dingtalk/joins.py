"""Bindings offered on DingTalk to the people a plan names (by userid or mobile): each is
looked up, claimed once in the database (whichever process gets there first) and sent a
message to bind with — a card button where a template is configured, else a numbered
choice, and the 绑定码 words either way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from conversation.i18n import Catalogue
from conversation.start import JOIN_PREFIX
from dingtalk.api import DingTalkApi, DingTalkError
from services.join_offers import JoinOfferService
from services.ports import Button, Delivery, Notifier

log = logging.getLogger("cuibao.dingtalk")
_UNKNOWN: set[str] = set()  # mobiles already reported as unknown by this process


async def offer_bindings(
    offers: JoinOfferService,
    api: DingTalkApi,
    notifier: Notifier,
    catalogue: Catalogue,
    clock: Callable[[], datetime],
) -> int:
    """Offer every pending binding once; how many were sent."""
    sent = 0
    for offer in await offers.pending(clock()):
        contact = offer.contact
        user: str | None = contact.dingtalk
        if not user:
            try:
                user = await api.user_by_mobile(contact.mobile)
            except (DingTalkError, OSError):
                log.warning("DingTalk: looking up a mobile failed; tried again later")
                continue
        if not user:  # not (yet) in the organisation: looked up again next time
            if offer.key not in _UNKNOWN:
                _UNKNOWN.add(offer.key)
                log.warning(
                    "DingTalk: no member has the mobile the plan gives for %s", offer.unit_name
                )
            continue
        if not await offers.claim(offer, user, "sent", clock()):
            continue  # another process offered it
        token = await offers.token(offer, clock())
        text = catalogue.text(
            "join.offer",
            name=contact.name,
            unit=offer.unit_name,
            campaign=offer.campaign_name,
            role=catalogue.text(f"role.{contact.role}"),
            words=f"绑定 {token}",
        )
        button = Button(catalogue.text("join.button"), f"{JOIN_PREFIX}:{token}")
        delivery = await notifier.send(user, text, [[button]])
        if delivery is Delivery.SENT:
            sent += 1
        else:
            await offers.settle(offer, "failed")
    return sent
