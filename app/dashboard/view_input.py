"""What one view of the page is built from for one tick, and which bots it covers.

Every section builder takes its figures from a :class:`ViewInput` read from the hub
beforehand, so the builders stay pure (no hub, no lock, no clock of their own).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from alerts.read_model import AlertStatus
from app.dashboard import fmt
from core.documents import MetricsDocument, StateDocument

ALL = "__all__"


UTC = ZoneInfo("UTC")


@dataclass
class ViewInput:
    """Everything one view needs for one tick, read from the hub beforehand."""

    view: str  # a bot id or ALL
    metrics: MetricsDocument
    states: dict[str, StateDocument]  # for the bots of this view
    now: float
    stale_after_s: float
    listen_info: dict
    alerts: AlertStatus | None = None
    server: dict = field(default_factory=dict)  # clients, frames/s: the dashboard's own state
    fills_rows: int = 100
    error_rows: int = 20
    #: ``metrics.timezone``: every time on the page is shown in it, with its abbreviation.
    zone: ZoneInfo = UTC
    #: The Sharpe definition in force (``metrics.*``), for the card's "n/a until" note.
    sharpe_min_returns: int = 30
    sharpe_interval_s: int = 60
    #: ``metrics.latency_window_s``: the latency card's window (the chart shows older samples too).
    latency_window_s: float = 300.0
    #: ``alerts.safety.mark_stale_after_s``: a position valued at an older mark says so (None: the default).
    mark_stale_after_s: float | None = None

    def when(self, ts: float | None) -> str:
        """An event time as the trader reads it (zone, and date when not today)."""
        return fmt.when(ts, self.zone, self.now)


def utc_now(ts: float | None) -> str:
    """A time in UTC against the wall clock: for callers without a view (the view passes its own)."""
    return fmt.when(ts, UTC, time.time())


def view_bots(view: str, metrics: MetricsDocument) -> list[str]:
    """The bots a view covers: one, or all known ones."""
    known = sorted(metrics.bots)
    if view == ALL:
        return known
    return [view] if view in known else []
