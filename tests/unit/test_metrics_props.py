"""Time-based metrics of the state store against independent oracles.

daily_pnl and the "today" counts (with a timezone), drawdown and max drawdown (reference +
empyrical-reloaded), Sharpe (bucketing, carry-forward, window, risk-free; empyrical-reloaded),
latency windows (numpy percentiles) and error counts.  Definitions: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from collectors.events import Account, Error, Fill, Heartbeat, Latency, Mark
from core.config import BotSettings, CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.documents import metrics_of, state_of
from tests.support.oracle import (
    EXAMPLES,
    PROPS,
    TIMEZONES,
    bot_steps,
    compare_bot,
    dt_sharpe,
    empyrical_max_drawdown,
    make_events,
    reference,
    run,
    sharpe_from_returns,
    sharpe_returns,
)

DAY_KEYS = ("equity", "daily_pnl", "fills_today", "round_trips_today", "wins_today", "losses_today")


def cfg(start: float = 10_000.0, **metrics) -> CoreConfig:
    return CoreConfig(metrics=MetricsSettings(**metrics), bots={"b1": BotSettings(starting_equity=start)})


def local_midnight(day: dt.date, tz: str) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()


def assert_matches(actual: dict, ref, keys) -> None:
    problems = compare_bot(actual, ref.metrics(), keys)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------ properties
# Days around 2023-11-05, when New York leaves DST (a 25-hour day).
DAYS = [dt.date(2023, 11, d) for d in (4, 5, 6, 15)]


@st.composite
def around_midnight(draw):
    """A timezone and a bot's events starting within 10 minutes of / an hour before a local
    midnight, sometimes sitting exactly on it, with steps that cross it."""
    tz = draw(st.sampled_from(TIMEZONES))
    midnight = local_midnight(draw(st.sampled_from(DAYS)), tz)
    start = st.integers(0, 7200).map(lambda k: midnight - k / 2)
    steps_dt = st.one_of(
        st.integers(0, 240).map(lambda k: k / 2),
        st.sampled_from([600.0, 3600.0, 12 * 3600.0, 25 * 3600.0, 86400.0]),
    )
    account = draw(st.booleans())
    steps = draw(bot_steps(account=account, dt=steps_dt, t_start=start, max_n=40))
    return tz, steps


@PROPS
@given(case=around_midnight(), start=st.integers(5000, 100_000).map(float))
def test_daily_pnl_and_today_counts(case, start):
    tz, steps = case
    events = make_events("b1", steps)
    ref = reference(events, start, tz=tz)
    assume(all(e > 0 for _, e in ref.curve()))
    m = metrics_of(run(cfg(start, timezone=tz), events))["bots"]["b1"]
    assert_matches(m, ref, DAY_KEYS)


@PROPS
@given(
    steps=bot_steps(weights={"fill": 50, "mark": 40}, max_n=60),
    account=st.booleans(),
    start=st.integers(3000, 50_000).map(float),
)
def test_drawdown_against_reference_and_empyrical(steps, account, start):
    if account:
        steps = bot_steps_account_prefix(steps)
    events = make_events("b1", steps)
    ref = reference(events, start)
    curve = ref.curve()
    assume(all(e > 0 for _, e in curve))
    store = run(cfg(start), events)
    m = metrics_of(store)["bots"]["b1"]
    assert_matches(m, ref, ("drawdown", "max_drawdown", "equity_source"))
    assert 0.0 <= m["drawdown"] <= m["max_drawdown"] <= 1.0
    # empyrical on the point-to-point returns of both the oracle's and the store's curve
    assert m["max_drawdown"] == pytest.approx(empyrical_max_drawdown(curve), rel=1e-9, abs=1e-9)
    own = [tuple(p) for p in state_of(store, "b1")["equity_curve"]]
    assert m["max_drawdown"] == pytest.approx(empyrical_max_drawdown(own), rel=1e-9, abs=1e-9)


def bot_steps_account_prefix(steps):
    """Turn a derived scenario into an account one: each mark also reports an equity."""
    out = [(Account, {"ts": steps[0][1]["ts"], "equity": 10_000.0})]
    for cls, kw in steps:
        out.append((cls, kw))
        if cls is Mark:
            eq = 10_000.0 + sum(kw["prices"].values()) * 3 - 900
            out.append((Account, {"ts": kw["ts"], "equity": eq}))
    return out


@PROPS
@given(
    steps=bot_steps(
        account=False,
        dt=dt_sharpe(),
        max_n=60,
        weights={"fill": 35, "mark": 35, "latency": 10, "heartbeat": 10, "error": 0},
    ),
    account=st.booleans(),
    interval=st.sampled_from([60, 60, 45, 300]),
    window=st.one_of(st.integers(120, 3600), st.just(86400)),
    rate=st.sampled_from([0.0, 0.0, 0.05, 0.5]),
    start=st.integers(3000, 50_000).map(float),
    min_returns=st.sampled_from([1, 2, 3, 10, 30]),
)
def test_sharpe_against_empyrical(steps, account, interval, window, rate, start, min_returns):
    if account:
        steps = bot_steps_account_prefix(steps)
    events = make_events("b1", steps)
    settings = {
        "sharpe_interval_s": interval,
        "sharpe_window_s": window,
        "risk_free_rate": rate,
        "sharpe_min_returns": min_returns,
    }
    ref = reference(events, start, **settings)
    assume(all(e > 0 for _, e in ref.curve()))
    store = run(cfg(start, **settings), events)
    got = metrics_of(store)["bots"]["b1"]["sharpe"]
    assert metrics_of(store)["bots"]["b1"]["sharpe_returns"] == len(ref.sharpe_returns())
    periods = 365 * 86400 / interval
    rf = (1 + rate) ** (1 / periods) - 1
    now = events[-1].ts
    returns = sharpe_returns(ref.curve(), now, interval, window)
    expected = sharpe_from_returns(returns, rf, periods, min_returns)
    # the same formula on the store's own equity curve (identical inputs, so no float slack)
    own_curve = [tuple(p) for p in state_of(store, "b1")["equity_curve"]]
    own = sharpe_from_returns(sharpe_returns(own_curve, now, interval, window), rf, periods, min_returns)
    for name, want in (("oracle curve", expected), ("store curve", own)):
        if want is None:
            assert got is None, f"{name}: expected null, store says {got}; returns {returns}"
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{name}; returns {returns}"


@PROPS
@given(
    steps=bot_steps(
        dt=st.one_of(st.integers(0, 120).map(lambda k: k / 2), st.sampled_from([299.5, 300.0, 300.5, 12.5])),
        max_n=60,
        weights={"latency": 45, "error": 25, "fill": 10, "mark": 5, "heartbeat": 15},
    ),
    window=st.sampled_from([300.0, 300.0, 60.0, 12.5]),
)
def test_latency_and_error_windows(steps, window):
    events = make_events("b1", steps)
    ref = reference(events, 10_000.0, latency_window_s=window)
    m = metrics_of(run(cfg(latency_window_s=window), events))["bots"]["b1"]
    assert_matches(m, ref, ("latency_ms", "errors", "last_event_ts"))


# -------------------------------------------------------------- hand-computed examples
MID = 1_700_006_400.0  # 2023-11-15 00:00 UTC


def _fill(seq, ts, side, qty, price, fee=0.0):
    return Fill(
        v=1,
        bot="b1",
        seq=seq,
        ts=ts,
        fill_id=f"f{seq}",
        order_id=f"o{seq}",
        symbol="BTC",
        side=side,
        qty=qty,
        price=price,
        fee=fee,
    )


def test_daily_pnl_baseline_is_the_last_point_before_midnight():
    events = [
        _fill(1, MID - 100, "buy", 1.0, 100.0),  # points: 1000 @MID-100 (first event), 1000
        Mark(v=1, bot="b1", seq=2, ts=MID - 10, prices={"BTC": 110.0}),  # 1010: the baseline
        Mark(v=1, bot="b1", seq=3, ts=MID, prices={"BTC": 120.0}),  # 1020, already today
        Heartbeat(v=1, bot="b1", seq=4, ts=MID + 50),
    ]
    m = metrics_of(run(cfg(1000.0), events))["bots"]["b1"]
    assert m["daily_pnl"] == pytest.approx(10.0)
    assert m["fills_today"] == 0
    # in New York it is still the 14th (19:00): the first point of that day is the baseline
    m = metrics_of(run(cfg(1000.0, timezone="America/New_York"), events))["bots"]["b1"]
    assert m["daily_pnl"] == pytest.approx(20.0)
    assert m["fills_today"] == 1
    # before any midnight passes, the first point of today (starting equity) is the baseline
    m = metrics_of(run(cfg(1000.0), events[:2]))["bots"]["b1"]
    assert m["daily_pnl"] == pytest.approx(10.0)


def test_round_trips_today_use_the_closing_time():
    events = [
        _fill(1, MID - 5, "buy", 1.0, 100.0),
        _fill(2, MID + 5, "sell", 2.0, 90.0),  # a losing trip closes today, a short opens
        _fill(3, MID + 6, "buy", 1.0, 80.0),  # a winning trip
    ]
    m = metrics_of(run(cfg(), events))["bots"]["b1"]
    assert (m["fills_today"], m["round_trips_today"], m["wins_today"], m["losses_today"]) == (2, 2, 1, 1)
    m = metrics_of(run(cfg(timezone="Asia/Kolkata"), events))["bots"]["b1"]  # all on the 15th there
    assert (m["fills_today"], m["round_trips_today"], m["wins_today"], m["losses_today"]) == (3, 2, 1, 1)


def _acct(seq, ts, equity):
    return Account(v=1, bot="b1", seq=seq, ts=ts, equity=equity)


def test_sharpe_by_hand_with_carry_forward_and_window():
    base = 60 * 28_333_340  # a bucket boundary
    events = [
        _acct(1, base + 10, 100.0),  # bucket 0: 100
        _acct(2, base + 65, 105.0),
        _acct(3, base + 119.5, 110.0),  # bucket 1: 110 (last point before its end)
        _acct(4, base + 181, 121.0),  # bucket 2 is empty: 110 carried; bucket 3: 121
        Heartbeat(v=1, bot="b1", seq=5, ts=base + 239.5),  # now is still in bucket 3
    ]
    p = 365 * 86400 / 60
    r = np.array([0.1, 0.0, 0.1])
    m = metrics_of(run(cfg(sharpe_min_returns=2, sharpe_interval_s=60, sharpe_window_s=3600), events))[
        "bots"
    ]["b1"]
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(p))
    m = metrics_of(run(cfg(sharpe_min_returns=2, sharpe_interval_s=60, sharpe_window_s=179), events))["bots"][
        "b1"
    ]  # 2 buckets
    assert m["sharpe"] == pytest.approx(0.05 / r[1:].std(ddof=1) * math.sqrt(p))
    m = metrics_of(run(cfg(sharpe_min_returns=2, sharpe_interval_s=60, sharpe_window_s=119), events))["bots"][
        "b1"
    ]  # 1 return
    assert m["sharpe"] is None
    rf = 1.05 ** (1 / p) - 1
    m = metrics_of(
        run(
            cfg(sharpe_min_returns=2, sharpe_interval_s=60, sharpe_window_s=3600, risk_free_rate=0.05), events
        )
    )
    assert m["bots"]["b1"]["sharpe"] == pytest.approx((r - rf).mean() / r.std(ddof=1) * math.sqrt(p))
    # a new bucket with no point carries 121 forward: one more zero return
    later = [*events, Heartbeat(v=1, bot="b1", seq=6, ts=base + 240)]
    m = metrics_of(run(cfg(sharpe_min_returns=2, sharpe_interval_s=60, sharpe_window_s=3600), later))["bots"][
        "b1"
    ]
    r4 = np.array([0.1, 0.0, 0.1, 0.0])
    assert m["sharpe"] == pytest.approx(r4.mean() / r4.std(ddof=1) * math.sqrt(p))
    flat = [_acct(1, base, 100.0), _acct(2, base + 60, 100.0), _acct(3, base + 120, 100.0)]
    assert (
        metrics_of(run(cfg(sharpe_min_returns=2, sharpe_interval_s=60), flat))["bots"]["b1"]["sharpe"] is None
    )
    # below metrics.sharpe_min_returns returns in the window: null, and the count says how far
    m = metrics_of(run(cfg(sharpe_min_returns=4, sharpe_interval_s=60, sharpe_window_s=3600), events))
    assert m["bots"]["b1"]["sharpe"] is None and m["bots"]["b1"]["sharpe_returns"] == 3
    m = metrics_of(run(cfg(sharpe_min_returns=4, sharpe_interval_s=60, sharpe_window_s=3600), later))
    assert m["bots"]["b1"]["sharpe"] == pytest.approx(r4.mean() / r4.std(ddof=1) * math.sqrt(p))
    assert (
        metrics_of(run(cfg(sharpe_interval_s=60, sharpe_window_s=3600), later))["bots"]["b1"]["sharpe"]
        is None
    )


def test_latency_window_excludes_its_left_edge_and_empty_is_null():
    t = MID
    events = [
        Latency(v=1, bot="b1", seq=1, ts=t, op="submit", ms=100.0),  # exactly now - 300: out
        Latency(v=1, bot="b1", seq=2, ts=t + 0.5, op="submit", ms=1.0),
        Latency(v=1, bot="b1", seq=3, ts=t + 100, op="cancel", ms=3.0),
        Latency(v=1, bot="b1", seq=4, ts=t + 200, op="submit", ms=10.0),
        Error(v=1, bot="b1", seq=5, ts=t, component="exchange", message="x", severity="error"),
        Error(v=1, bot="b1", seq=6, ts=t + 1, component="risk", message="y", severity="warning"),
        Heartbeat(v=1, bot="b1", seq=7, ts=t + 300),
    ]
    lat = metrics_of(run(cfg(), events))["bots"]["b1"]
    assert lat["errors"]["total"] == 2 and lat["errors"]["last_5m"] == 1
    assert lat["errors"]["by_component"] == {"exchange": 1, "risk": 1}
    lat = lat["latency_ms"]
    assert lat["count"] == 3 and lat["max"] == 10.0
    assert lat["avg"] == pytest.approx(14 / 3)
    assert lat["p50"] == 3.0 and lat["p95"] == pytest.approx(np.percentile([1.0, 3.0, 10.0], 95))
    assert lat["by_op"]["submit"]["count"] == 2 and lat["by_op"]["submit"]["p50"] == 5.5
    later = [*events, Heartbeat(v=1, bot="b1", seq=8, ts=t + 600)]
    lat = metrics_of(run(cfg(), later))["bots"]["b1"]["latency_ms"]
    assert (lat["count"], lat["avg"], lat["p50"], lat["p95"], lat["max"]) == (0, None, None, None, None)


def test_liveness_uses_the_injected_wall_clock():
    wall = [1_800_000_000.0]
    store = StateStore(CoreConfig(stale_after_s=10.0), clock=lambda: wall[0])
    store.apply(Heartbeat(v=1, bot="b1", seq=1, ts=MID))  # event time is irrelevant here
    wall[0] += 10.0
    m = metrics_of(store)["bots"]["b1"]
    assert m["last_event_age_s"] == pytest.approx(10.0) and m["stale"] is False
    wall[0] += 0.5
    m = metrics_of(store)["bots"]["b1"]
    assert m["last_event_age_s"] == pytest.approx(10.5) and m["stale"] is True
    assert m["last_event_ts"] == MID


@settings(
    max_examples=EXAMPLES // 4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    steps=bot_steps(
        dt=st.one_of(dt_sharpe(), st.sampled_from([3600.0, 5 * 3600.0])),
        min_n=100,
        max_n=200,
        weights={"fill": 40, "mark": 40, "latency": 5, "heartbeat": 5, "error": 0},
    ),
    tz=st.sampled_from(TIMEZONES),
    interval=st.sampled_from([60, 300]),
    window=st.integers(600, 7200),
)
def test_memory_bounds_do_not_change_the_metrics(steps, tz, interval, window):
    """With the smallest equity curve the settings allow (64 points) and far more points than
    that, every metric still follows the definitions over *all* points seen."""
    events = make_events("b1", steps)
    start = 20_000.0
    ref = reference(events, start, tz=tz, sharpe_interval_s=interval, sharpe_window_s=window)
    assume(all(e > 0 for _, e in ref.curve()))
    store = run(
        cfg(start, timezone=tz, equity_curve_points=64, sharpe_interval_s=interval, sharpe_window_s=window),
        events,
    )
    m = metrics_of(store)["bots"]["b1"]
    assert_matches(m, ref, ("equity", "daily_pnl", "drawdown", "max_drawdown", "sharpe", "closed_trades"))
    assert len(state_of(store, "b1")["equity_curve"]) <= 64
