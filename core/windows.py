"""Event-time sliding windows for latency samples and error counts (pure).

Both keep at most ``max_samples`` entries (documented memory bound); samples
older than the window are dropped lazily when read or when the bound is hit.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from core.documents import ErrorEntry, ErrorSummary, LatencyStats, LatencySummary, Point, copied

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
    """A bounded ring of (event time, value[, key]) in numpy arrays.

    Appends are O(1); reading a window is one vectorised mask instead of
    copying a Python container, which matters because metrics are read many
    times a second while events keep arriving.  The arrays start small and
    double up to ``max_samples``, then the oldest samples are overwritten.
    ``keyed`` rings also keep an integer key per sample (the latency op).
    """

    __slots__ = ("cap", "count", "key", "ms", "next", "ts")

    def __init__(self, max_samples: int, keyed: bool = False) -> None:
        self.cap = max_samples
        size = min(64, max_samples)
        self.ts = np.empty(size)
        self.ms = np.empty(size)
        self.key = np.empty(size, dtype=np.int64) if keyed else None
        self.next = 0  # write position
        self.count = 0  # valid samples

    def __setstate__(self, state: object) -> None:
        """Restore a pickled ring; one from before keyed rings has no ``key`` slot."""
        slots = state[1] if isinstance(state, tuple) else state
        self.key = None
        for name, value in (slots or {}).items():
            setattr(self, name, value)

    def add(self, ts: float, ms: float, key: int = 0) -> None:
        i = self.next
        if i == len(self.ts):
            if len(self.ts) < self.cap:
                self._grow()
            else:
                i = 0
        self.ts[i] = ts
        self.ms[i] = ms
        if self.key is not None:
            self.key[i] = key
        self.next = i + 1
        if self.count < self.cap:
            self.count += 1

    def _grow(self) -> None:
        size = min(self.cap, 2 * len(self.ts))
        self.ts = np.resize(self.ts, size)
        self.ms = np.resize(self.ms, size)
        if self.key is not None:
            self.key = np.resize(self.key, size)

    def mask(self, cutoff: float, now: float) -> np.ndarray:
        ts = self.ts[: self.count]
        return (ts > cutoff) & (ts <= now)

    def values(self, cutoff: float, now: float) -> np.ndarray:
        return self.ms[: self.count][self.mask(cutoff, now)]

    def pairs(self, limit: int) -> list[Point]:
        """The newest ``limit`` samples, oldest first."""
        n = min(limit, self.count)
        idx = (np.arange(self.next - n, self.next)) % max(self.count, 1)
        return list(zip(self.ts[idx].tolist(), self.ms[idx].tolist(), strict=True))


class LatencyWindow:
    """Latency samples with ts in (now - window, now], overall and per op.

    One ring holds every sample with the id of its op, so the memory is
    ``max_samples`` samples however many ops a bot names (a ring per op would
    multiply it by the number of ops).  An op with no sample left in the window
    is forgotten at the next :meth:`prune` or :meth:`summary`; a new op gets a
    fresh id, so samples of a forgotten op can never count for another one.
    """

    def __init__(self, window_s: float, max_samples: int) -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self.all = _Samples(max_samples, keyed=True)
        self.ops: dict[str, int] = {}  # op -> id of its samples in the ring
        self._next_id = 0

    def __setstate__(self, state: dict) -> None:
        """A checkpoint of the former layout (one ring per op): rebuilt into the shared ring."""
        by_op = state.pop("by_op", None)
        self.__dict__.update(state)
        if by_op is None:
            return
        self.all = _Samples(self.max_samples, keyed=True)
        self.ops, self._next_id = {}, 0
        samples = sorted((t, m, op) for op, smp in by_op.items() for t, m in smp.pairs(smp.count))
        for t, m, op in samples[-self.max_samples :]:
            self.add(t, op, m)

    def __len__(self) -> int:
        """How many distinct ops are held (the per-bot cap counts these)."""
        return len(self.ops)

    def __contains__(self, op: str) -> bool:
        return op in self.ops

    def add(self, ts: float, op: str, ms: float) -> None:
        key = self.ops.get(op)
        if key is None:
            key = self.ops[op] = self._next_id
            self._next_id += 1
        self.all.add(ts, ms, key)

    def prune(self, now: float) -> None:
        """Forget the ops with no sample in (now - window, now]."""
        ring = self.all
        live = set(np.unique(ring.key[: ring.count][ring.mask(now - self.window_s, now)]).tolist())
        if len(live) < len(self.ops):
            self.ops = {op: k for op, k in self.ops.items() if k in live}

    def summary(self, now: float) -> LatencySummary:
        ring = self.all
        inside = ring.mask(now - self.window_s, now)
        values = ring.ms[: ring.count][inside]
        keys = ring.key[: ring.count][inside]
        overall = stats(values)
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        by_op: dict[str, LatencyStats] = {}
        live: dict[str, int] = {}
        for op in sorted(self.ops):
            k = self.ops[op]
            lo, hi = np.searchsorted(keys, k, "left"), np.searchsorted(keys, k, "right")
            if hi > lo:
                by_op[op] = stats(values[lo:hi])
                live[op] = k
        self.ops = live  # an op not seen for a whole window: forget it
        return copied(LatencySummary, overall, by_op=by_op)

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
