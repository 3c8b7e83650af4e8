"""The broadcaster: one thread turns hub changes into frames for every page.

Why this shape:

* The collector never waits for a browser: it only bumps ``hub.version``.
  This thread wakes on that change, waits out the rest of the push interval
  (coalescing every event of the interval into one frame), reads the hub
  once per *view* (a bot, or all bots) and encodes each frame once, however
  many pages show that view.
* Each page has a :class:`ClientSlot`, a small bounded queue owned by the
  page's WebSocket thread.  When it is full the page is slow: its waiting
  frames are dropped and it will receive one full snapshot instead (newest
  wins).  So a stuck browser costs one slot, never the collector's or the
  other pages' time.
* Frames carry ``seq`` and ``base``: a page applies a delta only on top of
  the frame it is based on, and asks for a full snapshot otherwise (the
  dash-extensions WebSocket component keeps only the latest message, so the
  browser can miss one).

* Every page gets at least one frame per ``refresh_s``, even when nothing
  changed (then ``s`` is empty): the page's watchdog tells a live server from
  a stopped one by the frames' arrival, and leaves LIVE after 3 x ``refresh_s``
  without any.

Frame: ``{"seq": int, "base": int|null, "full": bool, "t": server_time, "s": {section: value}}``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from alerts.read_model import AlertStatus
from app.dashboard.charts import CHARTS, Tracker
from app.dashboard.config import DashboardSettings
from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput, view_bots
from app.hub import Hub
from core.config import MetricsSettings
from core.documents import MetricsDocument, StateDocument

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
#: Health-tab sections: ages, rates and memory change on every tick, and
#: re-rendering them 13 times a second costs the browser more than the rest
#: of the page; they are pushed at most once per ``refresh_s``.  What a trader
#: must see at once (status bar, money, positions, charts) is never throttled.
SLOW_SECTIONS = frozenset(
    {
        "kv-bot-health",
        "tb-apis",
        "tb-events",
        "tb-reject-reasons",
        "tb-rejects",
        "tb-err-components",
        "tb-errors",
        "kv-monitor",
        "kv-alerts",
    }
)


class ClientSlot:
    """A page's bounded frame queue; the broadcaster never blocks on it."""

    def __init__(self, view: str, maxlen: int) -> None:
        self.view = view
        self.maxlen = maxlen
        self.needs_full = True  # the first frame after a connect is a full snapshot
        self.closed = False
        self.dropped = 0
        self._frames: deque[str] = deque()
        self._cond = threading.Condition()

    def offer(self, delta: str | None, full: Callable[[], str]) -> None:
        """Queue this tick's frame for the page, or a full snapshot if it fell behind."""
        with self._cond:
            if self.closed:
                return
            if self.needs_full or (delta is not None and len(self._frames) >= self.maxlen):
                self.dropped += len(self._frames)
                self._frames.clear()
                self._frames.append(full())
                self.needs_full = False
            elif delta is not None:
                self._frames.append(delta)
            else:
                return
            self._cond.notify()

    def request_full(self) -> None:
        with self._cond:
            self.needs_full = True

    def take(self, timeout: float) -> str | None:
        """The next frame for the page (WebSocket thread), or None after timeout/close."""
        with self._cond:
            if not self._frames and not self.closed:
                self._cond.wait(timeout)
            return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class ViewStream:
    """The frames of one view; diffs its sections between ticks."""

    def __init__(self, view: str, settings: DashboardSettings) -> None:
        self.view = view
        self.seq = 0
        self.sections: dict[str, Any] = {}
        self.rates = Rates()
        self.refresh_s = settings.refresh_s
        self.interval = settings.push_interval_ms / 1000.0
        self._slow_at = float("-inf")
        self._max_points = settings.max_chart_points
        self.zone: ZoneInfo | None = None
        self.charts: dict[str, Tracker] = {}
        self._chart_inputs: dict[str, Any] = {}
        self._failures_logged: dict[str, float] = {}
        self._sent_at = float("-inf")

    def tick(
        self, inp: ViewInput, extra: dict[str, Any] | None = None
    ) -> tuple[str | None, Callable[[], str]]:
        """Advance one tick: (delta frame or None if nothing changed, full-frame factory)."""
        if inp.zone != self.zone:  # first tick, or metrics.timezone changed: charts on the new clock
            self.zone = inp.zone
            self.charts = {c.id: c.tracker(self._max_points, inp.zone) for c in CHARTS}
        sections = build_sections(inp, self.rates, self._section_failed)
        sections.update(extra or {})
        _keep_chosen_bot(sections, self.view)
        # due on every quiet tick, which comes every refresh_s - push interval (Broadcaster._loop)
        slow_due = time.monotonic() - self._slow_at >= self.refresh_s - self.interval
        changed = {}
        for key, value in sections.items():
            if self.sections.get(key) == value or (key in SLOW_SECTIONS and not slow_due):
                continue  # unchanged, or a slow section not due yet (kept stale until then)
            changed[key] = self.sections[key] = value
        if slow_due and any(k in SLOW_SECTIONS for k in changed):
            self._slow_at = time.monotonic()
        changed.update(self._chart_deltas(inp))
        delta = None
        sent_ago = time.monotonic() - self._sent_at
        if changed or sent_ago >= self.refresh_s / 2:  # an empty frame says "alive, nothing new"
            base, self.seq = self.seq, self.seq + 1
            frame = {"seq": self.seq, "base": base, "full": False, "t": inp.now, "s": changed}
            delta = _encode(frame).decode()
            self._sent_at = time.monotonic()
        cache: list[str] = []

        def full() -> str:
            if not cache:
                cache.append(self._full(inp.now))
            return cache[0]

        return delta, full

    def _chart_deltas(self, inp: ViewInput) -> dict[str, Any]:
        """The new points of each chart; a chart that fails is left out (and logged), the others go."""
        changed = {}
        self._chart_inputs = chart_inputs(inp.states, self._section_failed)
        for key, data in list(self._chart_inputs.items()):
            try:
                d = self.charts[key].delta(data)
            except Exception as exc:
                self._section_failed(key, exc)
                del self._chart_inputs[key]
                continue
            if d is not None:
                changed[key] = d
        return changed

    def _section_failed(self, key: str, exc: Exception) -> None:
        """Log a section that could not be built, at most once a minute per section (it recurs every tick)."""
        now = time.monotonic()
        if now - self._failures_logged.get(key, float("-inf")) >= 60.0:
            self._failures_logged[key] = now
            log.error("dashboard section %s of view %s could not be built", key, self.view, exc_info=exc)

    def _full(self, now: float) -> str:
        """Everything, charts as whole figures (built without disturbing the trackers)."""
        s = dict(self.sections)
        for key, data in self._chart_inputs.items():
            s[key] = {"fig": self.charts[key].figure(data)}
        return _encode({"seq": self.seq, "base": None, "full": True, "t": now, "s": s}).decode()


def _keep_chosen_bot(sections: dict[str, Any], view: str) -> None:
    """The selector lists a chosen bot that has not reported yet (a bookmarked ``?bot=``).

    The page's selector drops a value missing from its options, which would quietly
    switch a bookmarked view to all bots; the status bar says the bot has sent nothing yet.
    """
    bots = sections.get("bots")
    if view != ALL and isinstance(bots, list) and view not in bots:
        sections["bots"] = sorted([*bots, view])


def alerts_for_view(status: AlertStatus | None, view: str) -> AlertStatus | None:
    """The alert status as one view sees it: firing counts that view's bot and the monitor's own alerts
    (the read model's ``firing_by_bot``, alerts/read_model.py)."""
    return None if status is None else status.for_view(None if view == ALL else view)


def chart_inputs(
    states: dict[str, StateDocument], on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, Any]:
    """Each chart's input for this tick, from the view's state documents.

    A chart whose input cannot be built is left out (it keeps its last figure);
    the other charts and sections still update.
    """
    inputs = {}
    for c in CHARTS:
        try:
            inputs[c.id] = c.data(states)
        except Exception as exc:
            if on_error is not None:
                on_error(c.id, exc)
    return inputs


class Broadcaster:
    """Owns the slots and the push thread; see the module docstring."""

    def __init__(
        self,
        hub: Hub,
        settings: DashboardSettings,
        *,
        listen_info: dict,
        alerts_status: Callable[[], AlertStatus] | None = None,
        extra_sections: Callable[[str, MetricsDocument], dict] | None = None,
        mark_stale_after: Callable[[], float] | None = None,
    ) -> None:
        self.hub = hub
        #: the stale-mark limit in force (alerts.safety.mark_stale_after_s), read at every tick
        self.mark_stale_after = mark_stale_after
        #: the Alerts tab's sections of a view (same frames, same diffing), given the tick's metrics
        self.extra_sections = extra_sections
        self.settings = settings
        self.listen_info = listen_info
        self.alerts_status = alerts_status
        self.interval = settings.push_interval_ms / 1000.0
        #: quiet ticks come this often, so a frame leaves at least once per refresh_s
        self.refresh_every = max(self.interval, settings.refresh_s - self.interval)
        self._slots: set[ClientSlot] = set()
        self._streams: dict[str, ViewStream] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- clients --------------------------------------------------------------
    def connect(self, view: str) -> ClientSlot | None:
        """Register a page; None when max_clients pages are already connected."""
        with self._lock:
            if len(self._slots) >= self.settings.max_clients:
                return None
            slot = ClientSlot(view or ALL, self.settings.client_queue)
            self._slots.add(slot)
            return slot

    def disconnect(self, slot: ClientSlot) -> None:
        slot.close()
        with self._lock:
            self._slots.discard(slot)

    @property
    def clients(self) -> int:
        return len(self._slots)

    # ---- thread -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dashboard-broadcaster", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            slot.close()

    def _run(self) -> None:
        """Survive anything: a bug in one tick must not freeze every page."""
        while not self._stop.is_set():
            try:
                self._loop()
            except Exception:
                log.exception("dashboard broadcaster failed; restarting in 1 s")
                self._stop.wait(1.0)

    def _loop(self) -> None:
        seen, last_eval, last_tick = -1, 0.0, 0.0
        while not self._stop.is_set():
            version = self.hub.wait_for_change(seen, self.interval)
            now = time.monotonic()
            pending_full = any(s.needs_full for s in list(self._slots))
            # quiet: still one tick per refresh_s, whose frame tells the pages the server is alive
            if version == seen and not pending_full and now - last_eval < self.refresh_every:
                continue
            wait = last_tick + self.interval - now
            if wait > 0 and self._stop.wait(wait):  # coalesce: at most one frame per interval
                return
            seen = self.hub.version
            last_tick = last_eval = time.monotonic()
            self.tick()

    def tick(self) -> None:
        """Compute and offer one frame per view that has pages (also called by tests)."""
        with self._lock:
            slots = list(self._slots)
            views = {s.view for s in slots}
            for gone in set(self._streams) - views:
                del self._streams[gone]
            for view in views:
                self._streams.setdefault(view, ViewStream(view, self.settings))
        if not slots:
            return
        metrics = self.hub.metrics()
        alerts = self._alerts()
        now = self.hub.clock()
        m = self._metrics_settings()
        zone = ZoneInfo(m.timezone)
        for view, stream in list(self._streams.items()):
            states = {b: st for b in view_bots(view, metrics) if (st := self.hub.state(b)) is not None}
            extra = self.extra_sections(view, metrics) if self.extra_sections is not None else None
            inp = ViewInput(
                view=view,
                metrics=metrics,
                states=states,
                now=now,
                stale_after_s=self.hub.stale_after_s,
                listen_info=self.listen_info,
                alerts=alerts_for_view(alerts, view),
                server={"clients": len(slots)},
                fills_rows=self.settings.fills_rows,
                error_rows=self.settings.error_rows,
                zone=zone,
                sharpe_min_returns=m.sharpe_min_returns,
                sharpe_interval_s=m.sharpe_interval_s,
                latency_window_s=m.latency_window_s,
                mark_stale_after_s=self.mark_stale_after() if self.mark_stale_after else None,
            )
            delta, full = stream.tick(inp, extra)
            for slot in slots:
                if slot.view == view:
                    slot.offer(delta, full)

    def _metrics_settings(self) -> MetricsSettings:
        """The ``metrics:`` settings the store computes with: the page shows times in the same
        zone as the one that decides "today", whatever changes the settings at run time."""
        return self.hub.under_lock(lambda store: store.config.metrics)

    def _alerts(self) -> AlertStatus | None:
        if self.alerts_status is None:
            return None
        try:
            return self.alerts_status()
        except Exception as exc:  # the alert engine failing must not blank the dashboard
            log.warning("alerts_status() failed: %s", exc)
            return AlertStatus.failed(str(exc))
