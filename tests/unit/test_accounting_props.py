"""Accounting of the state store against the independent reference in tests/support/oracle.py.

Definitions: docs/metrics.md.  Random scenarios (hypothesis) plus a few
hand-computed examples; numbers are compared with rel=abs=1e-9.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collectors.events import Account, Fill, Heartbeat, Mark
from core.config import BotSettings, CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.documents import metrics_of, state_of
from tests.support.oracle import (
    PROPS,
    TIMEZONES,
    bot_steps,
    compare_bot,
    compare_curve,
    compare_positions,
    make_events,
    reference,
    run,
)

T0 = 1_700_000_000.0
TOTAL_KEYS = (
    "equity",
    "realized_pnl",
    "unrealized_pnl",
    "daily_pnl",
    "fees",
    "exposure_gross",
    "exposure_net",
)


def config(tz: str = "UTC", bots: dict[str, float] | None = None, **metrics) -> CoreConfig:
    return CoreConfig(
        metrics=MetricsSettings(timezone=tz, **metrics),
        bots={b: BotSettings(starting_equity=e) for b, e in (bots or {}).items()},
    )


def check_bot(store: StateStore, bot: str, ref) -> None:
    problems = compare_bot(metrics_of(store)["bots"][bot], ref.metrics())
    state = state_of(store, bot)
    problems += compare_positions(state["positions"], ref)
    problems += compare_curve(state["equity_curve"], ref.curve())
    assert not problems, "\n".join(problems)


def fill(seq, ts, side, qty, price, fee=0.0, symbol="BTC", bot="b1"):
    return Fill(
        v=1,
        bot=bot,
        seq=seq,
        ts=ts,
        fill_id=f"f{seq}",
        order_id=f"o{seq}",
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
    )


# ------------------------------------------------------------------------ properties
@PROPS
@given(
    steps=bot_steps(),
    start=st.integers(5000, 100_000).map(float),
    tz=st.sampled_from(TIMEZONES),
    configured=st.booleans(),
)
def test_derived_bot_matches_oracle(steps, start, tz, configured):
    """Positions, avg cost, realized/unrealized, fees, round trips, marks, exposure, leverage,
    the derived equity curve and every metric built on it, for one bot without `account`."""
    events = make_events("b1", steps)
    ref = reference(events, start, tz=tz)
    assume(all(e > 0 for _, e in ref.curve()))
    # the starting equity comes from bots.<id> when set, else from metrics.default_starting_equity
    cfg = (
        config(tz, {"b1": start}, default_starting_equity=777.0)
        if configured
        else config(tz, default_starting_equity=start)
    )
    store = run(cfg, events)
    check_bot(store, "b1", ref)


@PROPS
@given(
    steps=bot_steps(account=True), start=st.integers(5000, 100_000).map(float), tz=st.sampled_from(TIMEZONES)
)
def test_account_bot_matches_oracle(steps, start, tz):
    """With `account` events the curve is the account equities; accounting is unchanged and
    leverage divides by the account equity."""
    events = make_events("b1", steps)
    ref = reference(events, start, tz=tz)
    store = run(config(tz, {"b1": start}), events)
    assert metrics_of(store)["bots"]["b1"]["equity_source"] == "account"
    check_bot(store, "b1", ref)


@PROPS
@given(
    s1=bot_steps(max_n=25),
    s2=bot_steps(max_n=25, account=True),
    s3=bot_steps(max_n=25),
    order=st.lists(st.integers(0, 2), max_size=150),
    start1=st.integers(5000, 100_000).map(float),
    default=st.integers(5000, 100_000).map(float),
    tz=st.sampled_from(TIMEZONES),
)
def test_several_bots_and_totals(s1, s2, s3, order, start1, default, tz):
    """Bots are independent whatever the interleaving; `total` sums the additive metrics."""
    per_bot = {"b1": make_events("b1", s1), "b2": make_events("b2", s2), "b3": make_events("b3", s3)}
    starts = {"b1": start1, "b2": default, "b3": default}
    refs = {b: reference(evs, starts[b], tz=tz) for b, evs in per_bot.items()}
    assume(all(e > 0 for r in refs.values() for _, e in r.curve()))
    queues = {b: list(evs) for b, evs in per_bot.items()}
    names = list(queues)
    merged = []
    for i in order:  # drawn interleaving, then whatever is left
        if queues[names[i]]:
            merged.append(queues[names[i]].pop(0))
    for b in names:
        merged += queues[b]
    store = run(config(tz, {"b1": start1}, default_starting_equity=default), merged)
    for b, ref in refs.items():
        check_bot(store, b, ref)
    total = metrics_of(store)["total"]
    for key in TOTAL_KEYS:
        expected = sum(r.metrics()[key] for r in refs.values())
        assert total[key] == pytest.approx(expected, rel=1e-9, abs=1e-9), key


@PROPS
@given(
    steps=bot_steps(weights={"fill": 70}), exit_px=st.integers(800, 3200), start=st.integers(5000, 100_000)
)
def test_round_trips_add_up_to_realized_when_flat(steps, exit_px, start):
    """Metamorphic check that needs no oracle: once every position is closed, the round trips'
    P&L (fees included, each counted once, flips split) sums to realized P&L net of fees."""
    events = make_events("b1", steps)
    ref = reference(events, float(start))
    ts, seq = events[-1].ts, events[-1].seq
    for sym, pos in sorted(ref.open_positions().items()):
        seq += 1
        events.append(fill(seq, ts, "sell" if pos.qty > 0 else "buy", abs(pos.qty), exit_px / 16, 0.25, sym))
    store = run(config("UTC", {"b1": float(start)}), events)
    m = metrics_of(store)["bots"]["b1"]
    assert m["unrealized_pnl"] == pytest.approx(0.0, abs=1e-9)
    assert m["exposure_gross"] == pytest.approx(0.0, abs=1e-9)
    assert m["wins"] + m["losses"] <= m["closed_trades"]
    if m["closed_trades"]:
        assert m["expectancy"] * m["closed_trades"] == pytest.approx(m["realized_pnl"], rel=1e-9, abs=1e-7)
        assert m["equity"] == pytest.approx(start + m["realized_pnl"], rel=1e-9, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(steps=bot_steps(), start=st.integers(5000, 100_000).map(float))
def test_replay_gives_the_same_numbers(steps, start):
    """Event-time only: replaying the same events (at another wall-clock time) gives the same
    metrics, liveness aside."""
    events = make_events("b1", steps)
    cfg = config("UTC", {"b1": start})
    a = metrics_of(run(cfg, events, wall=events[-1].ts))["bots"]["b1"]
    b = metrics_of(run(cfg, events, wall=events[-1].ts + 12345.0))["bots"]["b1"]
    for key in ("last_event_age_s", "stale"):
        a.pop(key, None)
        b.pop(key, None)
    assert a == b


@settings(max_examples=50, deadline=None)
@given(steps=bot_steps(weights={"fill": 80}, max_n=60))
def test_recent_fills_newest_first(steps):
    events = make_events("b1", steps)
    store = run(config(), events)
    ids = [f["fill_id"] for f in state_of(store, "b1")["recent_fills"]]
    expected = [e.fill_id for e in reversed(events) if isinstance(e, Fill)]
    assert ids == expected[: len(ids)]
    assert len(ids) == min(len(expected), 200)


# -------------------------------------------------------------- hand-computed examples
def test_flip_splits_the_fee_pro_rata():
    events = [
        fill(1, T0, "buy", 1.0, 100.0, 0.1),
        fill(2, T0 + 1, "sell", 3.0, 110.0, 0.3),  # closes 1 (+10, fee 0.1), opens -2 @110 (fee 0.2)
        fill(3, T0 + 2, "buy", 2.0, 105.0, 0.2),  # closes -2: +10
    ]
    store = run(config(bots={"b1": 5000.0}), events[:2])
    m = metrics_of(store)["bots"]["b1"]
    assert m["closed_trades"] == 1 and m["wins"] == 1
    assert m["expectancy"] == pytest.approx(10 - 0.1 - 0.1)  # first trip: 9.8
    assert m["realized_pnl"] == pytest.approx(10 - 0.4)
    assert m["fees"] == pytest.approx(0.4)
    [pos] = [p for p in state_of(store, "b1")["positions"] if p["qty"] != 0]
    assert (pos["qty"], pos["avg_price"], pos["mark"]) == (pytest.approx(-2.0), pytest.approx(110.0), 110.0)
    assert m["exposure_gross"] == pytest.approx(220.0) and m["exposure_net"] == pytest.approx(-220.0)
    assert m["leverage"] == pytest.approx(220.0 / (5000 + 9.6))

    store = run(config(bots={"b1": 5000.0}), events)
    m = metrics_of(store)["bots"]["b1"]
    assert m["closed_trades"] == 2 and m["wins"] == 2 and m["losses"] == 0
    # second trip: +10 - 0.2 (its share of the flip fee) - 0.2
    assert m["expectancy"] == pytest.approx((9.8 + 9.6) / 2)
    assert m["realized_pnl"] == pytest.approx(19.4)
    assert m["win_rate"] == 1.0
    assert m["profit_factor"] is None  # no losses
    assert m["equity"] == pytest.approx(5019.4)
    curve = state_of(store, "b1")["equity_curve"]
    assert [list(p) for p in curve] == [
        [T0, 5000.0],
        [T0, pytest.approx(4999.9)],
        [T0 + 1, pytest.approx(5009.6)],
        [T0 + 2, pytest.approx(5019.4)],
    ]


def test_profit_factor_and_partial_closes():
    events = [
        fill(1, T0, "buy", 2.0, 100.0),
        fill(2, T0 + 1, "buy", 2.0, 110.0),  # avg 105
        fill(3, T0 + 2, "sell", 1.0, 120.0, 1.0),  # realizes +15 inside the same trip
        fill(4, T0 + 3, "sell", 3.0, 100.0, 1.0),  # realizes -15, trip ends: 0 - 2 fees = -2
        fill(5, T0 + 4, "sell", 1.0, 50.0),  # short trip
        fill(6, T0 + 5, "buy", 1.0, 44.0, 0.5),  # +6 - 0.5 = 5.5
    ]
    m = metrics_of(run(config(), events))["bots"]["b1"]
    assert (m["closed_trades"], m["wins"], m["losses"]) == (2, 1, 1)
    assert m["profit_factor"] == pytest.approx(5.5 / 2.0)
    assert m["win_rate"] == 0.5
    assert m["expectancy"] == pytest.approx(3.5 / 2)
    assert m["realized_pnl"] == pytest.approx(3.5)
    assert m["unrealized_pnl"] == 0.0
    assert m["equity"] == pytest.approx(10_000 + 3.5)  # default starting equity


def test_no_round_trip_means_null_ratios_and_a_zero_pnl_trip_is_neither():
    m = metrics_of(run(config(), [fill(1, T0, "buy", 1.0, 100.0)]))["bots"]["b1"]
    assert (m["closed_trades"], m["win_rate"], m["profit_factor"], m["expectancy"]) == (0, None, None, None)
    events = [fill(1, T0, "buy", 1.0, 100.0), fill(2, T0 + 1, "sell", 1.0, 100.0)]
    m = metrics_of(run(config(), events))["bots"]["b1"]
    assert (m["closed_trades"], m["wins"], m["losses"], m["win_rate"]) == (1, 0, 0, 0.0)
    assert m["profit_factor"] is None and m["expectancy"] == 0.0


def test_mark_moves_unrealized_and_a_newer_fill_moves_the_mark():
    events = [
        fill(1, T0, "buy", 2.0, 100.0),
        Mark(v=1, bot="b1", seq=2, ts=T0 + 1, prices={"BTC": 103.0, "ETH": 7.0}),
        fill(3, T0 + 2, "buy", 2.0, 101.0, symbol="ETH"),
        fill(4, T0 + 3, "sell", 1.0, 99.0),  # mark of BTC becomes 99
    ]
    store = run(config(bots={"b1": 1000.0}), events[:2])
    m = metrics_of(store)["bots"]["b1"]
    assert m["unrealized_pnl"] == pytest.approx(6.0)
    assert m["equity"] == pytest.approx(1006.0)
    m = metrics_of(run(config(bots={"b1": 1000.0}), events))["bots"]["b1"]
    assert m["realized_pnl"] == pytest.approx(-1.0)
    assert m["unrealized_pnl"] == pytest.approx(1 * (99 - 100) + 2 * (101 - 101))
    assert m["exposure_gross"] == pytest.approx(99 + 202)
    assert m["equity"] == pytest.approx(1000 - 1 - 1)


def test_account_equity_replaces_the_derived_curve():
    """Definition: once the bot has sent any `account` event its curve is the account equities."""
    events = [
        Heartbeat(v=1, bot="b1", seq=1, ts=T0),
        fill(2, T0 + 1, "buy", 1.0, 100.0, 1.0),
        Account(v=1, bot="b1", seq=3, ts=T0 + 2, equity=2000.0),
        fill(4, T0 + 3, "sell", 1.0, 120.0),
        Account(v=1, bot="b1", seq=5, ts=T0 + 4, equity=1900.0),
    ]
    store = run(config(bots={"b1": 5000.0}), events)
    m = metrics_of(store)["bots"]["b1"]
    assert m["equity_source"] == "account"
    assert m["equity"] == 1900.0
    assert m["realized_pnl"] == pytest.approx(19.0)
    assert m["drawdown"] == pytest.approx(0.05) and m["max_drawdown"] == pytest.approx(0.05)
    assert [list(p) for p in state_of(store, "b1")["equity_curve"]] == [[T0 + 2, 2000.0], [T0 + 4, 1900.0]]
