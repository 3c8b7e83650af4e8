"""A BotPublisher that also records what it sent, and the monitor an uninterrupted run would be."""

from __future__ import annotations

import time

import msgspec

from app.hub import Hub
from collectors.events import decode
from collectors.publisher import BotPublisher
from core.config import CoreConfig
from core.store import StateStore

T0 = 1_700_000_000.0
_encode = msgspec.json.Encoder().encode


class RecordingBot:
    """A BotPublisher whose every event is also kept, to build the uninterrupted reference."""

    def __init__(self, pub: BotPublisher) -> None:
        self.pub = pub
        self.sent: list[tuple[str, dict]] = []
        self.i = 0

    def emit(self) -> int:
        """Fills, marks and account updates in a fixed rotation, event time only."""
        i, self.i = self.i, self.i + 1
        ts = T0 + i * 0.5
        price = 100.0 + (i % 17) - (i % 5) * 0.5
        kind = i % 4
        if kind == 0:
            fields = {
                "fill_id": f"f{i}",
                "order_id": f"o{i}",
                "symbol": "BTC",
                "side": "buy" if i % 8 == 0 else "sell",
                "qty": 0.1 + (i % 3) * 0.05,
                "price": price,
                "fee": 0.01,
            }
            return self.send("fill", ts, fields)
        if kind in (1, 2):
            return self.send("mark", ts, {"prices": {"BTC": price, "ETH": price / 20}})
        return self.send("account", ts, {"equity": 10_000.0 + (i % 23) * 3.5, "currency": "USD"})

    def heartbeat(self) -> int:
        i, self.i = self.i, self.i + 1
        return self.send("heartbeat", T0 + i * 0.5, {})

    def send(self, topic: str, ts: float, fields: dict) -> int:
        """Publish one event with its time, and keep it for the reference."""
        seq = self.pub.send(topic, ts=ts, **fields)
        self.sent.append(
            (topic, {"v": 1, "bot": self.pub.bot_id, "run": self.pub.run, "seq": seq, "ts": ts, **fields})
        )
        return seq

    def reference(self) -> Hub:
        """What a monitor that never went down shows for the same events."""
        hub = Hub(StateStore(CoreConfig(), time.time))
        for topic, body in self.sent:
            hub.apply(decode(topic.encode(), _encode(body)))
        return hub
