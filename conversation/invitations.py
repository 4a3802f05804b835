"""Invitation material in the reader's language: the workbook of units and links with a
ready-to-paste notice line per unit, and a QR code (PNG) per link. Shared by /invite in
the chat and `cuibao people invite` on the command line."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from conversation.i18n import Catalogue
from services.access import IssuedInvite, Role
from services.people import CampaignPeople
from storage.invitations import invitation_workbook, qr_png, zip_files

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class Material:
    workbook: bytes
    qr_codes: tuple[tuple[str, bytes], ...]  # (file name, PNG), one per link

    @property
    def qr_zip(self) -> bytes:
        return zip_files(self.qr_codes)


def material(
    catalogue: Catalogue,
    language: str,
    people: CampaignPeople,
    issued: Sequence[IssuedInvite],
    link: Callable[[str], str],
    *,
    qr_codes: bool = True,
) -> Material:
    """The workbook, and (unless `qr_codes` is false) a QR code per link: each takes a few
    milliseconds of pure-Python CPU, so callers on an event loop run this in a thread."""

    def t(key: str, **params: object) -> str:
        return catalogue.text(key, language, **params)

    zone = ZoneInfo(people.timezone)
    free = {u.code: u.free for u in people.units}
    rows: list[list[str]] = []
    codes: list[tuple[str, bytes]] = []
    for number, invite in enumerate(issued, start=1):
        url = link(invite.token)
        roles: tuple[Role, ...]
        if invite.unit_code is None:
            unit, roles = t("role.coordinator"), (Role.COORDINATOR,)
        else:
            unit, roles = invite.unit_name, free.get(invite.unit_code, ())
        role = "、".join(t(f"role.{r.value}") for r in roles) or t("people.material.full")
        expires = catalogue.when(invite.expires_at.astimezone(zone), language)
        notice = t(
            "people.material.notice_line",
            unit=unit,
            role=role,
            campaign=people.name,
            expires=expires,
            link=url,
        )
        rows.append([unit, invite.unit_group, role, url, expires, notice])
        if qr_codes:
            codes.append((f"{number:03d}-{_UNSAFE.sub('_', unit)[:60]}.png", qr_png(url)))
    headers = [
        t(f"people.material.{h}") for h in ("unit", "group", "role", "link", "expires", "notice")
    ]
    book = invitation_workbook(t("people.material.sheet"), headers, rows)
    return Material(book, tuple(codes))
