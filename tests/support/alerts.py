"""Shared helpers of the alert tests: a fake clock, a real Hub fed with real events, settings builders."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import msgspec

from alerts.config import AlertsSettings
from alerts.service import AlertService
from app.hub import Hub
from collectors.events import Account, Error, Health, Latency
from core.config import CoreConfig
from core.storage_settings import StorageSettings
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.ports import free_port

__all__ = ["FakeClock", "Feed", "bodies", "free_port", "kinds", "make_service", "settings", "webhook_channel"]

STALE_AFTER_S = 30.0


class _Batches:
    """The hub's recorder: every applied batch with its arrival time, as a journal keeps them."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, int, list]] = []

    def record(self, arrival: float, received: int, items: list) -> None:
        self.batches.append((arrival, received, list(items)))


class Feed:
    """A real Hub over a real StateStore on the fake clock; methods publish typed events into it."""

    def __init__(self, clock: FakeClock, store: StateStore | None = None) -> None:
        self.clock = clock
        self.hub = Hub(store or StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=clock))
        self._seq: dict[str, itertools.count] = {}
        self._log = _Batches()
        self.hub.set_recorder(self._log)

    def _next(self, bot: str) -> int:
        return next(self._seq.setdefault(bot, itertools.count(1)))

    def restored(self) -> Feed:
        """The same state rebuilt in a new store, as a monitor restarted on its journal has it.

        Every batch is applied again with its original arrival time, so liveness
        counts from the last event before the "crash"; the bots' seq go on.
        """
        store = StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=self.clock)
        for arrival, received, items in self._log.batches:
            store.apply_batch(items, arrival, received)
        feed = Feed(self.clock, store)
        feed._seq = self._seq
        feed._log.batches = list(self._log.batches)
        return feed

    def account(self, equity: float, bot: str = "b1") -> None:
        self.hub.apply(Account(v=1, bot=bot, seq=self._next(bot), ts=self.clock(), equity=equity))

    def health(self, bot: str = "b1", **kw: Any) -> None:
        self.hub.apply(Health(v=1, bot=bot, seq=self._next(bot), ts=self.clock(), **kw))

    def latency(self, ms: float, bot: str = "b1", op: str = "submit") -> None:
        self.hub.apply(Latency(v=1, bot=bot, seq=self._next(bot), ts=self.clock(), op=op, ms=ms))

    def error(self, message: str, severity: str = "critical", bot: str = "b1") -> None:
        self.hub.apply(
            Error(
                v=1,
                bot=bot,
                seq=self._next(bot),
                ts=self.clock(),
                component="exchange",
                message=message,
                severity=severity,
            )
        )


def settings(**doc: Any) -> AlertsSettings:
    """AlertsSettings from a YAML-like dict, validated exactly as the loader does."""
    return msgspec.convert(doc, AlertsSettings)


def webhook_channel(url: str, **kw: Any) -> dict:
    return {"type": "webhook", "urls": [url], **kw}


def make_service(feed: Feed, cfg: AlertsSettings, tmp_path, seed: int = 7) -> AlertService:
    return AlertService(
        feed.hub,
        cfg,
        StorageSettings(data_dir=str(tmp_path / "data")),
        dashboard_url="http://monitor.test:8050",
        stale_after_s=STALE_AFTER_S,
        clock=feed.clock,
        rng=random.Random(seed),
    )


def bodies(server) -> list[dict]:
    """JSON bodies received by a pytest-httpserver, in order."""
    return [json.loads(req.get_data()) for req, _resp in server.log]


def kinds(server) -> list[tuple[str, str]]:
    """(rule, kind) of every webhook notification received."""
    return [(b["alert"]["rule"], b["alert"]["kind"]) for b in bodies(server)]
