"""The Stream protocol's frames and the robot's 1:1 messages, as DingTalk's open platform
publishes them (open-dingtalk/dingtalk-stream-sdk-python): plain values, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"  # robot messages, a CALLBACK subscription
CARD_TOPIC = "/v1.0/card/instances/callback"  # interactive card button callbacks
PING, DISCONNECT = "ping", "disconnect"  # SYSTEM topics
SINGLE_CHAT = "1"  # conversationType of a 1:1 chat with the robot


@dataclass(frozen=True)
class Frame:
    """One frame from the Stream WebSocket."""

    type: str  # SYSTEM, EVENT or CALLBACK
    topic: str
    message_id: str
    data: str  # JSON text

    @classmethod
    def parse(cls, raw: str) -> Frame | None:
        try:
            found = json.loads(raw)
            headers = found["headers"]
            return cls(
                str(found["type"]),
                str(headers.get("topic", "")),
                str(headers.get("messageId", "")),
                str(found.get("data", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def payload(self) -> dict[str, Any]:
        try:
            found = json.loads(self.data) if self.data else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def ack(self, response: Any = None) -> str:
        """The acknowledgement DingTalk expects for this frame (a ping echoes its data)."""
        data = self.data if self.type == "SYSTEM" else json.dumps({"response": response})
        return json.dumps(
            {
                "code": 200,
                "message": "OK",
                "data": data,
                "headers": {"messageId": self.message_id, "contentType": "application/json"},
            }
        )


@dataclass(frozen=True)
class RobotMessage:
    """A message a person sent the robot, in a 1:1 chat."""

    message_id: str  # msgId: a redelivered message carries the same one
    sender: str  # senderStaffId: the person's id in the organisation
    sender_name: str
    single_chat: bool
    kind: str  # text, file, picture, richText, …
    text: str = ""
    download_code: str = ""
    file_name: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> RobotMessage | None:
        sender = str(data.get("senderStaffId") or data.get("senderId") or "")
        message_id = str(data.get("msgId") or "")
        if not sender or not message_id:
            return None
        kind = str(data.get("msgtype", ""))
        found = data.get("content")
        content: dict[str, Any] = found if isinstance(found, dict) else {}
        text = ""
        if kind == "text" and isinstance(data.get("text"), dict):
            text = str(data["text"].get("content", "")).strip()
        return cls(
            message_id,
            sender,
            str(data.get("senderNick", "")),
            str(data.get("conversationType", SINGLE_CHAT)) == SINGLE_CHAT,
            kind,
            text,
            str(content.get("downloadCode", "")),
            str(content.get("fileName", "")),
        )


@dataclass(frozen=True)
class CardCallback:
    """A button pressed on an interactive card the robot sent (CARD_TOPIC). The card's
    template passes the button's `data` back as a parameter; a template without it
    sends the button's action id, taken as the data instead."""

    user: str  # userId of the person who pressed
    out_track_id: str  # the card's own id, chosen when it was sent
    data: str

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> CardCallback | None:
        user, card = str(payload.get("userId") or ""), str(payload.get("outTrackId") or "")
        raw = payload.get("value") or payload.get("content") or "{}"
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
            private = value["cardPrivateData"]
            params = private.get("params") or {}
            data = params.get("data") or next(iter(private.get("actionIds") or []), "")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if not user or not card or not data:
            return None
        return cls(user, card, str(data))
