"""A scripted two-bot trading session, published from its own process over ZeroMQ TCP.

``python -m tests.support.scripted_session ENDPOINT``: bot ``acct`` reports account
equity, bot ``deriv`` leaves the monitor to derive it; both cross a UTC
midnight.  tests/test_e2e.py knows the numbers this must produce.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from collectors.publisher import BotPublisher

MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC).timestamp()
T0 = MIDNIGHT - 120


def main(endpoint: str) -> None:
    with BotPublisher("deriv", endpoint) as d, BotPublisher("acct", endpoint) as a:
        d.heartbeat(ts=T0)
        a.account(1000.0, cash=1000.0, currency="USD", ts=T0)
        d.fill("f1", "o1", "BTC", "buy", 2.0, 100.0, fee=0.2, ts=T0 + 10)
        d.mark({"BTC": 110.0}, ts=T0 + 20)
        d.fill("f2", "o2", "BTC", "sell", 1.0, 120.0, fee=0.1, ts=T0 + 30)
        a.account(1100.0, ts=T0 + 60)
        a.order("a1", "ETH", "buy", "limit", 1.0, "new", price=10.0, ts=T0 + 61)
        a.fill("af1", "a1", "ETH", "buy", 1.0, 10.0, fee=0.0, ts=T0 + 62)
        a.order("a1", "ETH", "buy", "limit", 1.0, "filled", filled_qty=1.0, price=10.0, ts=T0 + 62)
        a.order("a2", "ETH", "sell", "limit", 1.0, "new", price=15.0, ts=T0 + 63)
        # --- UTC midnight ---
        a.account(1050.0, ts=T0 + 121)
        d.mark({"BTC": 90.0}, ts=T0 + 130)
        d.fill("f3", "o3", "BTC", "sell", 2.0, 90.0, fee=0.2, ts=T0 + 140)  # flip long -> short
        d.fill("f4", "o4", "BTC", "buy", 1.0, 95.0, fee=0.1, ts=T0 + 150)
        a.mark({"ETH": 12.0}, ts=T0 + 150)
        a.account(1080.0, ts=T0 + 150)
        d.latency("submit", 10.0, ts=T0 + 160)
        d.latency("submit", 30.0, ts=T0 + 161)
        d.latency("cancel", 5.0, ts=T0 + 161)
        d.error("ws", "<img src=x onerror=alert(1)> disconnected", "error", ts=T0 + 162)
        a.health(
            apis={"binance": "up", "kraken": "degraded"},
            circuit_breaker="closed",
            kill_switch="armed",
            ts=T0 + 163,
        )
        a.health(apis={"kraken": "down"}, ts=T0 + 164)


if __name__ == "__main__":
    main(sys.argv[1])
