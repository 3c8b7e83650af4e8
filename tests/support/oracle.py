"""Reference implementation of the accounting and metrics definitions of docs/metrics.md.

Written from docs/metrics.md only, never from ``core``: it is deliberately plain, slow and
keeps every event so each metric is recomputed from scratch the obvious way.  The property
tests compare the real store against it; Sharpe and max drawdown are additionally checked
against empyrical-reloaded, latency percentiles against numpy.

Only the pieces of section 4 that are pure functions of the bot's events are modelled
(snapshots, seq tracking and liveness are not).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, settings

from collectors.events import Account, Error, Fill, Latency, Mark

ERRORS_WINDOW_S = 300.0


def run(cfg, events: list, wall: float | None = None):
    """Drive the implementation under test (the only place the oracle module touches it)."""
    from core.store import StateStore

    wall = events[-1].ts + 1.0 if wall is None else wall
    store = StateStore(cfg, clock=lambda: wall)
    for ev in events:
        store.apply(ev)
    return store


#: Examples per property test: 100 in the suite (which must stay under 15 minutes on 2 cores);
#: ORACLE_EXAMPLES=2000 for a deeper run, 25 for ``make mutation``.
EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "100"))
# Shared hypothesis profile.
PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class RefTrip:
    """One round trip of one symbol, from leaving flat until flat again or a flip."""

    symbol: str
    side: str  # "long" | "short"
    opened_ts: float
    gross: float = 0.0  # P&L realized by its closing fills, before fees
    fees: float = 0.0  # fees of all its fills (a flip's fee split pro rata by quantity)
    closed_ts: float | None = None

    @property
    def pnl(self) -> float:
        return self.gross - self.fees


@dataclass
class RefPosition:
    qty: float = 0.0
    avg: float = 0.0
    trip: RefTrip | None = None


@dataclass
class RefBot:
    """Everything one bot sent, plus the running accounting state."""

    starting_equity: float
    tz: str = "UTC"
    sharpe_interval_s: int = 60
    sharpe_window_s: int = 86400
    sharpe_min_returns: int = 30
    risk_free_rate: float = 0.0
    latency_window_s: float = 300.0

    now: float | None = None
    first_ts: float | None = None
    positions: dict[str, RefPosition] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    gross_realized: float = 0.0
    fees: float = 0.0
    trips: list[RefTrip] = field(default_factory=list)  # closed ones, in closing order
    fills: list[Fill] = field(default_factory=list)
    derived_points: list[tuple[float, float]] = field(default_factory=list)
    account_points: list[tuple[float, float]] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    fill_realized: list[tuple[float, float]] = field(default_factory=list)  # (ts, P&L net of its fee)

    # ------------------------------------------------------------------ events
    def apply(self, ev) -> None:
        if self.first_ts is None:
            self.first_ts = ev.ts
            self.derived_points.append((ev.ts, self.starting_equity))
        self.now = ev.ts if self.now is None else max(self.now, ev.ts)
        if isinstance(ev, Fill):
            gross_before = self.gross_realized
            self._fill(ev)
            self.fill_realized.append((ev.ts, self.gross_realized - gross_before - ev.fee))
            self.derived_points.append((ev.ts, self.derived_equity()))
        elif isinstance(ev, Mark):
            for sym, price in ev.prices.items():
                self.marks[sym] = price
            self.derived_points.append((ev.ts, self.derived_equity()))
        elif isinstance(ev, Account):
            self.account_points.append((ev.ts, ev.equity))
        elif isinstance(ev, Latency):
            self.latencies.append(ev)
        elif isinstance(ev, Error):
            self.errors.append(ev)

    def _fill(self, f: Fill) -> None:
        self.fills.append(f)
        self.fees += f.fee
        self.marks[f.symbol] = f.price
        pos = self.positions.setdefault(f.symbol, RefPosition())
        d = f.qty if f.side == "buy" else -f.qty
        q, a = pos.qty, pos.avg
        if q == 0 or (q > 0) == (d > 0):
            # opening or adding: average cost
            if q == 0:
                pos.trip = RefTrip(f.symbol, "long" if d > 0 else "short", f.ts)
            pos.avg = (abs(q) * a + abs(d) * f.price) / (abs(q) + abs(d))
            pos.qty = q + d
            pos.trip.fees += f.fee
            return
        # reducing, closing or flipping
        c = min(abs(d), abs(q))
        gain = c * (f.price - a) * (1.0 if q > 0 else -1.0)
        self.gross_realized += gain
        trip = pos.trip
        trip.gross += gain
        if abs(d) < abs(q):
            pos.qty = q + d
            trip.fees += f.fee
        elif abs(d) == abs(q):
            pos.qty, pos.avg = 0.0, 0.0
            trip.fees += f.fee
            self._close(pos, f.ts)
        else:
            close_fee = f.fee * c / abs(d)
            open_fee = f.fee * (abs(d) - c) / abs(d)
            trip.fees += close_fee
            self._close(pos, f.ts)
            pos.qty, pos.avg = q + d, f.price
            pos.trip = RefTrip(f.symbol, "long" if pos.qty > 0 else "short", f.ts, fees=open_fee)

    def _close(self, pos: RefPosition, ts: float) -> None:
        pos.trip.closed_ts = ts
        self.trips.append(pos.trip)
        pos.trip = None

    # ------------------------------------------------------------- accounting
    @property
    def realized(self) -> float:
        return self.gross_realized - self.fees

    def open_positions(self) -> dict[str, RefPosition]:
        return {s: p for s, p in self.positions.items() if p.qty != 0}

    def unrealized(self) -> float:
        return sum(p.qty * (self.marks[s] - p.avg) for s, p in self.open_positions().items())

    def exposure_gross(self) -> float:
        return sum(abs(p.qty * self.marks[s]) for s, p in self.open_positions().items())

    def exposure_net(self) -> float:
        return sum(p.qty * self.marks[s] for s, p in self.open_positions().items())

    def derived_equity(self) -> float:
        return self.starting_equity + self.realized + self.unrealized()

    @property
    def equity_source(self) -> str:
        return "account" if self.account_points else "derived"

    def curve(self) -> list[tuple[float, float]]:
        return self.account_points if self.account_points else self.derived_points

    def equity(self) -> float:
        return self.curve()[-1][1]

    # ------------------------------------------------------------ time / days
    def midnight(self) -> float:
        """Today's 00:00 in the configured timezone, as a Unix timestamp."""
        zone = ZoneInfo(self.tz)
        day = dt.datetime.fromtimestamp(self.now, tz=zone).date()
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()

    def is_today(self, ts: float) -> bool:
        zone = ZoneInfo(self.tz)
        return (
            dt.datetime.fromtimestamp(ts, tz=zone).date()
            == dt.datetime.fromtimestamp(self.now, tz=zone).date()
        )

    def daily_pnl(self) -> float:
        midnight = self.midnight()
        before = [e for t, e in self.curve() if t < midnight]
        baseline = before[-1] if before else next(e for t, e in self.curve() if t >= midnight)
        return self.equity() - baseline

    # --------------------------------------------------------------- drawdown
    def drawdown(self) -> float:
        peak = max(e for _, e in self.curve())
        return (peak - self.equity()) / peak

    def max_drawdown(self) -> float:
        peak, worst = -math.inf, 0.0
        for _, e in self.curve():
            peak = max(peak, e)
            worst = max(worst, (peak - e) / peak)
        return worst

    # ----------------------------------------------------------------- sharpe
    def sharpe_returns(self) -> list[float]:
        return sharpe_returns(self.curve(), self.now, self.sharpe_interval_s, self.sharpe_window_s)

    def periods_per_year(self) -> float:
        return 365 * 86400 / self.sharpe_interval_s

    def risk_free_per_period(self) -> float:
        return (1 + self.risk_free_rate) ** (1 / self.periods_per_year()) - 1

    # ---------------------------------------------------------------- metrics
    def trip_stats(self, trips: list[RefTrip]) -> dict:
        pnls = [t.pnl for t in trips]
        wins = [p for p in pnls if p > 0]
        losses = [p for p in pnls if p < 0]
        n = len(pnls)
        return {
            "closed_trades": n,
            "wins": len(wins),
            "losses": len(losses),
            "win_rate": len(wins) / n if n else None,
            "profit_factor": (sum(wins) / abs(sum(losses))) if (n and losses) else None,
            "expectancy": (sum(pnls) / n) if n else None,
        }

    def latency_stats(self) -> dict:
        lo = self.now - self.latency_window_s
        inside = [x for x in self.latencies if lo < x.ts <= self.now]
        by_op: dict[str, dict] = {}
        for op in sorted({x.op for x in inside}):
            by_op[op] = window_stats([x.ms for x in inside if x.op == op])
        return {**window_stats([x.ms for x in inside]), "by_op": by_op}

    def error_stats(self) -> dict:
        by_component: dict[str, int] = {}
        for e in self.errors:
            by_component[e.component] = by_component.get(e.component, 0) + 1
        lo = self.now - ERRORS_WINDOW_S
        return {
            "total": len(self.errors),
            "by_component": by_component,
            "last_5m": sum(1 for e in self.errors if lo < e.ts <= self.now),
        }

    def metrics(self) -> dict:
        """The defined numbers, keyed like the /api/metrics per-bot document."""
        today_trips = [t for t in self.trips if self.is_today(t.closed_ts)]
        today = self.trip_stats(today_trips)
        equity = self.equity()
        gross = self.exposure_gross()
        return {
            "equity": equity,
            "equity_source": self.equity_source,
            "realized_pnl": self.realized,
            "unrealized_pnl": self.unrealized(),
            "fees": self.fees,
            "daily_pnl": self.daily_pnl(),
            "drawdown": self.drawdown(),
            "max_drawdown": self.max_drawdown(),
            "sharpe": sharpe_from_returns(
                self.sharpe_returns(),
                self.risk_free_per_period(),
                self.periods_per_year(),
                self.sharpe_min_returns,
            ),
            "sharpe_returns": len(self.sharpe_returns()),
            **self.trip_stats(self.trips),
            "fills_today": sum(1 for f in self.fills if self.is_today(f.ts)),
            "round_trips_today": today["closed_trades"],
            "wins_today": today["wins"],
            "losses_today": today["losses"],
            "exposure_gross": gross,
            "exposure_net": self.exposure_net(),
            "leverage": gross / equity,
            "latency_ms": self.latency_stats(),
            "errors": self.error_stats(),
            "last_event_ts": self.now,
            **self.day_figures(today_trips),
        }

    def day_figures(self, today_trips: list[RefTrip]) -> dict:
        """The daily report's figures of the bot's day, from everything it sent (docs/metrics.md)."""
        midnight = self.midnight()
        before = [e for t, e in self.curve() if t < midnight]
        today = [e for t, e in self.curve() if t >= midnight]
        peak, worst = (before[-1] if before else -math.inf), 0.0
        for e in today:
            peak = max(peak, e)
            if peak > 0:
                worst = max(worst, min((peak - e) / peak, 1.0))
        pnls = [t.pnl for t in today_trips]
        decided = [p for p in pnls if p != 0]
        return {
            "realized_pnl_today": sum(r for ts, r in self.fill_realized if ts >= midnight),
            "fees_today": sum(f.fee for f in self.fills if f.ts >= midnight),
            "equity_day_start": before[-1] if before else (today[0] if today else None),
            "max_drawdown_today": worst,
            "win_rate_today": sum(p > 0 for p in decided) / len(decided) if decided else None,
            "largest_loss_today": min((p for p in pnls if p < 0), default=None),
            "open_positions": len(self.open_positions()),
        }


# ---------------------------------------------------------------------- helpers
def window_stats(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "avg": None, "p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {
        "count": len(values),
        "avg": float(np.mean(arr)),
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "max": float(np.max(arr)),
    }


def sharpe_returns(points: list[tuple[float, float]], now: float, interval: int, window: int) -> list[float]:
    """Bucketed returns exactly as section 4 words them.

    Bucket k covers [kI, (k+1)I); its equity is the last point with ts < (k+1)I, carried
    forward over empty buckets.  Returns run from the first bucket with a point to the bucket
    of ``now`` (K), and only k in (K - floor(W/I), K] are kept.
    """
    if not points:
        return []
    k0 = math.floor(min(t for t, _ in points) / interval)
    k_now = math.floor(now / interval)
    keep = window // interval

    def bucket_equity(k: int) -> float:
        end = (k + 1) * interval
        return [e for t, e in points if t < end][-1]  # arrival order: the last one is the newest

    first = max(k0 + 1, k_now - keep + 1)
    return [bucket_equity(k) / bucket_equity(k - 1) - 1 for k in range(first, k_now + 1)]


def sharpe_from_returns(
    returns: list[float], rf: float, periods: float, min_returns: int = 2
) -> float | None:
    """Section 4's formula via empyrical-reloaded: null with fewer than ``min_returns`` returns
    (metrics.sharpe_min_returns; never fewer than 2) or zero deviation."""
    import empyrical

    if len(returns) < max(2, min_returns):
        return None
    arr = np.asarray(returns, dtype=float)
    if float(np.std(arr - rf, ddof=1)) == 0.0:
        return None
    value = float(empyrical.sharpe_ratio(arr, risk_free=rf, annualization=periods))
    return None if not math.isfinite(value) else value


def empyrical_max_drawdown(points: list[tuple[float, float]]) -> float:
    """empyrical's max drawdown of the point-to-point returns, as a positive fraction."""
    import empyrical

    equities = np.asarray([e for _, e in points], dtype=float)
    if len(equities) < 2:
        return 0.0
    returns = equities[1:] / equities[:-1] - 1
    return -float(empyrical.max_drawdown(returns))


# =========================================================================== scenarios
# Hypothesis strategies shared by tests/test_accounting_props.py and tests/test_metrics_props.py.
# Quantities are multiples of 1/8, prices of 1/16, fees of 1/1024 and timestamps of 1/2 s, so
# exact closes really reach 0.0, bucket and window boundaries are hit exactly, and the only
# float noise left is the average-price division (which both sides must tolerate).

SYMBOLS = ("BTC", "ETH", "SOL")
MIDNIGHT_UTC = 1_700_006_400.0  # 2023-11-15 00:00:00 UTC
TIMEZONES = ("UTC", "America/New_York", "Asia/Kolkata")
MAX_UNITS = 200  # |position| cap in 1/8 units (25.0), keeps derived equity positive


def _strategies():
    from hypothesis import strategies as st

    return st


def dt_general():
    """Mostly seconds apart, sometimes across window edges, hours and midnights."""
    st = _strategies()
    return st.one_of(
        st.integers(0, 240).map(lambda k: k / 2),
        st.integers(0, 240).map(lambda k: k / 2),
        st.sampled_from([299.5, 300.0, 300.5, 3600.0, 6 * 3600.0, 13 * 3600.0 + 0.5, 86400.0]),
    )


def dt_sharpe():
    """Short steps with occasional empty buckets, for Sharpe with I of a minute or so."""
    st = _strategies()
    return st.one_of(
        st.integers(0, 180).map(lambda k: k / 2),
        st.integers(0, 180).map(lambda k: k / 2),
        st.integers(0, 1200).map(lambda k: k / 2),
    )


def make_events(bot: str, steps: list[tuple[type, dict]]) -> list:
    """Envelope the drawn steps for one bot: v=1, seq +1 per event starting at 1."""
    return [cls(v=1, bot=bot, seq=i + 1, **kw) for i, (cls, kw) in enumerate(steps)]


def bot_steps(
    *,
    account: bool = False,
    min_n: int = 1,
    max_n: int = 40,
    dt=None,
    t_start=None,
    weights: dict[str, int] | None = None,
):
    """A strategy for one bot's event list as (class, kwargs-without-envelope) pairs.

    ``account=True`` starts with an `account` event and mixes in more of them, so the whole
    equity curve is account-sourced (the derived-to-account switch is an example test).
    """
    from collectors.events import Account, Error, Fill, Heartbeat, Latency, Mark

    st = _strategies()
    dt = dt if dt is not None else dt_general()
    t_start = (
        t_start
        if t_start is not None
        else st.integers(-30 * 3600 * 2, 6 * 3600 * 2).map(lambda k: MIDNIGHT_UTC + k / 2)
    )
    w = {"fill": 45, "mark": 20, "latency": 15, "error": 7, "heartbeat": 5, "account": 8 if account else 0}
    if weights:
        w.update(weights)
    table = [k for k, n in w.items() for _ in range(n)]

    @st.composite
    def build(draw):
        ts = draw(t_start)
        syms = SYMBOLS[: draw(st.integers(1, len(SYMBOLS)))]
        units = dict.fromkeys(SYMBOLS, 0)
        px = dict.fromkeys(SYMBOLS, 1600)
        out: list[tuple[type, dict]] = []

        def walk(sym: str) -> float:
            px[sym] = min(3200, max(800, px[sym] + draw(st.integers(-48, 48))))
            return px[sym] / 16

        def account_equity() -> float:
            return draw(st.integers(4000 * 16, 12000 * 16)) / 16

        if account:
            out.append((Account, {"ts": ts, "equity": account_equity()}))
        for _ in range(draw(st.integers(min_n, max_n))):
            ts += draw(dt)
            kind = table[draw(st.integers(0, len(table) - 1))]
            if kind == "fill":
                sym = draw(st.sampled_from(syms))
                cur = units[sym]
                mode = draw(st.sampled_from(["add", "reduce", "close", "flip", "flip"]))
                if cur == 0 or mode == "add":
                    sign = draw(st.sampled_from([1, -1])) if cur == 0 else (1 if cur > 0 else -1)
                    n = draw(st.integers(1, 40))
                    if abs(cur + sign * n) > MAX_UNITS:
                        sign, n = -sign, abs(cur)  # would be too big: close instead
                elif mode == "reduce":
                    sign, n = -(1 if cur > 0 else -1), draw(st.integers(1, max(1, abs(cur) - 1)))
                elif mode == "close":
                    sign, n = -(1 if cur > 0 else -1), abs(cur)
                else:
                    sign, n = -(1 if cur > 0 else -1), abs(cur) + draw(st.integers(1, 40))
                units[sym] = cur + sign * n
                fee = draw(st.one_of(st.just(0), st.integers(1, 1023))) / 1024
                kw = {
                    "ts": ts,
                    "fill_id": f"f{len(out)}",
                    "order_id": f"o{len(out)}",
                    "symbol": sym,
                    "side": "buy" if sign > 0 else "sell",
                    "qty": n / 8,
                    "price": walk(sym),
                    "fee": fee,
                }
                out.append((Fill, kw))
            elif kind == "mark":
                chosen = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
                out.append((Mark, {"ts": ts, "prices": {s: walk(s) for s in chosen}}))
            elif kind == "latency":
                op = draw(st.sampled_from(["submit", "cancel", "amend"]))
                ms = draw(st.integers(0, 8000)) / 4
                out.append((Latency, {"ts": ts, "op": op, "ms": ms}))
            elif kind == "error":
                comp = draw(st.sampled_from(["exchange", "strategy", "risk"]))
                sev = draw(st.sampled_from(["warning", "error", "critical"]))
                out.append((Error, {"ts": ts, "component": comp, "message": f"m{len(out)}", "severity": sev}))
            elif kind == "heartbeat":
                out.append((Heartbeat, {"ts": ts}))
            else:
                out.append((Account, {"ts": ts, "equity": account_equity()}))
        return out

    return build()


def reference(events: list, starting_equity: float, **settings) -> RefBot:
    ref = RefBot(starting_equity=starting_equity, **settings)
    for ev in events:
        ref.apply(ev)
    return ref


# ========================================================================== comparison
REL = ABS = 1e-9


def _close(a, b) -> bool:
    if b is None or a is None:
        return a is None and b is None
    if isinstance(b, str):
        return a == b
    if isinstance(b, bool | int) and not isinstance(a, float):
        return a == b
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


def compare_bot(actual: dict, expected: dict, keys=None) -> list[str]:
    """Mismatches between a store per-bot metrics document and RefBot.metrics() (empty = equal)."""
    problems: list[str] = []
    for key in keys if keys is not None else expected:
        exp = expected[key]
        if key not in actual:
            problems.append(f"{key}: missing")
            continue
        act = actual[key]
        if key == "latency_ms":
            problems += _compare_latency(act, exp)
        elif key == "errors":
            for sub in ("total", "by_component", "last_5m"):
                if act.get(sub) != exp[sub]:
                    problems.append(f"errors.{sub}: store {act.get(sub)!r} != oracle {exp[sub]!r}")
        elif not _close(act, exp):
            problems.append(f"{key}: store {act!r} != oracle {exp!r}")
    return problems


def _compare_latency(act: dict, exp: dict) -> list[str]:
    problems = []
    fields = ("count", "avg", "p50", "p95", "max")
    for f in fields:
        if not _close(act.get(f), exp[f]):
            problems.append(f"latency_ms.{f}: store {act.get(f)!r} != oracle {exp[f]!r}")
    got = act.get("by_op", {})
    for op, stats in exp["by_op"].items():
        for f in fields:
            if op not in got or not _close(got[op].get(f), stats[f]):
                problems.append(f"latency_ms.by_op[{op}].{f}: store {got.get(op)!r} != oracle {stats!r}")
    # An op with no sample in the window may be listed only as empty (count 0, rest null).
    for op, stats in got.items():
        if op not in exp["by_op"] and (
            stats.get("count") != 0 or any(stats.get(f) is not None for f in fields[1:])
        ):
            problems.append(f"latency_ms.by_op[{op}]: store {stats!r} but no sample in the window")
    return problems


def compare_curve(actual: list, expected: list[tuple[float, float]]) -> list[str]:
    if len(actual) != len(expected):
        return [
            f"equity_curve: store has {len(actual)} points, oracle {len(expected)}:"
            f" {actual!r} vs {expected!r}"
        ]
    return [
        f"equity_curve[{i}]: store {list(a)!r} != oracle {list(e)!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True))
        if a[0] != e[0] or not _close(a[1], e[1])
    ]


def compare_positions(actual: list[dict], ref: RefBot) -> list[str]:
    problems = []
    got = {p["symbol"]: p for p in actual if p.get("qty", 0) != 0}
    want = ref.open_positions()
    if set(got) != set(want):
        problems.append(f"open positions: store {sorted(got)} != oracle {sorted(want)}")
    for sym in set(got) & set(want):
        p, r = got[sym], want[sym]
        exp = {
            "qty": r.qty,
            "avg_price": r.avg,
            "mark": ref.marks[sym],
            "unrealized_pnl": r.qty * (ref.marks[sym] - r.avg),
        }
        for k, v in exp.items():
            if not _close(p.get(k), v):
                problems.append(f"position {sym}.{k}: store {p.get(k)!r} != oracle {v!r}")
    return problems


# ========================================================================== rejects
def reference_rejects(items: list) -> dict[str, dict]:
    """Each bot's refused messages, in total and per reason, the obvious way (docs/metrics.md).

    ``items`` are what the store applies in order: events, and rejects (anything with a
    ``reason``).  A reject counts for its bot once the monitor holds state for that bot, i.e.
    after one of its events was applied; before (a message naming no bot, an unknown bot, one
    over the cap) it counts for the whole collector only.
    """
    bots: dict[str, dict] = {}
    for item in items:
        reason = getattr(item, "reason", None)
        if reason is None:
            bots.setdefault(item.bot, {"rejected": 0, "rejected_by_reason": {}})
        elif item.bot in bots:
            counts = bots[item.bot]
            counts["rejected"] += 1
            counts["rejected_by_reason"][reason] = counts["rejected_by_reason"].get(reason, 0) + 1
    return bots
