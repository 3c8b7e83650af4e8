"""Bot-side helper: publish contract-v1 events to the monitor in three lines.

    from collectors.publisher import BotPublisher
    with BotPublisher("my-bot") as pub:
        pub.fill("f1", "o1", "BTC-USD", "buy", 0.5, 64000.0, fee=1.2)

Two ZeroMQ pitfalls are handled here so integrators don't meet them:
* a PUB socket that sends right after connecting loses the first messages
  (the subscriber's subscription hasn't arrived yet): we use an XPUB socket
  and wait until the monitor's subscription is seen before the first send;
* the default high-water mark (1000) drops silently: we raise it so a burst
  of 100k events is queued, not lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
import zmq

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5556"
SEND_HWM = 1_000_000
_ENCODE = msgspec.json.Encoder().encode


class NotConnected(RuntimeError):
    """The monitor's subscription did not arrive within the timeout."""


class BotPublisher:
    """Fills the envelope (v, bot, seq, ts), numbers seq from 0, and sends."""

    def __init__(
        self,
        bot_id: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        connect_timeout: float = 5.0,
        bind: bool = False,
        clock: Callable[[], float] = time.time,
        context: zmq.Context | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.clock = clock
        self.seq = 0
        self._lock = threading.Lock()
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.XPUB)
        self._sock.setsockopt(zmq.SNDHWM, SEND_HWM)
        self._sock.setsockopt(zmq.LINGER, 5000)
        (self._sock.bind if bind else self._sock.connect)(endpoint)
        if connect_timeout > 0:
            self.wait_connected(connect_timeout)

    def wait_connected(self, timeout: float) -> None:
        """Block until a subscriber has subscribed, so the first event isn't lost."""
        if not self._sock.poll(int(timeout * 1000), zmq.POLLIN):
            raise NotConnected(f"no monitor subscribed within {timeout:.1f}s")
        while self._sock.poll(0, zmq.POLLIN):
            self._sock.recv()  # subscription frames; nothing else to do with them

    def send(self, topic: str, ts: float | None = None, **fields: Any) -> int:
        """Send one event; returns the seq it was given."""
        with self._lock:
            seq = self.seq
            self.seq += 1
            body = {"v": 1, "bot": self.bot_id, "seq": seq, "ts": self.clock() if ts is None else ts}
            body.update({k: v for k, v in fields.items() if v is not None})
            self._sock.send_multipart([topic.encode(), _ENCODE(body)])
            return seq

    def heartbeat(self, ts: float | None = None) -> int:
        return self.send("heartbeat", ts)

    def account(
        self, equity: float, cash: float | None = None, currency: str | None = None, ts: float | None = None
    ) -> int:
        return self.send("account", ts, equity=equity, cash=cash, currency=currency)

    def fill(
        self,
        fill_id: str,
        order_id: str,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        fee: float = 0.0,
        ts: float | None = None,
    ) -> int:
        return self.send(
            "fill",
            ts,
            fill_id=fill_id,
            order_id=order_id,
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            fee=fee,
        )

    def mark(self, prices: dict[str, float], ts: float | None = None) -> int:
        return self.send("mark", ts, prices=prices)

    def order(
        self,
        order_id: str,
        symbol: str,
        side: str,
        type: str,
        qty: float,
        status: str,
        filled_qty: float = 0.0,
        price: float | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send(
            "order",
            ts,
            order_id=order_id,
            symbol=symbol,
            side=side,
            type=type,
            qty=qty,
            status=status,
            filled_qty=filled_qty,
            price=price,
        )

    def latency(self, op: str, ms: float, order_id: str | None = None, ts: float | None = None) -> int:
        return self.send("latency", ts, op=op, ms=ms, order_id=order_id)

    def error(self, component: str, message: str, severity: str = "error", ts: float | None = None) -> int:
        return self.send("error", ts, component=component, message=message, severity=severity)

    def health(
        self,
        apis: dict[str, str] | None = None,
        circuit_breaker: str | None = None,
        kill_switch: str | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send("health", ts, apis=apis, circuit_breaker=circuit_breaker, kill_switch=kill_switch)

    def snapshot(
        self,
        positions: list[dict],
        open_orders: list[dict],
        account: dict | None = None,
        ts: float | None = None,
    ) -> int:
        return self.send("snapshot", ts, positions=positions, open_orders=open_orders, account=account)

    def send_raw(self, topic: bytes, payload: bytes) -> None:
        """Send bytes as they are (tests of hostile input); does not number seq."""
        with self._lock:
            self._sock.send_multipart([topic, payload])

    def close(self, linger_s: float = 5.0) -> None:
        """Close, waiting up to linger_s for queued events to leave."""
        self._sock.close(linger=int(linger_s * 1000))

    def __enter__(self) -> BotPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
