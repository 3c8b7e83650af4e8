"""Stand-ins for the services behind the channels: an SMTP sink, Telegram and Twilio replies, a Bot API."""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


# ---- a local Telegram Bot API, for the command link and its buttons ----------------------------
TG_ME = {"id": 777, "is_bot": True, "first_name": "Monitor", "username": "monitor_bot"}


def _form(body: bytes, content_type: str) -> dict:
    """A Bot API request's parameters: python-telegram-bot posts a form of JSON-encoded values."""
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}")
    out = {}
    for key, value in urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _plain(html_text: str) -> str:
    """What a Telegram client shows of an HTML message (the fake keeps no entities)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


class FakeBotAPI:
    """getMe, deleteWebhook, getUpdates (long poll on offset/timeout), sendMessage, editMessageText,
    answerCallbackQuery; answers 409 or 429 on request.  ``start()`` / ``stop()`` by the test.

    Updates are injected with :meth:`message` and :meth:`press`; what the monitor sent is
    in ``sent``, ``edited`` and ``answered`` (each with ``at``, monotonic, as ``injected_at``
    for the updates: the bench's clock); ``calls`` times every method called.
    """

    def __init__(self, token: str = TG_TOKEN, max_poll_s: float = 1.0) -> None:
        self.token = token
        self.max_poll_s = max_poll_s  # a long poll is cut to this, so a stop is prompt
        self.updates: list[dict] = []
        self.sent: list[dict] = []
        self.edited: list[dict] = []
        self.answered: list[dict] = []
        self.calls: dict[str, list[float]] = {}
        self.injected_at: dict[int, float] = {}  # update id -> when the test injected it (monotonic)
        self.conflict = False
        self._stopped = False
        self.fail: dict[str, list[tuple[int, dict]]] = {}
        self._next_update = 100
        self._next_message = 1
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeBotAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = _form(body, self.headers.get("Content-Type") or "")
                status, reply = fake.handle(self.path, params)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (a long poll cut at its stop)
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopped = True  # a long poll in progress answers now
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # ---- what a test injects ------------------------------------------------------------------
    def _push(self, update: dict) -> dict:
        with self._cond:
            update["update_id"] = self._next_update
            self.injected_at[self._next_update] = time.monotonic()
            self._next_update += 1
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def message(self, user: int, chat: int, text: str, date: float | None = None) -> dict:
        msg = {
            "message_id": self._new_id(),
            "date": int(time.time() if date is None else date),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": {"id": user, "is_bot": False, "first_name": f"user{user}"},
            "text": text,
        }
        return self._push({"message": msg})

    def press(self, user: int, chat: int, data: str, message: dict | None = None) -> dict:
        """A button press under ``message`` (a sent message as recorded in ``sent``)."""
        msg = dict(message or {"message_id": 0, "date": int(time.time()), "text": "x"})
        msg["chat"] = {"id": chat, "type": "private" if chat > 0 else "group"}
        query = {
            "id": f"q{self._next_update}",
            "from": {"id": user, "is_bot": False, "first_name": f"user{user}"},
            "chat_instance": "ci",
            "data": data,
            "message": msg,
        }
        return self._push({"callback_query": query})

    def _new_id(self) -> int:
        with self._cond:
            self._next_message += 1
            return self._next_message

    def count(self, method: str) -> int:
        return len(self.calls.get(method, []))

    # ---- the Bot API --------------------------------------------------------------------------
    def handle(self, path: str, params: dict) -> tuple[int, dict]:
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = path[len(prefix) :]
        self.calls.setdefault(method, []).append(time.monotonic())
        if self.fail.get(method):
            return self.fail[method].pop(0)
        if method == "getUpdates" and self.conflict:
            return 409, {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: terminated by other getUpdates request",
            }
        answer = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
        }.get(method)
        if answer is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": answer(params)}

    def _get_me(self, params: dict) -> dict:
        return TG_ME

    def _delete_webhook(self, params: dict) -> bool:
        return True

    def _get_updates(self, params: dict) -> list[dict]:
        """Updates from ``offset`` on.  Stricter than Telegram: a confirmed update is kept, so a
        poller that forgot its offset gets it again (and a test sees it applied twice)."""
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.max_poll_s)
        with self._cond:
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if pending or left <= 0 or self._stopped:
                    return pending[:100]
                self._cond.wait(left)

    def _send_message(self, params: dict) -> dict:
        msg = {
            "message_id": self._new_id(),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": _plain(params["text"]),
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        self.sent.append({**params, "message": msg, "at": time.monotonic()})
        return msg

    def _edit_message_text(self, params: dict) -> dict:
        self.edited.append({**params, "at": time.monotonic()})
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": _plain(params["text"]),
        }

    def _answer_callback_query(self, params: dict) -> bool:
        self.answered.append({**params, "at": time.monotonic()})
        return True


def too_many_requests(retry_after: int) -> tuple[int, dict]:
    """A 429 the Bot API answers under flood control."""
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
