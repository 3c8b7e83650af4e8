"""Equity series of one bot: curve, drawdown, daily baseline, Sharpe buckets (pure).

Every statistic here is maintained incrementally so applying an event is
O(1) and memory stays bounded however long the monitor runs:

* the displayed curve keeps at most ``curve_points`` points; when full, its
  older half is thinned by two (recent history at full resolution, older
  history at geometrically coarser resolution);
* drawdown needs only the running peak;
* daily P&L needs only the last point before today's midnight;
* Sharpe needs one equity value per bucket for the last ``W/I + 1`` buckets.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np


class DayClock:
    """Start of the calendar day of a timestamp in a timezone, cached per day."""

    __slots__ = ("_end", "_start", "tz")

    def __init__(self, tz: str) -> None:
        self.tz = ZoneInfo(tz)
        self._start = math.inf
        self._end = -math.inf

    def day_start(self, ts: float) -> float:
        if self._start <= ts < self._end:
            return self._start
        local = datetime.fromtimestamp(ts, self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = (midnight + timedelta(days=1, hours=3)).replace(hour=0)  # DST-safe next midnight
        self._start = _aware_ts(midnight, self.tz)
        self._end = _aware_ts(nxt, self.tz)
        return self._start


def _aware_ts(local: datetime, tz: ZoneInfo) -> float:
    """Epoch of a local wall time, re-resolving the UTC offset for that date."""
    return local.replace(tzinfo=None).replace(tzinfo=tz).timestamp()


class EquitySeries:
    """The equity curve and the statistics derived from it."""

    # the day's running peak and its largest fall below it (class defaults: a series restored
    # from a checkpoint written before them starts from these)
    day_peak = -math.inf
    day_max_drawdown = 0.0

    def __init__(self, curve_points: int, sharpe_interval_s: int, sharpe_window_s: int) -> None:
        self.curve: list[tuple[float, float, float]] = []  # (ts, equity, drawdown)
        self._curve_cap = curve_points
        self.interval = sharpe_interval_s
        self.window_buckets = sharpe_window_s // sharpe_interval_s
        # (bucket_index, equity): entries are replaced, never changed in place, so a copy of the
        # deque is a copy of the series' buckets (the store copies it once per batch: containment)
        self.buckets: deque[tuple[int, float]] = deque()
        self.first_bucket: int | None = None
        self.last: tuple[float, float] | None = None
        self.peak = -math.inf
        self.max_drawdown = 0.0
        self.day_start = -math.inf
        self.baseline: tuple[float, float] | None = None  # last point before day_start
        self.first_today: tuple[float, float] | None = None

    def append(self, ts: float, equity: float) -> None:
        """Add one equity point (the ingest hot path: fast paths inlined)."""
        point = (ts, equity)
        if ts < self.day_start:
            self.baseline = point
        elif self.first_today is None:
            self.first_today = point
        self.last = point
        if ts >= self.day_start:  # today's peak (from the equity at the day's start) and largest fall
            day_peak = self.day_peak
            if equity > day_peak:
                self.day_peak = equity
            elif day_peak > 0 and (day_peak - equity) / day_peak > self.day_max_drawdown:
                self.day_max_drawdown = min((day_peak - equity) / day_peak, 1.0)
        if equity > self.peak:
            self.peak = equity
        drawdown = self.drawdown_at(equity) if equity < self.peak else 0.0
        if drawdown > self.max_drawdown:
            self.max_drawdown = drawdown
        curve = self.curve
        curve.append((ts, equity, drawdown))
        if len(curve) > self._curve_cap:
            self._thin_curve()
        buckets = self.buckets
        k = int(ts // self.interval)
        if buckets and buckets[-1][0] == k:
            buckets[-1] = (k, equity)
        else:
            self._push_bucket(k, equity)

    def roll_day(self, day_start: float) -> None:
        """Called when the bot's "now" enters a new calendar day."""
        if day_start <= self.day_start:
            return
        self.day_start = day_start
        if self.last is not None and self.last[0] < day_start:
            self.baseline = self.last
        self.first_today = None
        self.day_peak = self.baseline[1] if self.baseline is not None else -math.inf
        self.day_max_drawdown = 0.0

    @property
    def day_start_equity(self) -> float | None:
        """The equity the day started from: the last point before it, else the day's first."""
        base = self.baseline or self.first_today
        return None if base is None else base[1]

    def drawdown_at(self, equity: float) -> float:
        if self.peak <= 0 or not math.isfinite(self.peak):
            return 0.0
        return min(max((self.peak - equity) / self.peak, 0.0), 1.0)

    @property
    def equity(self) -> float | None:
        return None if self.last is None else self.last[1]

    def daily_pnl(self) -> float | None:
        if self.last is None:
            return None
        base = self.baseline or self.first_today
        return None if base is None else self.last[1] - base[1]

    @property
    def drawdown(self) -> float:
        return 0.0 if self.last is None else self.drawdown_at(self.last[1])

    def _thin_curve(self) -> None:
        half = len(self.curve) // 2
        self.curve = self.curve[:half:2] + self.curve[half:]

    def _push_bucket(self, k: int, equity: float) -> None:
        if self.first_bucket is None:
            self.first_bucket = k
        if self.buckets and self.buckets[-1][0] == k:
            self.buckets[-1] = (k, equity)
        elif self.buckets and k < self.buckets[-1][0]:
            self._late_bucket(k, equity)
        else:
            self.buckets.append((k, equity))
        # keep one bucket before the window so the first return has its predecessor
        while len(self.buckets) > 1 and self.buckets[1][0] <= k - self.window_buckets - 1:
            self.buckets.popleft()

    def _late_bucket(self, k: int, equity: float) -> None:
        """A point whose ts falls in an older bucket: it is that bucket's latest point."""
        buckets = self.buckets
        for i in range(len(buckets) - 1, -1, -1):
            if buckets[i][0] == k:
                buckets[i] = (k, equity)
                return
            if buckets[i][0] < k:
                break
        buckets.append((k, equity))
        ordered = sorted(self.buckets, key=lambda e: e[0])
        self.buckets.clear()
        self.buckets.extend(ordered)

    def sharpe(self, now: float, risk_free_rate: float, min_returns: int = 2) -> tuple[float | None, int]:
        """Annualised Sharpe of bucketed returns, and how many returns it is made of.

        Null below ``min_returns`` returns (never below 2, the least a deviation needs):
        annualising a handful of one-minute returns gives numbers in the hundreds that no
        trader can use, so the count goes with it and the page says how far it is.
        See docs/metrics.md for the definition.
        """
        if self.first_bucket is None or not self.buckets:
            return None, 0
        returns = self.bucket_returns(now)
        n = len(returns)
        if n < max(2, min_returns):
            return None, n
        periods = 365 * 86400 / self.interval
        rf = (1 + risk_free_rate) ** (1 / periods) - 1
        excess = returns - rf
        std = excess.std(ddof=1)
        if not std > 0 or not math.isfinite(std):
            return None, n
        return float(excess.mean() / std * math.sqrt(periods)), n

    def bucket_returns(self, now: float) -> np.ndarray:
        """r_k = E_k/E_(k-1) - 1 for k in (K - W/I, K], k > first bucket with a point."""
        big_k = int(now // self.interval)
        lo = max(self.first_bucket + 1, big_k - self.window_buckets + 1)
        if big_k < lo:
            return np.empty(0)
        values = self._carried(lo - 1, big_k)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = values[1:] / values[:-1] - 1
        return returns[np.isfinite(returns)]

    def _carried(self, k0: int, k1: int) -> np.ndarray:
        """Bucket equities for k0..k1, carried forward over empty buckets."""
        out = np.empty(k1 - k0 + 1)
        value = math.nan
        entries = iter(self.buckets)
        entry = next(entries, None)
        for k in range(k0, k1 + 1):
            while entry is not None and entry[0] <= k:
                value = entry[1]
                entry = next(entries, None)
            out[k - k0] = value
        return out
