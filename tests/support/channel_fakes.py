"""Stand-ins for the services behind the channels: an SMTP sink, Telegram and Twilio replies."""

from __future__ import annotations


class Sink:
    """aiosmtpd handler: keeps every message, or answers every DATA with ``reply``."""

    def __init__(self, reply: str | None = None) -> None:
        self.messages: list = []
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


TG_TOKEN = "123456:TEST-token-abcdef"
TG_OK = {
    "ok": True,
    "result": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "x"},
}

SID = "AC" + "0" * 32
