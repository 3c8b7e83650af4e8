"""Hand-computed examples of the state store's bookkeeping: sequences, rejects, rates, orders,
snapshots, curve thinning, Sharpe buckets and latency windows.

Each case is small enough to compute on paper; the numbers in the comments are
that computation.  Documents are read as the API serves them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from collectors.events import (
    Account,
    Error,
    Fill,
    Heartbeat,
    Latency,
    Order,
    OrderBody,
    Snapshot,
    SnapshotAccount,
    SnapshotPosition,
)
from core.config import CoreConfig, LimitsSettings, MetricsSettings
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of

T0 = 1_700_006_400.0  # a midnight UTC, and a multiple of every bucket size used here


def _store(clock: FakeClock | None = None, **metrics: object) -> StateStore:
    return StateStore(CoreConfig(metrics=MetricsSettings(**metrics)), clock or FakeClock(T0))


def _bot(store: StateStore, bot: str = "b") -> dict:
    return metrics_of(store)["bots"][bot]


def _hb(seq: int, bot: str = "b", ts: float = T0) -> Heartbeat:
    return Heartbeat(v=1, bot=bot, seq=seq, ts=ts)


def _fill(seq: int, side: str, qty: float, price: float, ts: float = T0) -> Fill:
    return Fill(
        v=1, bot="b", seq=seq, ts=ts, fill_id=f"f{seq}", order_id=f"o{seq}", symbol="X", side=side,
        qty=qty, price=price, fee=0.0,
    )  # fmt: skip


def _snapshot(seq: int, positions: list[tuple[float, float]], ts: float = T0, orders=()) -> Snapshot:
    held = [SnapshotPosition(symbol="X", qty=q, avg_price=a) for q, a in positions]
    return Snapshot(v=1, bot="b", seq=seq, ts=ts, positions=held, open_orders=list(orders))


def _order(seq: int, order_id: str, status: str = "new") -> Order:
    return Order(
        v=1, bot="b", seq=seq, ts=T0 + seq, order_id=order_id, symbol="X", side="buy", type="limit",
        qty=1.0, price=10.0, status=status, filled_qty=0.0,
    )  # fmt: skip


# ---------------------------------------------------------------- sequences
def test_lost_events_and_resets_add_up_over_several_gaps() -> None:
    store = _store()
    for seq in (0, 2, 5, 3, 1):  # gaps of 1 and 2, then two unannounced restarts
        store.apply(_hb(seq))
    events = _bot(store)["events"]
    assert (events["lost"], events["seq_resets"], events["received"]) == (3, 2, 5)


def test_a_reject_with_a_readable_seq_advances_the_sequence_check() -> None:
    store = _store()
    store.apply(_hb(0))
    store.reject("invalid_field", "bad qty", bot="b", seq=3)  # 1 and 2 lost
    store.apply(_hb(4))  # follows the rejected 3: nothing more lost
    store.reject("invalid_field", "bad qty", bot="b", seq=5)
    store.apply(_hb(8))  # 6 and 7 lost: the rejected 5 counts as the last seq seen
    events = _bot(store)["events"]
    assert (events["lost"], events["rejected"], events["received"]) == (4, 2, 3)


# ---------------------------------------------------------------- rejects and versions
def test_rejects_are_counted_by_reason_and_bot_and_kept_trimmed() -> None:
    clock = FakeClock(T0)
    store = _store(clock)
    store.apply(_hb(0))
    version = store.version
    store.reject("invalid_field", "d" * 400, topic="fill", excerpt="e" * 300, bot="b", seq=1)
    assert store.version == version + 1  # every write is one new version for the readers
    clock.advance(1.0)
    store.reject("invalid_field", "short", bot="b", seq=2)
    store.reject("not_json", "nope")
    assert store.version == version + 3
    collector = metrics_of(store)["collector"]
    assert (collector["rejected"], collector["rejected_by_reason"]) == (
        3,
        {"invalid_field": 2, "not_json": 1},
    )
    assert _bot(store)["events"]["rejected"] == 2
    first, second, third = reversed(state_of(store, "b")["recent_rejects"])  # newest first
    assert (first["at"], first["reason"], first["topic"], first["bot"]) == (T0, "invalid_field", "fill", "b")
    assert (first["detail"], first["excerpt"]) == ("d" * 300, "e" * 200)
    assert (second["at"], second["excerpt"], second["topic"]) == (T0 + 1.0, "", None)
    assert (third["reason"], third["bot"]) == ("not_json", None)


def test_the_receive_rate_is_counted_over_half_second_marks() -> None:
    clock = FakeClock(T0)
    store = _store(clock)
    version = store.version
    store.count_received(100)  # mark (0.0 s, 100)
    clock.advance(0.4)
    store.count_received(50)  # under 0.5 s since the last mark: no mark
    clock.advance(0.1)
    store.count_received(50)  # mark (0.5 s, 200)
    assert store.version == version + 3
    # (200 - 100) messages between the marks, 0.5 s apart
    assert metrics_of(store)["collector"]["rate_per_s"] == pytest.approx(200.0)
    assert metrics_of(store)["collector"]["received"] == 200
    clock.advance(0.5)
    store.count_received(200)  # mark (1.0 s, 400)
    # first and last mark of the last 5 s: (400 - 100) / 1.0 s
    assert metrics_of(store)["collector"]["rate_per_s"] == pytest.approx(300.0)
    clock.advance(4.0)  # 5.0 s after the first mark: still in
    assert metrics_of(store)["collector"]["rate_per_s"] == pytest.approx(300.0)
    clock.advance(0.1)  # (0.5 s, 200) and (1.0 s, 400) are left: 200 / 0.5 s
    assert metrics_of(store)["collector"]["rate_per_s"] == pytest.approx(400.0)
    clock.advance(5.0)  # every mark older than 5 s: no rate
    assert metrics_of(store)["collector"]["rate_per_s"] == 0.0


def test_a_count_inside_half_a_second_of_the_last_mark_makes_no_mark() -> None:
    clock = FakeClock(T0)
    store = _store(clock)
    store.count_received(100)  # mark (0.0 s, 100)
    clock.advance(0.3)
    store.count_received(100)  # no mark: (0.3 s, 200) would keep a rate alive below
    clock.advance(4.9)
    store.count_received(100)  # mark (5.2 s, 300); the first mark is now 5.2 s old
    assert metrics_of(store)["collector"]["rate_per_s"] == 0.0  # one mark in the last 5 s


# ---------------------------------------------------------------- orders
def test_open_orders_are_bounded_by_evicting_the_oldest() -> None:
    store = _store(max_open_orders=2)
    store.apply(_order(0, "o1"))
    store.apply(_order(1, "o2"))
    store.apply(_order(2, "o1", "partially_filled"))  # an update when full evicts nothing
    assert [o["order_id"] for o in state_of(store, "b")["open_orders"]] == ["o1", "o2"]
    store.apply(_order(3, "o3"))
    assert [o["order_id"] for o in state_of(store, "b")["open_orders"]] == ["o2", "o3"]
    store.apply(_order(4, "never-seen", "canceled"))  # a final state of an unknown order: nothing to drop
    store.apply(_order(5, "o2", "filled"))
    assert [o["order_id"] for o in state_of(store, "b")["open_orders"]] == ["o3"]


def test_orders_of_a_snapshot_carry_the_snapshot_time() -> None:
    store = _store()
    body = OrderBody(
        order_id="s1",
        symbol="X",
        side="sell",
        type="limit",
        qty=2.0,
        price=11.0,
        status="new",
        filled_qty=0.0,
    )
    store.apply(_snapshot(0, [], ts=T0 + 42, orders=[body]))
    (order,) = state_of(store, "b")["open_orders"]
    assert (order["order_id"], order["ts"]) == ("s1", T0 + 42)


# ---------------------------------------------------------------- snapshots and round trips
def test_a_position_taken_from_a_snapshot_is_a_round_trip_from_the_snapshot_time() -> None:
    store = _store()
    store.apply(_snapshot(0, [(2.0, 100.0)], ts=T0 + 10))
    store.apply(_fill(1, "sell", 2.0, 110.0, ts=T0 + 20))
    (trip,) = state_of(store, "b")["round_trips_today"]
    # long 2 from 100 to 110: +20
    assert trip == {
        "symbol": "X", "side": "long", "opened_ts": T0 + 10, "closed_ts": T0 + 20, "qty": 2.0, "pnl": 20.0,
    }  # fmt: skip


def test_a_snapshot_that_flips_a_position_ends_its_trip_uncounted() -> None:
    store = _store()
    store.apply(_fill(0, "buy", 2.0, 100.0, ts=T0 + 1))
    store.apply(_snapshot(1, [(-1.0, 105.0)], ts=T0 + 2))  # long 2 became short 1
    store.apply(_fill(2, "buy", 1.0, 95.0, ts=T0 + 3))
    trips = state_of(store, "b")["round_trips_today"]
    # only the short from the snapshot closed: (105 - 95) x 1 = +10
    assert [(t["side"], t["opened_ts"], t["qty"], t["pnl"]) for t in trips] == [("short", T0 + 2, 1.0, 10.0)]
    assert (_bot(store)["closed_trades"], _bot(store)["position_mismatches"]) == (1, 1)


def test_snapshot_mismatches_at_unit_size_and_a_flat_book() -> None:
    store = _store()
    store.apply(_fill(0, "buy", 1.0, 100.0))
    store.apply(_snapshot(1, [(1.0, 101.0)]))  # same qty 1, another average price
    assert _bot(store)["position_mismatches"] == 1
    store.apply(_fill(2, "sell", 1.0, 100.0))  # flat now
    store.apply(_snapshot(3, []))  # agrees: flat is flat
    assert _bot(store)["position_mismatches"] == 1


# ---------------------------------------------------------------- the equity curve and Sharpe
def test_a_full_curve_keeps_its_newer_half_and_every_second_older_point() -> None:
    store = _store(equity_curve_points=64)
    for i in range(65):
        store.apply(Account(v=1, bot="b", seq=i, ts=T0 + i, equity=1000.0 + i))
    curve = [ts - T0 for ts, _ in state_of(store, "b")["equity_curve"]]
    # 65 points > 64: the older half (32 points) is thinned by two, the newer 33 kept
    assert curve == [float(i) for i in range(0, 32, 2)] + [float(i) for i in range(32, 65)]


def test_flat_equity_has_no_sharpe() -> None:
    store = _store(sharpe_interval_s=60)
    for i in range(5):
        store.apply(Account(v=1, bot="b", seq=i, ts=T0 + 60 * i, equity=1000.0))
    assert _bot(store)["sharpe"] is None
    assert store.metrics().bots["b"].sharpe is None  # null, not a NaN that JSON would hide


def test_a_late_point_is_its_buckets_latest_value() -> None:
    store = _store(sharpe_interval_s=60, sharpe_min_returns=2)
    for seq, (dt, equity) in enumerate([(0, 100.0), (130, 90.0), (70, 120.0), (10, 98.0)]):
        store.apply(Account(v=1, bot="b", seq=seq, ts=T0 + dt, equity=equity))
    # buckets 0, 1, 2 hold 98 (the late point replaced 100), 120 (a late new bucket), 90
    r = np.array([120.0 / 98.0 - 1, 90.0 / 120.0 - 1])
    expected = r.mean() / r.std(ddof=1) * math.sqrt(365 * 86400 / 60)
    assert _bot(store)["sharpe"] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- latency and errors
def test_latency_statistics_beyond_the_first_allocation_and_the_chart_keeps_the_newest() -> None:
    store = _store()
    for i in range(600):
        store.apply(Latency(v=1, bot="b", seq=i, ts=T0 + i * 0.1, op="submit", ms=float(i)))
    latency = _bot(store)["latency_ms"]
    assert (latency["count"], latency["max"], latency["p50"]) == (600, 599.0, 299.5)
    series = state_of(store, "b")["latency_series"]
    assert len(series) == 500 and series[0] == [T0 + 10.0, 100.0] and series[-1] == [T0 + 59.9, 599.0]


def test_a_ring_full_of_latencies_reports_the_newest_in_order() -> None:
    store = _store(latency_max_samples=4)
    for i in range(6):
        store.apply(Latency(v=1, bot="b", seq=i, ts=T0 + i, op="submit", ms=float(i)))
    assert state_of(store, "b")["latency_series"] == [[T0 + i, float(i)] for i in range(2, 6)]
    assert _bot(store)["latency_ms"]["count"] == 4


def test_errors_are_counted_by_severity_and_component() -> None:
    store = _store()
    for i, (component, severity) in enumerate([("x", "warning"), ("x", "warning"), ("y", "critical")]):
        store.apply(
            Error(v=1, bot="b", seq=i, ts=T0 + i, component=component, message="m", severity=severity)
        )
    errors = _bot(store)["errors"]
    assert errors["by_severity"] == {"warning": 2, "critical": 1}
    assert errors["by_component"] == {"x": 2, "y": 1}
    assert (errors["total"], errors["last_5m"]) == (3, 3)


# ---------------------------------------------------------------- leverage, liveness, snapshot accounts
@pytest.mark.parametrize(("equity", "leverage"), [(0.5, 20.0), (0.0, None), (-100.0, None)])
def test_leverage_needs_a_positive_equity(equity: float, leverage: float | None) -> None:
    store = _store()
    store.apply(Account(v=1, bot="b", seq=0, ts=T0, equity=equity))
    store.apply(_fill(1, "buy", 1.0, 10.0))  # 10 of gross exposure
    assert _bot(store)["leverage"] == leverage


def test_the_age_of_the_last_event_is_exact_below_a_second() -> None:
    clock = FakeClock(T0)
    store = _store(clock)
    store.apply(_hb(0))
    clock.advance(0.25)
    assert _bot(store)["last_event_age_s"] == 0.25


def test_a_snapshot_account_sets_equity_cash_and_currency() -> None:
    store = _store()
    account = SnapshotAccount(equity=5000.0, cash=1200.0, currency="EUR")
    store.apply(Snapshot(v=1, bot="b", seq=0, ts=T0, positions=[], open_orders=[], account=account))
    bot = _bot(store)
    assert (bot["equity"], bot["cash"], bot["currency"], bot["equity_source"]) == (
        5000.0,
        1200.0,
        "EUR",
        "account",
    )


def test_dust_left_by_closing_a_large_position_is_flat() -> None:
    store = _store()
    store.apply(_fill(0, "buy", 1000.0, 1.0))
    store.apply(_fill(1, "sell", 999.9999999, 1.0))  # 1e-7 left: below 1e-9 of the size
    assert state_of(store, "b")["positions"] == []
    assert _bot(store)["closed_trades"] == 1


# ---------------------------------------------------------------- round trips by hand
def _fee_fill(seq: int, side: str, qty: float, price: float, fee: float, ts: float) -> Fill:
    return Fill(
        v=1, bot="b", seq=seq, ts=ts, fill_id=f"f{seq}", order_id=f"o{seq}", symbol="X", side=side,
        qty=qty, price=price, fee=fee,
    )  # fmt: skip


def test_a_long_trip_built_in_two_adds_carries_every_fee() -> None:
    store = _store()
    store.apply(_fee_fill(0, "buy", 1.0, 100.0, 1.0, T0 + 1))
    store.apply(_fee_fill(1, "buy", 1.0, 100.0, 2.0, T0 + 2))
    store.apply(_fee_fill(2, "sell", 2.0, 110.0, 3.0, T0 + 3))
    (trip,) = state_of(store, "b")["round_trips_today"]
    # +20 gross, 1 + 2 + 3 of fees
    assert (trip["side"], trip["opened_ts"], trip["qty"], trip["pnl"]) == ("long", T0 + 1, 2.0, 14.0)


def test_a_fill_through_zero_closes_one_trip_and_opens_the_next() -> None:
    store = _store()
    store.apply(_fee_fill(0, "sell", 1.0, 100.0, 0.0, T0 + 1))
    store.apply(_fee_fill(1, "buy", 3.0, 90.0, 3.0, T0 + 2))  # closes the short, opens long 2
    position = state_of(store, "b")["positions"][0]
    assert (position["qty"], position["avg_price"]) == (2.0, 90.0)
    store.apply(_fee_fill(2, "sell", 2.0, 95.0, 0.0, T0 + 3))
    trips = [
        (t["side"], t["opened_ts"], t["closed_ts"], t["pnl"])
        for t in state_of(store, "b")["round_trips_today"]
    ]
    # the flipping fill's fee of 3 is split by quantity: 1 to the short, 2 to the long
    assert trips == [("long", T0 + 2, T0 + 3, 10.0 - 2.0), ("short", T0 + 1, T0 + 2, 10.0 - 1.0)]


def test_fractional_quantities_realize_their_pnl() -> None:
    store = _store()
    store.apply(_fill(0, "buy", 0.5, 100.0))
    store.apply(_fill(1, "sell", 0.5, 110.0))
    assert _bot(store)["realized_pnl"] == pytest.approx(5.0)


def test_the_profit_factor_is_the_wins_over_the_losses() -> None:
    store = _store()
    seq = 0
    for entry, exit_ in ((100.0, 110.0), (100.0, 120.0), (100.0, 95.0)):  # +10, +20, -5
        store.apply(_fill(seq, "buy", 1.0, entry))
        store.apply(_fill(seq + 1, "sell", 1.0, exit_))
        seq += 2
    bot = _bot(store)
    assert (bot["wins"], bot["losses"], bot["profit_factor"]) == (2, 1, pytest.approx(30.0 / 5.0))


# ---------------------------------------------------------------- days, drawdown limits, bounds
def test_the_day_rolls_at_midnight_in_the_configured_timezone_east_of_utc() -> None:
    store = _store(timezone="Asia/Tokyo")
    tokyo_midnight = T0 - 9 * 3600  # 00:00 in Tokyo is 15:00 UTC the day before
    for seq, (dt, equity) in enumerate([(-14 * 3600, 90.0), (-3600, 100.0), (3600, 110.0)]):
        store.apply(Account(v=1, bot="b", seq=seq, ts=tokyo_midnight + dt, equity=equity))
    # today began at Tokyo's midnight: its baseline is the 23:00 point, not the 10:00 one
    assert _bot(store)["daily_pnl"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("equities", "drawdown"),
    [
        ([100.0, -50.0], 1.0),  # below zero is a total loss, not 150 %
        ([0.0, -10.0], 0.0),  # no positive peak: no drawdown to speak of
        ([-100.0, -200.0], 0.0),
        ([0.5, 0.25], 0.5),
    ],
)
def test_drawdown_is_a_fraction_of_a_positive_peak(equities: list[float], drawdown: float) -> None:
    store = _store()
    for seq, equity in enumerate(equities):
        store.apply(Account(v=1, bot="b", seq=seq, ts=T0 + seq, equity=equity))
    assert _bot(store)["drawdown"] == drawdown


def test_a_curve_that_fills_up_again_is_thinned_only_when_over_its_size() -> None:
    store = _store(equity_curve_points=64)
    for i in range(80):
        store.apply(Account(v=1, bot="b", seq=i, ts=T0 + i, equity=1000.0 + i))
    curve = [ts - T0 for ts, _ in state_of(store, "b")["equity_curve"]]
    # thinned once at 65 points (to 49), then 15 more: 64, not over the size
    assert curve == [float(i) for i in range(0, 32, 2)] + [float(i) for i in range(32, 80)]


def test_recent_fills_and_rejects_are_bounded() -> None:
    store = StateStore(CoreConfig(metrics=MetricsSettings(recent_fills=3), recent_rejects=2), FakeClock(T0))
    for seq in range(5):
        store.apply(_fill(seq, "buy", 1.0, 100.0 + seq))
    for n in range(3):
        store.reject("not_json", f"r{n}")
    state = state_of(store, "b")
    assert [f["fill_id"] for f in state["recent_fills"]] == ["f4", "f3", "f2"]
    assert [r["detail"] for r in state["recent_rejects"]] == ["r2", "r1"]


def test_one_bot_too_many_is_refused_named_and_counted() -> None:
    store = StateStore(CoreConfig(limits=LimitsSettings(max_bots=1)), FakeClock(T0))
    assert store.apply(_hb(0, bot="first")) is True
    version = store.version
    assert store.apply(_hb(0, bot="second")) is False
    assert store.version == version + 1
    (reject,) = state_of(store, "first")["recent_rejects"]
    assert (reject["reason"], reject["bot"]) == ("too_many_bots", "second")
    assert list(metrics_of(store)["bots"]) == ["first"]
    store.apply(_hb(1, bot="first"))
    assert store.version == version + 2  # one applied event, one version
