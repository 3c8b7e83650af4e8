"""Event-time sliding windows for latency samples and error counts (pure).

Both keep at most ``max_samples`` entries (documented memory bound); samples
older than the window are dropped lazily when read or when the bound is hit.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

EMPTY_STATS = {"count": 0, "avg": None, "p50": None, "p95": None, "max": None}


def stats(values: np.ndarray) -> dict:
    """count/avg/p50/p95/max with numpy's default (linear) percentiles."""
    if values.size == 0:
        return dict(EMPTY_STATS)
    p50, p95 = np.percentile(values, [50, 95])
    return {"count": int(values.size), "avg": float(values.mean()), "p50": float(p50),
            "p95": float(p95), "max": float(values.max())}


class _Samples:
    """Parallel bounded deques of event times and values (fast to hand to numpy)."""

    __slots__ = ("ms", "ts")

    def __init__(self, max_samples: int) -> None:
        self.ts: deque[float] = deque(maxlen=max_samples)
        self.ms: deque[float] = deque(maxlen=max_samples)

    def add(self, ts: float, ms: float) -> None:
        self.ts.append(ts)
        self.ms.append(ms)

    def prune(self, cutoff: float) -> None:
        while self.ts and self.ts[0] <= cutoff:
            self.ts.popleft()
            self.ms.popleft()

    def values(self, cutoff: float, now: float) -> np.ndarray:
        ts = np.fromiter(self.ts, float, len(self.ts))
        ms = np.fromiter(self.ms, float, len(self.ms))
        return ms[(ts > cutoff) & (ts <= now)]


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

    def summary(self, now: float) -> dict:
        cutoff = now - self.window_s
        by_op = {}
        for op in sorted(self.by_op):
            samples = self.by_op[op]
            samples.prune(cutoff)
            if samples.ts:
                by_op[op] = stats(samples.values(cutoff, now))
            else:
                del self.by_op[op]  # an op not seen for a whole window: forget it
        self.all.prune(cutoff)
        out = stats(self.all.values(cutoff, now))
        out["by_op"] = {op: s for op, s in by_op.items() if s["count"]}
        return out

    def series(self, limit: int) -> list[list[float]]:
        """The newest samples as [ts, ms] pairs, for the latency chart."""
        n = len(self.all.ts)
        skip = max(0, n - limit)
        pairs = zip(self.all.ts, self.all.ms, strict=True)
        return [[t, m] for i, (t, m) in enumerate(pairs) if i >= skip]


class ErrorLog:
    """Error totals, by component and severity, last-5-minute count, last messages."""

    WINDOW_S = 300.0

    def __init__(self, max_samples: int, keep_messages: int = 20) -> None:
        self.total = 0
        self.by_component: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.times: deque[float] = deque(maxlen=max_samples)
        self.recent: deque[dict] = deque(maxlen=keep_messages)
        self.last_critical: dict | None = None

    def add(self, ts: float, component: str, severity: str, message: str) -> None:
        self.total += 1
        self.by_component[component] += 1
        self.by_severity[severity] += 1
        self.times.append(ts)
        entry = {"ts": ts, "component": component, "severity": severity, "message": message}
        self.recent.append(entry)
        if severity == "critical":
            self.last_critical = entry

    def summary(self, now: float) -> dict:
        cutoff = now - self.WINDOW_S
        while self.times and self.times[0] <= cutoff:
            self.times.popleft()
        last_5m = sum(1 for t in self.times if cutoff < t <= now)
        return {"total": self.total, "by_component": dict(self.by_component),
                "by_severity": dict(self.by_severity), "last_5m": last_5m,
                "last_critical": self.last_critical}
