"""Event-time sliding windows for latency samples and error counts (pure).

Both keep at most ``max_samples`` entries (documented memory bound); samples
older than the window are dropped lazily when read or when the bound is hit.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from app.core.documents import ErrorEntry, ErrorSummary, LatencyStats, LatencySummary, Point

EMPTY_STATS = LatencyStats(count=0, avg=None, p50=None, p95=None, max=None)


def stats(values: np.ndarray) -> LatencyStats:
    """count/avg/p50/p95/max with numpy's default (linear) percentiles."""
    if values.size == 0:
        return EMPTY_STATS
    p50, p95 = np.percentile(values, [50, 95])
    return LatencyStats(
        count=int(values.size),
        avg=float(values.mean()),
        p50=float(p50),
        p95=float(p95),
        max=float(values.max()),
    )


class _Samples:
    """A bounded ring of (event time, value) in numpy arrays.

    Appends are O(1); reading a window is one vectorised mask instead of
    copying a Python container, which matters because metrics are read many
    times a second while events keep arriving.  The arrays start small and
    double up to ``max_samples``, then the oldest samples are overwritten.
    """

    __slots__ = ("cap", "count", "ms", "next", "ts")

    def __init__(self, max_samples: int) -> None:
        self.cap = max_samples
        size = min(64, max_samples)
        self.ts = np.empty(size)
        self.ms = np.empty(size)
        self.next = 0  # write position
        self.count = 0  # valid samples

    def add(self, ts: float, ms: float) -> None:
        i = self.next
        if i == len(self.ts):
            if len(self.ts) < self.cap:
                self._grow()
            else:
                i = 0
        self.ts[i] = ts
        self.ms[i] = ms
        self.next = i + 1
        if self.count < self.cap:
            self.count += 1

    def _grow(self) -> None:
        size = min(self.cap, 2 * len(self.ts))
        self.ts = np.resize(self.ts, size)
        self.ms = np.resize(self.ms, size)

    @property
    def newest(self) -> float:
        return float(self.ts[self.next - 1]) if self.count else float("-inf")

    def values(self, cutoff: float, now: float) -> np.ndarray:
        ts, ms = self.ts[: self.count], self.ms[: self.count]
        return ms[(ts > cutoff) & (ts <= now)]

    def pairs(self, limit: int) -> list[Point]:
        """The newest ``limit`` samples, oldest first."""
        n = min(limit, self.count)
        idx = (np.arange(self.next - n, self.next)) % max(self.count, 1)
        return list(zip(self.ts[idx].tolist(), self.ms[idx].tolist(), strict=True))


class LatencyWindow:
    """Latency samples with ts in (now - window, now], overall and per op."""

    def __init__(self, window_s: float, max_samples: int) -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self.all = _Samples(max_samples)
        self.by_op: dict[str, _Samples] = {}

    def add(self, ts: float, op: str, ms: float) -> None:
        self.all.add(ts, ms)
        samples = self.by_op.get(op)
        if samples is None:
            samples = self.by_op[op] = _Samples(self.max_samples)
        samples.add(ts, ms)

    def summary(self, now: float) -> LatencySummary:
        cutoff = now - self.window_s
        for op in [op for op, smp in self.by_op.items() if smp.newest <= cutoff]:
            del self.by_op[op]  # an op not seen for a whole window: forget it
        overall = stats(self.all.values(cutoff, now))
        by_op = {op: stats(self.by_op[op].values(cutoff, now)) for op in sorted(self.by_op)}
        return LatencySummary(
            count=overall.count,
            avg=overall.avg,
            p50=overall.p50,
            p95=overall.p95,
            max=overall.max,
            by_op={op: st for op, st in by_op.items() if st.count},
        )

    def series(self, limit: int) -> list[Point]:
        """The newest samples as [ts, ms] pairs, for the latency chart."""
        return self.all.pairs(limit)


class ErrorLog:
    """Error totals, by component and severity, last-5-minute count, last messages."""

    WINDOW_S = 300.0

    def __init__(self, max_samples: int, keep_messages: int = 20) -> None:
        self.total = 0
        self.by_component: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.times = _Samples(max_samples)
        self.recent: deque[ErrorEntry] = deque(maxlen=keep_messages)
        self.last_critical: ErrorEntry | None = None

    def add(self, ts: float, component: str, severity: str, message: str) -> None:
        self.total += 1
        self.by_component[component] += 1
        self.by_severity[severity] += 1
        self.times.add(ts, 1.0)
        entry = ErrorEntry(ts=ts, component=component, severity=severity, message=message)
        self.recent.append(entry)
        if severity == "critical":
            self.last_critical = entry

    def summary(self, now: float) -> ErrorSummary:
        last_5m = int(self.times.values(now - self.WINDOW_S, now).size)
        return ErrorSummary(
            total=self.total,
            by_component=dict(self.by_component),
            by_severity=dict(self.by_severity),
            last_5m=last_5m,
            last_critical=self.last_critical,
        )
