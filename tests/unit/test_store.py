"""Unit tests of the pure store on an injected clock: snapshot, orders, health, liveness, bounds."""

from __future__ import annotations

import pytest

from collectors.events import (
    Account,
    Fill,
    Health,
    Heartbeat,
    Latency,
    Mark,
    Order,
    OrderBody,
    Snapshot,
    SnapshotAccount,
    SnapshotPosition,
)
from core.config import CoreConfig, LimitsSettings, MetricsSettings
from core.store import StateStore
from tests.support.documents import metrics_of, state_of

T = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(**metrics) -> tuple[StateStore, Clock]:
    clock = Clock()
    return StateStore(CoreConfig(metrics=MetricsSettings(**metrics), stale_after_s=10.0), clock), clock


def fill(seq: int, side: str, qty: float, price: float, fee: float = 0.0, ts: float = T, sym: str = "X"):
    return Fill(
        v=1,
        bot="b",
        seq=seq,
        ts=ts,
        fill_id=f"f{seq}",
        order_id=f"o{seq}",
        symbol=sym,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
    )


def snap(seq: int, positions: list[tuple[str, float, float]], ts: float = T, orders=(), account=None):
    return Snapshot(
        v=1,
        bot="b",
        seq=seq,
        ts=ts,
        positions=[SnapshotPosition(symbol=s, qty=q, avg_price=a) for s, q, a in positions],
        open_orders=list(orders),
        account=account,
    )


def test_snapshot_counts_mismatches_and_replaces_positions() -> None:
    store, _ = make()
    store.apply(fill(0, "buy", 2, 100))
    store.apply(fill(1, "buy", 1, 50, sym="Y"))
    # X agrees, Y has a different qty, Z appears from nowhere
    store.apply(snap(2, [("X", 2, 100), ("Y", 3, 50), ("Z", 1, 10)]))
    m = metrics_of(store)["bots"]["b"]
    assert m["position_mismatches"] == 2
    pos = {p["symbol"]: p["qty"] for p in state_of(store, "b")["positions"]}
    assert pos == {"X": 2, "Y": 3, "Z": 1}
    # symbols absent from a snapshot are flat
    store.apply(snap(3, [("X", 2, 100 * (1 + 1e-12))]))  # within 1e-9 relative: agrees
    assert metrics_of(store)["bots"]["b"]["position_mismatches"] == 2 + 2  # Y and Z vanished
    assert [p["symbol"] for p in state_of(store, "b")["positions"]] == ["X"]


def test_snapshot_keeps_round_trip_on_same_side_and_ends_it_uncounted_on_flip() -> None:
    store, _ = make()
    store.apply(fill(0, "buy", 2, 100, fee=1.0))
    store.apply(snap(1, [("X", 1, 100)]))  # same side: the trip goes on
    store.apply(fill(2, "sell", 1, 110, fee=1.0))
    m = metrics_of(store)["bots"]["b"]
    assert m["closed_trades"] == 1
    assert m["expectancy"] == pytest.approx(10 - 2.0)  # both fees belong to the trip
    store.apply(fill(3, "buy", 1, 100))
    store.apply(snap(4, [("X", -1, 100)]))  # flipped by the snapshot: trip ends uncounted
    store.apply(fill(5, "buy", 1, 90))
    m = metrics_of(store)["bots"]["b"]
    assert m["closed_trades"] == 2  # only the new short trip (from the snapshot) closed
    assert m["wins"] == 2


def test_snapshot_orders_and_account() -> None:
    store, _ = make()
    order = OrderBody(
        order_id="o9", symbol="X", side="buy", type="limit", qty=1, price=5, status="new", filled_qty=0
    )
    store.apply(
        Order(
            v=1,
            bot="b",
            seq=0,
            ts=T,
            order_id="o1",
            symbol="X",
            side="buy",
            type="limit",
            qty=1,
            status="new",
            filled_qty=0,
        )
    )
    store.apply(snap(1, [], orders=[order], account=SnapshotAccount(equity=777.0)))
    st = state_of(store, "b")
    assert [o["order_id"] for o in st["open_orders"]] == ["o9"]
    m = metrics_of(store)["bots"]["b"]
    assert (m["equity"], m["equity_source"]) == (777.0, "account")


def test_order_lifecycle() -> None:
    store, _ = make()

    def order(seq: int, status: str, filled: float = 0.0) -> Order:
        return Order(
            v=1,
            bot="b",
            seq=seq,
            ts=T + seq,
            order_id="o1",
            symbol="X",
            side="sell",
            type="limit",
            qty=2,
            price=10,
            status=status,
            filled_qty=filled,
        )

    store.apply(order(0, "new"))
    store.apply(order(1, "partially_filled", 1))
    assert state_of(store, "b")["open_orders"][0]["filled_qty"] == 1
    store.apply(order(2, "canceled", 1))
    assert state_of(store, "b")["open_orders"] == []


def test_health_merges_apis_by_name_and_keeps_absent_fields() -> None:
    store, _ = make()
    store.apply(
        Health(
            v=1,
            bot="b",
            seq=0,
            ts=T,
            apis={"a": "up", "b": "up"},
            circuit_breaker="closed",
            kill_switch="armed",
        )
    )
    store.apply(Health(v=1, bot="b", seq=1, ts=T, apis={"b": "down"}))
    store.apply(Health(v=1, bot="b", seq=2, ts=T, kill_switch="triggered"))
    assert metrics_of(store)["bots"]["b"]["health"] == {
        "apis": {"a": "up", "b": "down"},
        "circuit_breaker": "closed",
        "kill_switch": "triggered",
    }


def test_stale_uses_arrival_time_on_the_injected_clock() -> None:
    store, clock = make()
    store.apply(Heartbeat(v=1, bot="b", seq=0, ts=T))
    clock.t += 9.9
    m = metrics_of(store)["bots"]["b"]
    assert m["stale"] is False and m["last_event_age_s"] == pytest.approx(9.9)
    clock.t += 0.2
    assert metrics_of(store)["bots"]["b"]["stale"] is True
    store.apply(Heartbeat(v=1, bot="b", seq=1, ts=T + 1))
    assert metrics_of(store)["bots"]["b"]["stale"] is False


def test_account_events_replace_the_derived_curve() -> None:
    store, _ = make()
    store.apply(fill(0, "buy", 1, 100, fee=1))
    assert metrics_of(store)["bots"]["b"]["equity"] == 9999.0
    store.apply(Account(v=1, bot="b", seq=1, ts=T + 1, equity=500.0))
    store.apply(Mark(v=1, bot="b", seq=2, ts=T + 2, prices={"X": 200.0}))  # no derived point any more
    m = metrics_of(store)["bots"]["b"]
    assert (m["equity"], m["equity_source"], m["unrealized_pnl"]) == (500.0, "account", 100.0)
    assert state_of(store, "b")["equity_curve"] == [[T + 1, 500.0]]


def test_latency_window_is_event_time_and_nulls_when_empty() -> None:
    store, _ = make(latency_window_s=10)
    store.apply(Latency(v=1, bot="b", seq=0, ts=T, op="submit", ms=100.0))
    store.apply(Latency(v=1, bot="b", seq=1, ts=T + 5, op="cancel", ms=1.0))
    assert metrics_of(store)["bots"]["b"]["latency_ms"]["count"] == 2
    store.apply(Heartbeat(v=1, bot="b", seq=2, ts=T + 10))  # T falls out of (now-10, now]
    lat = metrics_of(store)["bots"]["b"]["latency_ms"]
    assert (lat["count"], lat["max"], list(lat["by_op"])) == (1, 1.0, ["cancel"])
    store.apply(Heartbeat(v=1, bot="b", seq=3, ts=T + 100))
    lat = metrics_of(store)["bots"]["b"]["latency_ms"]
    assert lat == {"count": 0, "avg": None, "p50": None, "p95": None, "max": None, "by_op": {}}


def test_memory_stays_bounded() -> None:
    store, _ = make(equity_curve_points=64, latency_max_samples=100, recent_fills=10)
    for i in range(5000):
        store.apply(Mark(v=1, bot="b", seq=2 * i, ts=T + i, prices={"X": 100.0 + i % 7}))
        store.apply(Latency(v=1, bot="b", seq=2 * i + 1, ts=T + i, op="submit", ms=float(i)))
    st = state_of(store, "b")
    assert len(st["equity_curve"]) <= 64
    assert st["equity_curve"][0][0] == T  # the oldest history is thinned, not dropped
    assert st["equity_curve"][-1][0] == T + 4999
    assert metrics_of(store)["bots"]["b"]["latency_ms"]["count"] == 100


def test_daily_pnl_in_a_non_utc_timezone() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ny_midnight = datetime(2026, 7, 1, tzinfo=ZoneInfo("America/New_York")).timestamp()
    store, _ = make(timezone="America/New_York")
    store.apply(Account(v=1, bot="b", seq=0, ts=ny_midnight - 60, equity=100.0))
    store.apply(Account(v=1, bot="b", seq=1, ts=ny_midnight - 1, equity=120.0))
    store.apply(Account(v=1, bot="b", seq=2, ts=ny_midnight + 60, equity=90.0))
    assert metrics_of(store)["bots"]["b"]["daily_pnl"] == -30.0


def test_too_many_bots_is_rejected_and_counted() -> None:
    store = StateStore(CoreConfig(limits=LimitsSettings(max_bots=2)), Clock())
    for i, bot in enumerate(("a", "b", "c")):
        store.apply(Heartbeat(v=1, bot=bot, seq=i, ts=T))
    m = metrics_of(store)
    assert sorted(m["bots"]) == ["a", "b"]
    assert m["collector"]["rejected_by_reason"] == {"too_many_bots": 1}


def test_stale_threshold_can_change_at_run_time() -> None:
    from app.hub import Hub

    clock = Clock()
    hub = Hub(StateStore(CoreConfig(stale_after_s=10.0), clock))
    hub.apply(Heartbeat(v=1, bot="b", seq=0, ts=T))
    clock.t += 6
    assert metrics_of(hub)["bots"]["b"]["stale"] is False
    version = hub.version
    hub.set_stale_after(5.0)  # what saving the settings form does
    assert hub.version > version  # pages and alerts re-evaluate at once
    assert hub.stale_after_s == 5.0 and metrics_of(hub)["bots"]["b"]["stale"] is True
