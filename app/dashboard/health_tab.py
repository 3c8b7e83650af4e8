"""The Health tab's bot sections: switches, staleness, exchange APIs, event counts and rates, rejects, errors.

The monitor's own panels on that tab (collector, journal, alert delivery) are in monitor_panel.py.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from app.dashboard import fmt
from app.dashboard.across_bots import SWITCH_CLASS
from app.dashboard.tables import Cell, newest_first, table
from app.dashboard.view_input import utc_now
from core.documents import BotMetrics, MetricsDocument, StateDocument
from core.monitor_documents import CatchUp

_STATUS_CLASS = {"up": "pos", "degraded": "warn", "down": "neg"}


def bot_health_kv(per_bot: dict[str, BotMetrics], stale_after_s: float) -> list[list[str]]:
    rows = []
    for bot, m in per_bot.items():
        h = m.health
        prefix = f"{bot} · " if len(per_bot) > 1 else ""
        stale = m.stale
        rows += [
            [
                f"{prefix}Circuit breaker",
                (h.circuit_breaker or fmt.NA).replace("_", " "),
                SWITCH_CLASS.get(h.circuit_breaker or "", "neutral"),
            ],
            [
                f"{prefix}Kill switch",
                h.kill_switch or fmt.NA,
                SWITCH_CLASS.get(h.kill_switch or "", "neutral"),
            ],
            [
                f"{prefix}Last event",
                f"{fmt.age(m.last_event_age_s)} ago",
                "neg" if stale else "neutral",
            ],
            [
                f"{prefix}Stale (> {fmt.age(stale_after_s)})",
                "yes" if stale else "no",
                "neg" if stale else "pos",
            ],
            [
                f"{prefix}Position mismatches",
                fmt.integer(m.position_mismatches),
                "neg" if m.position_mismatches else "neutral",
            ],
        ]
    return rows


def apis_table(per_bot: dict[str, BotMetrics]) -> dict:
    rows = []
    for bot, m in per_bot.items():
        for api, status in m.health.apis.items():
            rows.append([bot, api, [status or fmt.NA, _STATUS_CLASS.get(status or "", "neutral")]])
    rows.sort(key=lambda r: r[2][0] != "down")  # when rows are capped, the APIs down are the ones shown
    return table(["Bot", "API", "Status"], rows, "No API status reported yet")


class Rates:
    """Per-key event rates from successive counter readings (10 s window)."""

    WINDOW_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._marks: dict[str, deque[tuple[float, float]]] = {}

    def rate(self, key: str, count: float) -> float | None:
        now = self._clock()
        marks = self._marks.setdefault(key, deque())
        if not marks or marks[-1][1] != count or now - marks[-1][0] >= 1.0:
            marks.append((now, count))
        while len(marks) > 2 and now - marks[0][0] > self.WINDOW_S:
            marks.popleft()
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return None
        return max(0.0, (marks[-1][1] - marks[0][1]) / (now - marks[0][0]))


def events_table(metrics: MetricsDocument, per_bot: dict[str, BotMetrics], rates: Rates) -> dict:
    rows = []
    col = metrics.collector
    catch_up = col.catch_up
    for bot, m in per_bot.items():
        ev = m.events
        counts = {"received": ev.received, "rejected": ev.rejected, "lost": ev.lost}
        cells = _counts_with_rates(f"bot:{bot}", counts, rates)
        rows.append([bot, *cells, fmt.integer(ev.recovered), _catch_up_cell(catch_up.get(bot))])
    for bot in sorted(set(catch_up) - set(per_bot)):  # asked at start, not in the state (yet)
        rows.append([bot, *[fmt.NA] * 7, _catch_up_cell(catch_up[bot])])
    totals = {"received": col.received, "rejected": col.rejected, "lost": None}
    rows.append(
        [["collector (all bots)", "muted"], *_counts_with_rates("collector", totals, rates), fmt.NA, fmt.NA]
    )
    # Recovered: events missed live and applied from the bot's replay; Catch-up: what the
    # monitor asked each bot for at its start, and what came of it (docs/events.md)
    headers = ["Source", "Received", "Rate", "Rejected", "Rate", "Lost", "Rate", "Recovered", "Catch-up"]
    return table(headers, rows, "", keep_last=1)


_CATCH_UP_CLASS = {"asking": "warn", "done": "pos", "lost": "neg"}


def _catch_up_cell(c: CatchUp | None) -> Cell:
    """``done: 4 received, 0 lost (1 request)``: a bot's catch-up after the monitor's start."""
    if c is None:
        return fmt.NA
    asked = f"{fmt.integer(c.asked)} request{'s' if c.asked != 1 else ''}"
    text = f"{c.state}: {fmt.integer(c.received)} received, {fmt.integer(c.lost)} lost ({asked})"
    return [text, "neg" if c.lost else _CATCH_UP_CLASS.get(c.state, "neutral")]


def _counts_with_rates(prefix: str, counts: dict[str, int | None], rates: Rates) -> list[Cell]:
    cells: list[Cell] = []
    for key, n in counts.items():
        r = rates.rate(f"{prefix}:{key}", n) if n is not None else None
        bad = key != "received" and bool(n)
        cells += [[fmt.integer(n), "neg" if bad else "neutral"], fmt.rate(r)]
    return cells


def reject_reasons_table(metrics: MetricsDocument) -> dict:
    by_reason = metrics.collector.rejected_by_reason
    rows = [
        [reason, [fmt.integer(n), "neg" if n else "neutral"]]
        for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1])
    ]
    return table(["Reason", "Count"], rows, "No rejected messages")


def rejects_table(states: dict[str, StateDocument], when: Callable[[float | None], str] = utc_now) -> dict:
    rejects = next((st.recent_rejects for st in states.values() if st.recent_rejects), [])
    rows = [[when(r.at), r.reason, r.topic or fmt.NA, r.detail, r.excerpt] for r in rejects]
    return table(["Time", "Reason", "Topic", "Detail", "Message excerpt"], rows, "No rejected messages")


def error_components_table(per_bot: dict[str, BotMetrics]) -> dict:
    rows = []
    for bot, m in per_bot.items():
        errors = m.errors
        for comp, n in sorted(errors.by_component.items(), key=lambda kv: -kv[1]):
            rows.append([bot, comp, fmt.integer(n)])
        sev = errors.by_severity
        if sev:
            text = ", ".join(f"{k} {fmt.integer(v)}" for k, v in sorted(sev.items()))
            rows.append([bot, ["by severity", "muted"], text])
            rows.append([bot, ["last 5 min", "muted"], fmt.integer(errors.last_5m)])
    return table(["Bot", "Component", "Errors"], rows, "No errors reported")


_SEVERITY_CLASS = {"warning": "warn", "error": "neg", "critical": "neg strong"}


def errors_table(
    states: dict[str, StateDocument], limit: int, when: Callable[[float | None], str] = utc_now
) -> dict:
    errors = newest_first(states, lambda st: st.recent_errors, limit)
    rows = [
        [
            when(e.ts),
            bot,
            [e.severity, _SEVERITY_CLASS.get(e.severity, "")],
            e.component,
            e.message,
        ]
        for bot, e in errors
    ]
    return table(["Time", "Bot", "Severity", "Component", "Message"], rows, "No errors reported")
