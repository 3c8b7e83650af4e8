"""Delivery order, leases and reloads of the alert pipeline, on a fake clock.

Real pieces: a Hub fed with real events, the SQLite outbox in a temp dir, real
HTTP requests to a local server through the real channel code.  Only time is
fake: the tests step the clock and drive evaluation and delivery themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from alerts.outbox import NewRow, Outbox
from collectors.events import Error, Fill, Heartbeat, Snapshot, SnapshotPosition
from tests.support.alerts import FakeClock, Feed, bodies, kinds, make_service, settings, webhook_channel


def _hook_only(httpserver, **extra: Any):
    """Every severity to one webhook; the stale rule off (these bots report when the test says).

    The safety rules that a position or a snapshot raise besides the counter rules under test
    (a mark that ages, a snapshot that disagrees) are off: they have tests of their own.
    """
    extra.setdefault("events", {"stale": False})
    extra.setdefault("safety", {"stale_mark": False, "book_disagrees": False})
    return settings(
        channels={"hook": webhook_channel(httpserver.url_for("/hook"))},
        routes={
            "critical": {"channels": ["hook"], "repeat_interval_s": 60},
            "warning": {"channels": ["hook"]},
        },
        **extra,
    )


def _run(svc, clock: FakeClock, seconds: float, step: float = 0.5, each: Callable[[], object] | None = None):
    """Advance the fake clock in steps, evaluating and delivering at every step."""
    end = clock() + seconds
    while clock() < end - 1e-9:
        clock.advance(step)
        if each:
            each()
        svc.pump()


# ---------------------------------------------------------------- repeats of delayed alerts
def test_the_first_repeat_of_a_delayed_alert_comes_an_interval_after_it_fired(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    rule = {"name": "breaker_30s", "metric": "health.circuit_breaker", "op": "==", "value": "open"}
    rule |= {"for": 30, "severity": "critical"}
    cfg = _hook_only(httpserver, rules=[rule], events={"stale": False, "circuit_breaker": False})
    svc = make_service(feed, cfg, tmp_path)
    keep = lambda: feed.health(circuit_breaker="open")  # noqa: E731 - the bot keeps reporting
    keep()
    svc.pump()  # pending from here
    _run(svc, clock, 30, each=keep)  # fires at +30
    assert kinds(httpserver) == [("breaker_30s", "firing")]
    _run(svc, clock, 59.5, each=keep)  # +89.5: 60 s after pending is long past, 60 s after firing is not
    assert kinds(httpserver) == [("breaker_30s", "firing")]
    _run(svc, clock, 0.5, each=keep)  # +90 = fired + repeat_interval_s
    assert kinds(httpserver) == [("breaker_30s", "firing"), ("breaker_30s", "repeat")]
    svc.stop()


# ---------------------------------------------------------------- leases
def test_a_claimed_row_is_claimable_again_once_its_lease_expires(tmp_path):
    """A worker that claimed a row and vanished (no sent, retry or release) does not lose it."""
    box = Outbox(str(tmp_path))
    t0 = 1_700_000_000.0
    box.write([], [NewRow("k1", "a1", "hook", "dest", "firing", "critical", {"n": 1})], t0)
    assert [r.idem for r in box.claim("hook", ["dest"], t0, lease_s=5.0, limit=10)] == ["k1"]
    assert box.claim("hook", ["dest"], t0 + 4.99, lease_s=5.0, limit=10) == []
    assert box.next_due_by_dest("hook") == {"dest": t0 + 5.0}  # when a waiting worker wakes up
    again = box.claim("hook", ["dest"], t0 + 5.0, lease_s=5.0, limit=10)
    assert [(r.idem, r.attempts) for r in again] == [("k1", 1)]
    box.close()


def test_a_vanished_workers_row_is_delivered_by_the_same_process_after_the_lease(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _hook_only(httpserver, delivery={"lease_s": 5}), tmp_path)
    feed.health(kill_switch="triggered")
    svc.evaluate()
    # a worker claims the row and dies mid-send: nobody records a result
    claimed = svc.outbox.claim("hook", svc.channels["hook"].destinations(), clock(), 5.0, 10)
    assert len(claimed) == 1
    _run(svc, clock, 4.5, each=lambda: feed.health(kill_switch="triggered"))
    assert httpserver.log == []
    _run(svc, clock, 0.5, each=lambda: feed.health(kill_switch="triggered"))
    assert kinds(httpserver) == [("kill_switch", "firing")]
    assert bodies(httpserver)[0]["idempotency_key"] == claimed[0].idem  # the same row, not a new one
    svc.stop()


# ---------------------------------------------------------------- reloads after counter alerts
class _Bot:
    """Publishes raw events of one bot straight into the hub, with its own sequence numbers."""

    def __init__(self, feed: Feed, name: str = "c1") -> None:
        self.feed, self.name, self.seq = feed, name, itertools.count(0)

    def send(self, cls: type, seq: int | None = None, **fields: Any) -> None:
        seq = next(self.seq) if seq is None else seq
        self.feed.hub.apply(cls(v=1, bot=self.name, seq=seq, ts=self.feed.clock(), **fields))


def _critical_error(bot: _Bot) -> None:
    bot.send(Error, component="exchange", message="order book lost", severity="critical")


def _events_lost(bot: _Bot) -> None:
    bot.send(Heartbeat)
    bot.seq = itertools.count(4)
    bot.send(Heartbeat)  # seq 0 -> 4: three events lost


def _position_mismatch(bot: _Bot) -> None:
    bot.send(Fill, fill_id="f1", order_id="o1", symbol="X", side="buy", qty=1.0, price=100.0, fee=0.0)
    bot.send(Snapshot, positions=[SnapshotPosition(symbol="X", qty=2.0, avg_price=100.0)], open_orders=[])


@pytest.mark.parametrize(
    ("rule", "cause"),
    [
        ("critical_error", _critical_error),
        ("events_lost", _events_lost),
        ("position_mismatch", _position_mismatch),
    ],
)
def test_a_reload_after_a_counter_alert_resolved_sends_nothing(httpserver, tmp_path, rule, cause):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    quiet = {"stale": False, "counter_hold_s": 60, "critical_error_hold_s": 60}
    cfg = _hook_only(httpserver, events=quiet)
    svc = make_service(feed, cfg, tmp_path)
    bot = _Bot(feed)
    cause(bot)
    svc.pump()
    assert kinds(httpserver) == [(rule, "firing")]
    _run(svc, clock, 61, each=lambda: bot.send(Heartbeat))
    assert kinds(httpserver) == [(rule, "firing"), (rule, "resolved")]
    svc.reload(cfg)
    _run(svc, clock, 5, each=lambda: bot.send(Heartbeat))
    svc.reload(_hook_only(httpserver, events=quiet, thresholds={"max_latency_ms": 500}))
    _run(svc, clock, 5, each=lambda: bot.send(Heartbeat))
    assert kinds(httpserver) == [(rule, "firing"), (rule, "resolved")]
    assert svc.status().firing == 0
    svc.stop()


# ---------------------------------------------------------------- most severe first
def test_a_one_row_at_a_time_channel_sends_critical_rows_before_older_warnings(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _hook_only(httpserver), tmp_path)
    for i in range(5):
        feed.health(bot=f"w{i}", apis={"binance": "down"})
    svc.evaluate()  # five warnings queued first
    feed.health(bot="crit1", kill_switch="triggered")
    feed.health(bot="crit2", circuit_breaker="open")
    svc.evaluate()
    svc.deliver()
    sent = [(b["alert"]["severity"], b["alert"]["bot"]) for b in bodies(httpserver)]
    assert [s for s, _ in sent] == ["critical"] * 2 + ["warning"] * 5
    assert {b for _, b in sent[:2]} == {"crit1", "crit2"}
    svc.stop()


def test_in_a_flood_larger_than_one_digest_the_first_digest_carries_the_criticals(httpserver, tmp_path):
    httpserver.expect_request("/slack").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    cfg = settings(
        channels={"slack": {"type": "slack", "webhook_url": httpserver.url_for("/slack")}},
        routes={"critical": {"channels": ["slack"]}, "warning": {"channels": ["slack"]}},
        events={"stale": False},
        delivery={"max_batch": 5},
    )
    svc = make_service(feed, cfg, tmp_path)
    for i in range(12):
        feed.health(bot=f"w{i:02d}", apis={"binance": "down"})
    svc.evaluate()  # twelve warnings queued first: more than two digests of five
    feed.health(bot="crit1", kill_switch="triggered")
    feed.health(bot="crit2", circuit_breaker="open")
    svc.evaluate()
    svc.deliver()  # Slack allows one message now: one digest of five
    assert len(httpserver.log) == 1
    first = [r.payload for r in svc.outbox.notifications(status="sent")]
    assert sorted(p["severity"] for p in first) == ["critical"] * 2 + ["warning"] * 3
    text = str(httpserver.log[0][0].get_json())
    assert "crit1" in text and "crit2" in text
    _run(svc, clock, 10, step=1)
    assert len(svc.outbox.notifications(status="sent")) == 14  # the rest follow, none lost
    svc.stop()
