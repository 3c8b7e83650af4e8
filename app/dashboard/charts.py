"""Chart sections: a full figure on connect, then only the new points (pure).

A tracker remembers, per trace, the last point it has pushed; each tick it
emits ``{"ext": [update, trace_indices, max_points]}`` (dcc.Graph's
``extendData``) with the points that are new since, or ``{"fig": figure}``
when the set of traces changed (a new bot appeared).  Whole figures are
otherwise only sent in a full snapshot, never per tick.

x values are milliseconds (Plotly reads numbers on a date axis as ms since the
epoch, and shows them as UTC), which keeps frames small.  Plotly has no notion
of a time zone, so each point is moved by its zone's UTC offset at that instant
(:class:`LocalTime`): the axis then reads as the wall clock in
``metrics.timezone``, named in the axis title, like every time on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.documents import StateDocument

Point = Sequence[float]  # [ts_seconds, value]

_AXIS = {"gridcolor": "rgba(255,255,255,0.08)", "zerolinecolor": "rgba(255,255,255,0.15)"}


class LocalTime:
    """Epoch seconds -> the ms Plotly shows as the wall clock of one zone (DST-aware)."""

    #: UTC offsets are looked up once per quarter hour: zones change them on quarter hours.
    STEP_S = 900

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or ZoneInfo("UTC")
        self._utc = self.zone.key == "UTC"
        self._offsets: dict[int, float] = {}

    def __call__(self, ts: float) -> float:
        if self._utc:
            return ts * 1000
        step = int(ts // self.STEP_S)
        offset = self._offsets.get(step)
        if offset is None:
            if len(self._offsets) > 10_000:  # a long run's history: start over, it is only a cache
                self._offsets.clear()
            at = datetime.fromtimestamp(step * self.STEP_S, UTC).astimezone(self.zone)
            offset = self._offsets[step] = at.utcoffset().total_seconds()
        return (ts + offset) * 1000


def base_layout(title: str, y_title: str, y_format: str = "", zone: str = "UTC", hover: str = "") -> dict:
    """A light-weight dark layout (no Plotly template: frames stay small)."""
    return {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": "#dee2e6", "size": 11},
        "margin": {"l": 60, "r": 12, "t": 36, "b": 36},
        "xaxis": {**_AXIS, "type": "date", "title": {"text": zone}},
        "yaxis": {**_AXIS, "title": {"text": y_title}, "tickformat": y_format, "hoverformat": hover},
        "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        "uirevision": "keep",  # zoom/pan survive updates
        "hovermode": "x unified",
    }


def _trace(name: str, xs: list[float], ys: list[float]) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": xs, "y": ys}


class LineTracker:
    """One trace per series name (per bot): equity and drawdown curves."""

    def __init__(self, layout: dict, max_points: int, x: LocalTime | None = None) -> None:
        self.layout = layout
        self.max_points = max_points
        self.x = x or LocalTime()
        self.names: list[str] = []
        self.last: dict[str, tuple[float, float]] = {}

    def figure(self, series: dict[str, list[Point]]) -> dict:
        """The whole figure (last max_points of each series); does not move the tracker."""
        data = []
        for name, points in series.items():
            pts = points[-self.max_points :]
            data.append(_trace(name, [self.x(p[0]) for p in pts], [p[1] for p in pts]))
        return {"data": data, "layout": self.layout}

    def delta(self, series: dict[str, list[Point]]) -> dict | None:
        """What changed since the last call: None, new points, or a new figure."""
        if list(series) != self.names:
            self.names = list(series)
            for name, points in series.items():
                self._remember(name, points)
            return {"fig": self.figure(series)}
        xs, ys, idx = [], [], []
        for i, (name, points) in enumerate(series.items()):
            new = self._new_points(name, points)
            if new:
                idx.append(i)
                xs.append([self.x(p[0]) for p in new])
                ys.append([p[1] for p in new])
                self._remember(name, points)
        if not idx:
            return None
        return {"ext": [{"x": xs, "y": ys}, idx, self.max_points]}

    def _new_points(self, name: str, points: list[Point]) -> list[Point]:
        last = self.last.get(name)
        if last is None:
            return list(points[-self.max_points :])
        # Walk back from the end: the curve is time-ordered and thinned only at its old end.
        i = len(points)
        while i > 0 and points[i - 1][0] > last[0]:
            i -= 1
        new = list(points[i:])
        if not new and points and points[-1][0] == last[0] and points[-1][1] != last[1]:
            new = [points[-1]]  # same timestamp, new value: show the step
        return new

    def _remember(self, name: str, points: list[Point]) -> None:
        if points:
            self.last[name] = (points[-1][0], points[-1][1])


class LatencyTracker:
    """Execution latency, avg and max: per second in history, per push live."""

    def __init__(self, layout: dict, max_points: int, x: LocalTime | None = None) -> None:
        self.layout = layout
        self.max_points = max_points
        self.x = x or LocalTime()
        self.last_ts: float | None = None

    def figure(self, samples: list[Point]) -> dict:
        """History as one avg/max point per second; does not move the tracker."""
        buckets: dict[int, list[float]] = {}
        for ts, v in samples:
            buckets.setdefault(int(ts), []).append(v)
        keys = sorted(buckets)[-self.max_points :]
        xs = [self.x(k + 1) for k in keys]
        avg = [sum(buckets[k]) / len(buckets[k]) for k in keys]
        mx = [max(buckets[k]) for k in keys]
        return {"data": [_trace("avg", xs, avg), _trace("max", xs, mx)], "layout": self.layout}

    def delta(self, samples: list[Point]) -> dict | None:
        if self.last_ts is None:  # first tick: the history is the figure, sent as a whole
            self.last_ts = samples[-1][0] if samples else float("-inf")
            return {"fig": self.figure(samples)}
        new = [s for s in samples if s[0] > self.last_ts]
        if not new:
            return None
        self.last_ts = new[-1][0]
        values = [v for _, v in new]
        x = self.x(new[-1][0])
        update = {"x": [[x], [x]], "y": [[sum(values) / len(values)], [max(values)]]}
        return {"ext": [update, [0, 1], self.max_points]}


def merged_samples(states: dict[str, StateDocument]) -> list[Point]:
    """Latency samples of every bot of a view, in time order."""
    out: list[Point] = []
    for st in states.values():
        out.extend(st.latency_series)
    if len(states) > 1:
        out.sort(key=lambda p: p[0])
    return out


class Tracker(Protocol):
    """What the broadcaster asks of a chart: the whole figure, or what changed since last time."""

    def figure(self, data: Any) -> dict: ...

    def delta(self, data: Any) -> dict | None: ...


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of the page: its id (the frame section and the dcc.Graph), its tracker and its data.

    ``data`` picks the chart's input out of the view's /api/state documents (per bot);
    ``tracker`` makes the per-view tracker for a number of points and a time zone.
    """

    id: str
    tracker: Callable[[int, ZoneInfo], Tracker]
    data: Callable[[dict[str, StateDocument]], Any]


#: Every chart of the page; the layout places them, the broadcaster feeds them.
CHARTS: tuple[Chart, ...] = (
    Chart(
        "ch-equity",
        lambda n, z: LineTracker(base_layout("Equity", "equity", zone=z.key), n, x=LocalTime(z)),
        lambda states: {b: st.equity_curve for b, st in states.items()},
    ),
    Chart(
        # below the peak, as on the cards, the status bar and in the alerts: positive (docs/metrics.md)
        "ch-drawdown",
        lambda n, z: LineTracker(
            base_layout("Drawdown (below peak)", "drawdown", ".1%", zone=z.key, hover=".2%"),
            n,
            x=LocalTime(z),
        ),
        lambda states: {b: st.drawdown_curve for b, st in states.items()},
    ),
    Chart(
        "ch-latency",
        lambda n, z: LatencyTracker(base_layout("Execution latency", "ms", zone=z.key), n, x=LocalTime(z)),
        merged_samples,
    ),
)
CHART_IDS: tuple[str, ...] = tuple(c.id for c in CHARTS)
