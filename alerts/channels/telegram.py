"""Telegram through python-telegram-bot, on an asyncio event loop owned by this channel.

PTB is asyncio-only; the delivery worker is a plain thread, so the channel keeps
one private loop and runs each send to completion on it.  The loop is never
shared with anything else, so a slow Telegram cannot stall another component.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from alerts import buttons, messages, notification
from alerts.channels.base import (
    BaseChannel,
    ChannelSettings,
    ChannelType,
    Destination,
    FormField,
    Limit,
    Result,
    Secret,
    delivered,
    permanent,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row

DEFAULT_API = "https://api.telegram.org"
MAX_CHARS = 4096

# httpx logs every request URL at INFO, and Telegram's URLs contain the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("telegram").setLevel(logging.WARNING)


class TelegramSettings(
    ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="telegram"
):
    """A bot token and the chats it writes to."""

    required: ClassVar = (("token", "chat_ids"),)

    token: Secret = None
    chat_ids: list[str | int] = []
    api_url: Destination = None  # default "https://api.telegram.org"
    #: Telegram user ids allowed to command the monitor and press its buttons; empty = send-only.
    operators: list[Annotated[int, msgspec.Meta(gt=0)]] = []
    #: A command older than this when it is read is answered "too old, not applied".
    max_update_age_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 300.0


def _block(p: dict) -> str:
    icon = notification.icon(p)
    head = html.escape(notification.headline(p), quote=False)
    return f"{icon}<b>{head}</b>\n" + "\n".join(_fitting(p, MAX_CHARS - 200 - len(head)))


def _fitting(p: dict, room: int) -> list[str]:
    """The detail lines, escaped, whole, as many as fit in ``room`` (a report of many bots is long)."""
    lines = [html.escape(x, quote=False) for x in notification.lines(p)]
    kept: list[str] = []
    for x in lines:
        room -= len(x) + 1
        if room < 0:
            kept.append(f"... and {len(lines) - len(kept)} more lines")
            break
        kept.append(x)
    return kept


def message(payloads: list[dict], dashboard_url: str) -> str:
    """One Telegram HTML message <= 4096 characters: whole alert blocks, then "... and N more".

    One message per digest keeps a flood within Telegram's per-chat rate limit;
    blocks are added whole, so the limit never cuts a tag.
    """
    link = f'\n<a href="{html.escape(dashboard_url)}">Open the dashboard</a>'
    ps = messages.ordered(payloads)
    text, used = "", 0
    for p in ps:
        block = _block(p)
        candidate = f"{text}\n\n{block}" if text else block
        if text and len(candidate) + len(link) + 40 > MAX_CHARS:
            break
        text, used = candidate, used + 1
    if used < len(ps):
        text += f"\n\n... and {len(ps) - used} more on the dashboard"
    return text + link


#: The notices of an alert still firing: the ones an operator can acknowledge or silence.
BUTTON_EVENTS = frozenset({"firing", "repeat", "escalation", "failover"})
#: Alerts of one digest that get their own pair of buttons (the rest: on the dashboard).
MAX_BUTTON_ROWS = 10


def _label(action: str, p: dict, alone: bool) -> str:
    """``Ack`` under a single alert; ``Ack bot/rule`` in a digest (button text is never markup)."""
    return action if alone else messages.trim(f"{action} {p.get('bot')}/{p.get('rule')}", 40)


def keyboard(payloads: list[dict]) -> object | None:
    """Ack / Silence 1h per firing alert of the message (most severe first); None when there is none."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    seen: dict[str, dict] = {}
    for p in messages.ordered(payloads):
        aid = str(p.get("alert_id") or "")
        if notification.kind_of(p) == "alert" and p.get("kind") in BUTTON_EVENTS and aid not in seen:
            seen[aid] = p
    rows = []
    for aid, p in list(seen.items())[:MAX_BUTTON_ROWS]:
        ack, silence = buttons.ack_data(aid), buttons.silence_data(aid)
        if ack and silence:
            alone = len(seen) == 1
            rows.append(
                [
                    InlineKeyboardButton(_label("Ack", p, alone), callback_data=ack),
                    InlineKeyboardButton(_label("Silence 1h", p, alone), callback_data=silence),
                ]
            )
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramChannel(BaseChannel):
    batch_max = 500  # a digest: whole alert blocks up to 4096 characters, then a count
    default_rate = 1.0  # per chat

    def __init__(self, name: str, cfg: TelegramSettings, dashboard_url: str) -> None:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        super().__init__(name, cfg, dashboard_url)
        self._loop = asyncio.new_event_loop()
        api = (cfg.api_url or DEFAULT_API).rstrip("/")
        request = HTTPXRequest(
            connect_timeout=cfg.timeout_s, read_timeout=cfg.timeout_s, write_timeout=cfg.timeout_s
        )
        self.bot = Bot(token=cfg.token or "", base_url=f"{api}/bot", request=request)

    def destinations(self) -> list[str]:
        return [str(c) for c in self.cfg.chat_ids]

    def limits(self, dest: str) -> list[Limit]:
        """Telegram: 1/s per chat, 20/min per group (negative ids), 30/s for the whole bot."""
        per_chat = self.cfg.rate_per_s or self.default_rate
        out = [Limit(f"{self.name}:{dest}", per_chat), Limit(f"{self.name}:*", 30.0, 30.0)]
        if dest.startswith("-"):
            out.append(Limit(f"{self.name}:{dest}:group", 20 / 60, 20.0))
        return out

    def render(self, rows: list[Row]) -> object:
        return message([r.payload for r in rows], self.dashboard_url).encode("utf-8")

    def send(self, dest: str, rows: list[Row]) -> Result:
        from telegram.constants import ParseMode
        from telegram.error import (
            BadRequest,
            Forbidden,
            InvalidToken,
            NetworkError,
            RetryAfter,
            TelegramError,
        )

        text = message([r.payload for r in rows], self.dashboard_url)  # one message per digest
        markup = keyboard([r.payload for r in rows]) if self.cfg.operators else None
        try:
            self._loop.run_until_complete(
                self.bot.send_message(
                    chat_id=dest,
                    text=text,
                    parse_mode=ParseMode.HTML,
                    disable_web_page_preview=True,
                    reply_markup=markup,
                )
            )
        except RetryAfter as exc:
            ra = exc.retry_after
            seconds = ra.total_seconds() if isinstance(ra, timedelta) else float(ra)
            return transient(f"telegram flood control: retry after {seconds:g} s", seconds)
        except (Forbidden, InvalidToken, BadRequest) as exc:
            return permanent(f"telegram {type(exc).__name__}: {exc.message}")
        except (NetworkError, TelegramError) as exc:
            return transient(f"telegram {type(exc).__name__}: {exc.message}")
        return delivered()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort at shutdown
            self._loop.run_until_complete(self.bot.shutdown())
        self._loop.close()


TYPE = ChannelType(
    "telegram",
    "Telegram",
    TelegramSettings,
    TelegramChannel,
    form=(
        FormField("token", "Bot token", "secret"),
        FormField("chat_ids", "Chat ids", "chatids"),
        FormField("api_url", "API base URL (optional)", "url?"),
    ),
)
