"""The Telegram command link: one thread long-polling ``getUpdates`` for one bot token (an edge).

Outbound connections only, so commands and buttons work with a loopback-only
dashboard.  The thread owns an asyncio loop and a python-telegram-bot ``Bot``
(``base_url`` from the channel's ``api_url``); it reads updates, checks user and chat
(app/telegram/auth.py), answers through app/telegram/dispatch.py, and remembers the
update offset in a small file, so a restart neither drops the updates that arrived
while the monitor was down nor applies one twice.

Failures never spin: a 409 Conflict (another process polls the same token) is shown
as ``conflict`` on the Health tab, logged once, and retried every
:data:`CONFLICT_BACKOFF_S`; a 429's ``retry_after`` is waited out; network errors
back off up to 30 s.  Nothing a chat user sends can raise out of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from alerts import buttons
from alerts.channels.telegram import DEFAULT_API, TelegramSettings
from app import actions
from app.telegram.auth import Gate
from app.telegram.commands import Command, Refused, parse
from app.telegram.dispatch import Dispatcher
from app.telegram.port import TelegramOperator
from app.telegram.text import MAX_CHARS, esc, split
from common.logline import line
from core import present
from core.monitor_documents import TelegramLink

log = logging.getLogger(__name__)

#: Wait after a 409 Conflict before polling again: another process holds the token.
CONFLICT_BACKOFF_S = 30.0
#: Longest wait after a network error (doubling from 1 s).
MAX_BACKOFF_S = 30.0
#: Updates getUpdates returns at most in one answer (Telegram's default limit).
BATCH = 100
#: Longest 429 wait honoured for a reply before it is given up.
MAX_RETRY_AFTER_S = 60.0


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OffsetFile:
    """The next update id to ask for, kept across restarts (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8")).get("offset")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, int) and value > 0 else None

    def save(self, offset: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"offset": offset}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk: the link goes on, a restart may re-read some updates
            log.warning(line("telegram_offset_not_saved", error=exc.strerror))


class Poller:
    """One long-polling thread for one bot token; ``start()`` / ``stop()`` by the monitor's lifetime."""

    def __init__(
        self,
        cfg: TelegramSettings,
        operator: TelegramOperator,
        offset_file: Path,
        *,
        clock: Callable[[], float] = time.time,
        poll_timeout_s: int = 20,
        conflict_backoff_s: float = CONFLICT_BACKOFF_S,
    ) -> None:
        self.cfg = cfg
        self.token = cfg.token or ""
        self.api = (cfg.api_url or DEFAULT_API).rstrip("/")
        self.gate = Gate(cfg.operators, cfg.chat_ids)
        self.dispatcher = Dispatcher(operator, clock)
        self.offsets = OffsetFile(offset_file)
        self.clock = clock
        self.poll_timeout_s = poll_timeout_s
        self.conflict_backoff_s = conflict_backoff_s
        self._status = TelegramLink(state="starting", since=clock())
        self._updates = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="telegram-poller", daemon=True)
        self._username = ""
        self._backlog = True  # what waits at start (read without waiting): sent while the monitor was down

    # ---- lifetime ----------------------------------------------------------------------------
    def configure(self, cfg: TelegramSettings) -> None:
        """New operators, chats or age limit, same token: swapped in place (the next update sees them)."""
        self.cfg = cfg
        self.gate = Gate(cfg.operators, cfg.chat_ids)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def status(self) -> TelegramLink:
        """The link as the Health tab shows it."""
        s = self._status
        return TelegramLink(
            state=s.state,
            error=s.error,
            since=s.since,
            updates=self._updates,
            unauthorized=self.gate.refused,
        )

    def _set(self, state: str, error: str | None = None) -> bool:
        """Change the shown state; True when it changed (the caller logs it then, once)."""
        if self._status.state == state and self._status.error == error:
            return False
        self._status = TelegramLink(state=state, error=error, since=self.clock())  # type: ignore[arg-type]
        return True

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._task = self._loop.create_task(self._main())
            with contextlib.suppress(asyncio.CancelledError):
                self._loop.run_until_complete(self._task)
        finally:
            self._set("stopped")
            self._loop.close()

    # ---- the polling loop --------------------------------------------------------------------
    def _bot(self) -> Any:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        timeout = self.cfg.timeout_s
        request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
        polling = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
        return Bot(self.token, base_url=f"{self.api}/bot", request=request, get_updates_request=polling)

    async def _main(self) -> None:
        bot = self._bot()
        offset = self.offsets.load()
        backoff = 1.0
        try:
            while True:
                try:
                    wait = await self._poll_once(bot, offset)
                except Exception as exc:  # whatever it was, the link backs off and goes on
                    self._failed("retrying", f"{type(exc).__name__}")
                    wait = None
                if isinstance(wait, int):
                    offset, backoff = wait, 1.0
                    continue
                delay = backoff if wait is None else wait
                backoff = min(MAX_BACKOFF_S, backoff * 2) if wait is None else 1.0
                await asyncio.sleep(delay)
        finally:
            with contextlib.suppress(Exception):
                await bot.shutdown()

    async def _poll_once(self, bot: Any, offset: int | None) -> int | float | None:
        """One getUpdates round: the next offset (int), a wait in seconds (float), or None (back off)."""
        from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

        try:
            if not self._username:
                await bot.initialize()  # getMe: the bot's own name, for "/status@name" in groups
                await bot.delete_webhook(drop_pending_updates=False)  # never drop what is waiting
                self._username = bot.username or ""
            updates = await bot.get_updates(
                offset=offset,
                timeout=0 if self._backlog else self.poll_timeout_s,  # the backlog: what waits now
                allowed_updates=["message", "callback_query"],
            )
        except Conflict:
            self._failed("conflict", "another process polls this bot token (409 Conflict)")
            return self.conflict_backoff_s
        except RetryAfter as exc:
            self._failed("retrying", f"flood control: retry after {_seconds(exc.retry_after):g} s")
            return _seconds(exc.retry_after)
        except InvalidToken:
            self._failed("retrying", "the bot token was refused")
            return MAX_BACKOFF_S
        except (NetworkError, TelegramError) as exc:
            self._failed("retrying", f"{type(exc).__name__}: {exc.message}")
            return None
        if self._set("polling"):
            log.info(line("telegram_polling", bot=self._username or None))
        for update in updates:
            await self._handle(bot, update)
            offset = update.update_id + 1
            self.offsets.save(offset)
        self._backlog = self._backlog and len(updates) >= BATCH  # drained: from now on, live updates
        return offset if offset is not None else 0

    def _failed(self, state: str, error: str) -> None:
        if self.token:
            error = error.replace(self.token, "<token>")  # never a secret on the page or in the log
        if self._set(state, error):  # once per change, never once per attempt
            log.warning(line(f"telegram_{state}", error=error))

    async def _handle(self, bot: Any, update: Any) -> None:
        """One update; whatever it holds, it cannot end the loop."""
        self._updates += 1
        try:
            if update.callback_query is not None:
                await self._press(bot, update.callback_query)
            elif update.message is not None:
                await self._message(bot, update.message)
        except Exception as exc:  # a reply that failed, a malformed update: logged, next one
            log.warning(line("telegram_update_failed", update=update.update_id, error=type(exc).__name__))

    def _allowed(self, user: Any, chat_id: Any) -> bool:
        user_id = None if user is None else user.id
        if self.gate.allows(user_id, chat_id):
            return True
        if self.gate.refuse(user_id):
            log.warning(line("telegram_unauthorized", user=user_id, chat=chat_id))
        return False

    # ---- commands ----------------------------------------------------------------------------
    async def _message(self, bot: Any, msg: Any) -> None:
        if not self._allowed(msg.from_user, msg.chat_id):
            return
        parsed = parse(msg.text, self._username)
        if parsed is None:
            return
        if isinstance(parsed, Refused):
            await self._reply(bot, msg.chat_id, esc(parsed.answer))
            return
        age = self.clock() - msg.date.timestamp()
        if age > self.cfg.max_update_age_s:
            await self._reply(bot, msg.chat_id, self._too_old(parsed, age))
            return
        actor = actions.telegram(msg.from_user.id)
        await self._reply(bot, msg.chat_id, self.dispatcher.answer(parsed, actor))

    @staticmethod
    def _too_old(cmd: Command, age: float) -> str:
        return f"/{cmd.name}: too old ({present.duration(age)} ago), not applied."

    async def _reply(self, bot: Any, chat_id: int, html_text: str) -> None:
        for part in split(html_text):
            await self._send(bot, chat_id, part)

    async def _send(self, bot: Any, chat_id: int, text: str, attempts: int = 3) -> None:
        """One message; a 429 is waited out (up to a minute) and the message sent again."""
        from telegram.constants import ParseMode
        from telegram.error import RetryAfter

        for _ in range(attempts):
            try:
                await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
                return
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                if wait > MAX_RETRY_AFTER_S:
                    break
                await asyncio.sleep(wait)
        log.warning(line("telegram_reply_dropped", chat=chat_id, reason="flood control"))

    # ---- buttons -----------------------------------------------------------------------------
    async def _press(self, bot: Any, query: Any) -> None:
        msg = query.message
        if not self._allowed(query.from_user, None if msg is None else msg.chat.id):
            return
        press = buttons.decode(query.data)
        if press is None:
            await bot.answer_callback_query(query.id, text="Unknown button: nothing done.")
            return
        if self._backlog and press.action == "silence":  # a press from before the start: not dated
            await bot.answer_callback_query(query.id, text="Too old, not applied.")
            return
        outcome = self.dispatcher.press(press, actions.telegram(query.from_user.id))
        await bot.answer_callback_query(query.id, text=outcome.answer[:190])
        if outcome.note is not None and msg is not None:
            await self._note(bot, msg, outcome.note, press)

    async def _note(self, bot: Any, msg: Any, note: str, press: buttons.Press) -> None:
        """Append who acted to the alert message; the pressed alert's buttons go (after an Ack, both)."""
        from telegram.constants import ParseMode

        text = f"{msg.text_html}\n\n{note}" if msg.text else note
        if len(text) > MAX_CHARS:
            await self._send(bot, msg.chat.id, note)
            return
        await bot.edit_message_text(
            text,
            chat_id=msg.chat.id,
            message_id=msg.message_id,
            parse_mode=ParseMode.HTML,
            disable_web_page_preview=True,
            reply_markup=_without(msg.reply_markup, press),
        )


def _without(markup: Any, press: buttons.Press) -> Any:
    """The message's buttons less those the press made pointless; None when none is left."""
    from telegram import InlineKeyboardMarkup

    def pointless(data: str | None) -> bool:
        b = buttons.decode(data)
        return (
            b is not None
            and b.alert_id == press.alert_id
            and (press.action == "ack" or b.action == press.action)
        )

    rows = [
        [b for b in row if not pointless(b.callback_data)]
        for row in (markup.inline_keyboard if markup else ())
    ]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None
