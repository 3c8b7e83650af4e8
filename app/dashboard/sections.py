"""Turn hub documents into the dashboard's *sections* (pure, no Dash, no I/O).

A section is the display-ready content of one region of the page (the status
bar, one table, the risk cards...).  The broadcaster diffs sections between
ticks and pushes only those that changed; the browser renders them verbatim.

Wire shapes (all text already formatted, see fmt.py):

* table:  ``{"rows": [[cell, ...], ...], "empty": str, "cols": int}``;
  a cell is ``str`` or ``[text, css_class]``.
* kv:     ``[[label, text, css_class], ...]``.
* cards:  ``[[label, text, css_class, note], ...]``.
* status: see :func:`status_section`.
* error:  ``{"error": str}`` in place of any section that could not be built.

Everything that came from a bot stays a plain string here; the browser puts
it into text nodes, never into HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.dashboard.health_tab import (
    Rates,
    apis_table,
    bot_health_kv,
    error_components_table,
    errors_table,
    events_table,
    reject_reasons_table,
    rejects_table,
)
from app.dashboard.money import Money
from app.dashboard.monitor_panel import alerts_kv, monitor_kv
from app.dashboard.risk_tab import risk_cards
from app.dashboard.status_bar import status_section
from app.dashboard.trading_tab import fills_table, orders_table, positions_table, today_kv, trips_table
from app.dashboard.view_input import ALL, ViewInput, view_bots


def build_sections(
    inp: ViewInput, rates: Rates, on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, Any]:
    """All non-chart sections of a view (charts: see charts.py).

    Each section is built on its own: one that raises becomes an error marker
    (:func:`section_error`, shown in its place on the page) and ``on_error``
    hears of it, while every other section keeps updating.
    """
    bots = view_bots(inp.view, inp.metrics)
    per_bot = {b: inp.metrics.bots[b] for b in bots}
    show_bot = inp.view == ALL
    money = Money.of(per_bot)
    when = inp.when
    builders: dict[str, Callable[[], Any]] = {
        "status": lambda: status_section(inp, per_bot),
        "bots": lambda: sorted(inp.metrics.bots),
        "tb-positions": lambda: positions_table(inp.states, show_bot, money, per_bot, inp.mark_stale_after_s),
        "tb-orders": lambda: orders_table(inp.states, show_bot, when),
        "tb-fills": lambda: fills_table(inp.states, show_bot, inp.fills_rows, when, money),
        "tb-trips": lambda: trips_table(inp.states, show_bot, when, money),
        "kv-today": lambda: today_kv(per_bot),
        "cards-risk": lambda: risk_cards(inp, per_bot),
        "kv-bot-health": lambda: bot_health_kv(per_bot, inp.stale_after_s),
        "tb-apis": lambda: apis_table(per_bot),
        "tb-events": lambda: events_table(inp.metrics, per_bot, rates),
        "tb-reject-reasons": lambda: reject_reasons_table(inp.metrics),
        "tb-rejects": lambda: rejects_table(inp.states, when),
        "tb-err-components": lambda: error_components_table(per_bot),
        "tb-errors": lambda: errors_table(inp.states, inp.error_rows, when),
        "kv-monitor": lambda: monitor_kv(inp),
        "kv-alerts": lambda: alerts_kv(inp.alerts),
    }
    return _build_each(builders, on_error)


def _build_each(
    builders: dict[str, Callable[[], Any]], on_error: Callable[[str, Exception], None] | None
) -> dict[str, Any]:
    """Every section by its builder; one that raises is replaced by its error marker, never the lot."""
    sections: dict[str, Any] = {}
    for key, build in builders.items():
        try:
            sections[key] = build()
        except Exception as exc:
            sections[key] = section_error(exc)
            if on_error is not None:
                on_error(key, exc)
    return sections


def section_error(exc: Exception) -> dict:
    """The marker of a section that could not be built; the page shows it in the section's place.

    Only the exception's type is shown: its text may quote a bot's input at length.
    """
    return {"error": f"this section could not be built ({type(exc).__name__}); see the monitor's log"}
