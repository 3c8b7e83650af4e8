"""The Telegram command links of the running monitor: exactly one poller per bot token.

Owned by the monitor's lifetime (app/runtime.py starts and stops it), not by the
channel objects the alert service rebuilds on every settings Save: a Save that
changes nothing of a token's link keeps its poller (and its offset and counters),
one that changes its chats, operators or age limit reconfigures it in place, and
only a new token or API URL replaces it.  Two pollers on one token would answer
each other with 409 Conflict; this is why the link is keyed by token.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from alerts.channels.telegram import TelegramSettings
from alerts.config import AlertsSettings
from app.telegram.poller import Poller
from app.telegram.port import TelegramOperator
from common.logline import line
from core.monitor_documents import TelegramLink

log = logging.getLogger(__name__)


def operator_channels(settings: AlertsSettings) -> dict[str, TelegramSettings]:
    """Token -> the settings of the first Telegram channel with operators using it."""
    out: dict[str, TelegramSettings] = {}
    for cfg in settings.channels.values():
        if isinstance(cfg, TelegramSettings) and cfg.operators and cfg.token:
            out.setdefault(cfg.token, cfg)
    return out


class Links:
    """Starts, keeps, reconfigures and stops the pollers as the settings say."""

    def __init__(
        self,
        operator: TelegramOperator,
        data_dir: Path,
        make: Callable[..., Poller] = Poller,
    ) -> None:
        self._operator = operator
        self._dir = data_dir / "telegram"
        self._make = make
        self._pollers: dict[str, Poller] = {}
        self._running = False
        self._lock = threading.Lock()  # two Saves applied at once still make one poller per token

    def start(self, settings: AlertsSettings) -> None:
        """Start the links ``settings`` ask for; from now on every applied Save is followed."""
        with self._lock:
            self._running = True
        self.sync(settings)

    def _offset_file(self, token: str) -> Path:
        """Per token, named by a hash: the token itself never reaches the disk's names."""
        return self._dir / f"offset-{hashlib.sha256(token.encode()).hexdigest()[:16]}.json"

    def sync(self, settings: AlertsSettings) -> None:
        """Make the running pollers match ``settings`` (every applied Save; nothing before start)."""
        with self._lock:
            if self._running:
                self._sync(operator_channels(settings))

    def _sync(self, wanted: dict[str, TelegramSettings]) -> None:
        for token in list(self._pollers):
            poller = self._pollers[token]
            cfg = wanted.get(token)
            if cfg is None or (cfg.api_url or "") != (poller.cfg.api_url or ""):
                poller.stop()
                del self._pollers[token]
            else:
                poller.configure(cfg)
        for token, cfg in wanted.items():
            if token not in self._pollers:
                poller = self._make(cfg, self._operator, self._offset_file(token))
                self._pollers[token] = poller
                poller.start()
                log.info(line("telegram_link_started", chats=len(cfg.chat_ids), operators=len(cfg.operators)))

    def status(self) -> TelegramLink | None:
        """The link the Health tab shows (the first one; one operator channel is the usual set-up)."""
        pollers = list(self._pollers.values())  # one C-level copy: a Save may change the dict meanwhile
        return pollers[0].status() if pollers else None

    def stop(self) -> None:
        with self._lock:
            self._running = False
            for poller in self._pollers.values():
                poller.stop()
            self._pollers.clear()
