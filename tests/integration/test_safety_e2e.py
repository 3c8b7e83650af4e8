"""The safety invariants end to end: bots over real ZeroMQ, a real ``python -m app``, a real webhook.

One monitor for the module (each scenario is a bot of its own).  Every invariant has a bot
that breaks it, whose last event is the culprit: the alert must reach the webhook with no
further event of that bot, naming the culprit.  The legal bots (exits after a kill switch, a
kill switch re-armed, a bot restart, orders cancelled in time, a protection that acted) send
everything first; once every breaking bot has fired, none of them may have fired a safety rule.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from werkzeug import Request, Response

from alerts import safety_catalog
from collectors.publisher import BotPublisher
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SAFETY = {r.name for r in safety_catalog.SAFETY}
LEGAL = ("exits", "rearmed", "restarted", "cancelled", "acted")


class Receiver:
    """Every notification body the webhook got, as (kind, rule, bot, summary)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())["alert"]
        with self._lock:
            self.seen.append((body["kind"], body["rule"], body["bot"], body.get("summary") or ""))
        return Response("ok")

    def said(self, kind: str, rule: str, bot: str) -> str | None:
        with self._lock:
            return next((s for k, r, b, s in self.seen if (k, r, b) == (kind, rule, bot)), None)

    def safety_of(self, bot: str) -> list[tuple[str, str]]:
        with self._lock:
            return [(k, r) for k, r, b, _ in self.seen if b == bot and r in SAFETY]


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Iterator[tuple[MonitorProcess, Receiver]]:
    from pytest_httpserver import HTTPServer

    server = HTTPServer()
    server.start()
    rec = Receiver()
    server.expect_request("/hook").respond_with_handler(rec)
    hook = server.url_for("/hook")
    yaml = (
        "alerts:\n  tick_s: 0.2\n"
        f"  channels:\n    hook:\n      type: webhook\n      urls: ['{hook}']\n"
        "  routes:\n    critical: {channels: [hook]}\n    warning: {channels: [hook]}\n"
        "  safety: {max_orders_per_min: 20}\n"
    )
    mon = MonitorProcess(tmp_path_factory.mktemp("safety"), stale_after_s=600.0, extra_yaml=yaml).start()
    try:
        yield mon, rec
    finally:
        mon.stop()
        server.clear()
        server.stop()


T = time.time() - 600.0  # event time of every scenario's start (all in the past)


def _bot(mon: MonitorProcess, name: str) -> BotPublisher:
    return BotPublisher(name, mon.zmq)


def _order(pub: BotPublisher, oid: str, at: float, status: str = "new", side: str = "buy", qty: float = 0.5):
    pub.order(oid, "BTC-USD", side, "limit", qty, status, price=100.0, ts=T + at)


def _fired(rec: Receiver, rule: str, bot: str) -> str:
    wait_until(lambda: rec.said("firing", rule, bot) is not None, timeout=20)
    return rec.said("firing", rule, bot) or ""


def _legal_bots(mon: MonitorProcess) -> None:
    """Everything here is allowed: no safety rule may fire on these bots."""
    with _bot(mon, "exits") as pub:  # exits after a kill switch are allowed
        pub.fill("f1", "o1", "BTC-USD", "buy", 1.0, 100.0, ts=T)
        pub.health(kill_switch="triggered", ts=T + 1)
        pub.fill("f2", "o2", "BTC-USD", "sell", 0.4, 100.0, ts=T + 5)
        pub.fill("f3", "o3", "BTC-USD", "sell", 0.6, 100.0, ts=T + 6)
        pub.mark({"BTC-USD": 100.0}, ts=T + 7)
    with _bot(mon, "rearmed") as pub:  # a kill switch re-armed: trading is legal again
        pub.health(kill_switch="triggered", ts=T)
        pub.health(kill_switch="armed", ts=T + 1)
        _order(pub, "o1", 5)
    with _bot(mon, "restarted") as pub:
        pub.health(kill_switch="triggered", ts=T)
    with _bot(mon, "restarted") as pub:  # a new run: a new process with its own switches
        _order(pub, "o1", 5)
    with _bot(mon, "cancelled") as pub:  # orders cancelled in time
        _order(pub, "o1", 0)
        pub.health(kill_switch="triggered", ts=T + 1)
        _order(pub, "o1", 3, status="canceled")
        pub.heartbeat(ts=T + 60)
    with _bot(mon, "acted") as pub:  # the bot's own protection acted within the grace
        pub.health(kill_switch="armed", ts=T)
        pub.account(10_000.0, currency="USD", ts=T)
        pub.account(8_000.0, currency="USD", ts=T + 1)
        pub.health(kill_switch="triggered", ts=T + 1.5)


def test_each_invariant_fires_at_its_culprit_and_the_legal_bots_never_do(scene) -> None:
    mon, rec = scene
    _legal_bots(mon)
    with _bot(mon, "late") as pub:
        pub.health(kill_switch="triggered", ts=T)
        _order(pub, "o-17", 3.2)
        words = _fired(rec, "trading_after_stop", "late")
    assert words.startswith("trading 3.2 s after kill switch TRIGGERED: BUY 0.5 BTC-USD, order o-17")
    with _bot(mon, "left-open") as pub:
        _order(pub, "o-1", 0)
        _order(pub, "o-2", 0, side="sell")
        pub.health(kill_switch="triggered", ts=T + 1)
        _order(pub, "o-1", 2, status="canceled")
        pub.heartbeat(ts=T + 40)
        words = _fired(rec, "orders_open_after_kill", "left-open")
    assert "1 order still open" in words and words.endswith(": o-2")
    with _bot(mon, "loop") as pub:
        for i in range(21):
            _order(pub, f"o-{i}", i * 0.01)
        assert "21 new orders in the last minute > limit 20" in _fired(rec, "runaway_orders", "loop")
    with _bot(mon, "resend") as pub:
        _order(pub, "o-5", 0)
        _order(pub, "o-5", 1)
        assert "order o-5 re-sent as new" in _fired(rec, "runaway_orders", "resend")
    with _bot(mon, "no-mark") as pub:
        pub.fill("f1", "o1", "BTC-USD", "buy", 1.0, 100.0, ts=T)
        pub.mark({"ETH-USD": 2000.0}, ts=T + 61)
        assert "BTC-USD 1 min 01 s" in _fired(rec, "stale_mark", "no-mark")
    with _bot(mon, "blind") as pub:
        pub.health(kill_switch="armed", ts=T)
        pub.account(10_000.0, currency="USD", ts=T)
        pub.account(8_000.0, currency="USD", ts=T + 1)
        assert "protection did not act" in _fired(rec, "protection_missed", "blind")
    with _bot(mon, "book") as pub:
        pub.fill("f1", "o1", "BTC-USD", "buy", 1.0, 100.0, ts=T)
        pub.snapshot([{"symbol": "BTC-USD", "qty": 0.75, "avg_price": 100.0}], [], ts=T + 1)
        assert _fired(rec, "book_disagrees", "book").endswith("BTC-USD monitor 1, bot 0.75")
        pub.snapshot([{"symbol": "BTC-USD", "qty": 0.75, "avg_price": 100.0}], [], ts=T + 2)
        wait_until(lambda: rec.said("resolved", "book_disagrees", "book") is not None, timeout=20)
    for bot in LEGAL:  # every legal bot's events were evaluated before the last breaking bot's
        assert rec.safety_of(bot) == [], bot
