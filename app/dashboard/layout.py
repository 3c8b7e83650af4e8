"""The static page: empty containers that the pushed frames fill in.

Nothing here holds data: the clientside callback ``monitor.apply``
(assets/dashboard.js) fills every container from the frames received on the
WebSocket -- the status bar's class, selector and charts through Dash outputs
(:data:`OUTPUTS`), the status bar's content, tables (``tb-*``), key/value lists (``kv-*``) and
cards (``cards-*``) by building their DOM with text nodes, which is ~100x
cheaper than hundreds of Dash components per frame.  The ids are also the section
names of the frames (see sections.py), which is the whole contract between the
Python and the JavaScript side.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html
from dash_extensions import WebSocket

from app.dashboard.charts import CHART_IDS
from app.dashboard.config import DashboardSettings
from app.dashboard.view_input import ALL

#: The Trading tab's tables, (section id, title), in the order the tab shows them.
TABLES_TRADING = (
    ("tb-positions", "Open positions"),
    ("tb-orders", "Open orders"),
    ("tb-fills", "Recent fills (newest first)"),
    ("tb-trips", "Round trips today"),
)
TABLES_HEALTH = (
    ("tb-apis", "Exchange APIs"),
    ("tb-events", "Events"),
    ("tb-reject-reasons", "Reject reasons"),
    ("tb-rejects", "Last rejected messages"),
    ("tb-err-components", "Errors by component"),
    ("tb-errors", "Last error messages"),
)

#: (component id, property) written by the clientside callback, in order.
OUTPUTS: list[tuple[str, str]] = [
    ("ws", "url"),
    ("ws", "send"),
    ("status-bar", "className"),
    ("bot-select", "options"),
    *[(c, prop) for c in CHART_IDS for prop in ("figure", "extendData")],
]

INDEX = """<!DOCTYPE html>
<html lang="en" data-bs-theme="dark">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def _panel(title: str, body: object) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(title, className="panel-title"), dbc.CardBody(body, className="p-0")],
        className="panel mb-3",
    )


def _table_panel(tid: str, title: str) -> dbc.Card:
    return _panel(title, html.Div(id=tid, className="table-responsive table-box"))


def _graph(gid: str) -> dcc.Graph:
    return dcc.Graph(
        id=gid,
        figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}},
        config={"displaylogo": False, "responsive": True},
        className="chart",
    )


def status_bar() -> html.Div:
    """The always-visible bar above the tabs."""
    selector = dcc.Dropdown(
        id="bot-select",
        options=[{"label": "All bots", "value": ALL}],
        value=ALL,
        clearable=False,
        searchable=False,
        className="bot-select",
    )
    body = html.Div(id="status-body", className="status-body")  # drawn by assets/dashboard.js
    return html.Div([selector, body], id="status-bar", className="status-bar")


def trading_tab() -> dbc.Tab:
    """Today's figures, then every table of :data:`TABLES_TRADING` in its order.

    Full width each: side by side, the round trips' P&L and result did not fit a laptop.
    """
    return dbc.Tab(
        label="Trading",
        tab_id="tab-trading",
        children=[
            html.Div(id="kv-today", className="kv-strip my-2"),
            *(_table_panel(tid, title) for tid, title in TABLES_TRADING),
        ],
    )


def risk_tab() -> dbc.Tab:
    return dbc.Tab(
        label="Risk",
        tab_id="tab-risk",
        children=[
            html.Div(id="cards-risk", className="cards my-2"),
            dbc.Row([dbc.Col(_graph("ch-equity"), lg=6), dbc.Col(_graph("ch-drawdown"), lg=6)]),
            _graph("ch-latency"),
        ],
    )


def health_tab(extra_panels: list | tuple = ()) -> dbc.Tab:
    t = dict(TABLES_HEALTH)
    left = [
        _panel("Bot", html.Div(id="kv-bot-health", className="kv-list")),
        _table_panel("tb-apis", t["tb-apis"]),
        _panel("Monitor", html.Div(id="kv-monitor", className="kv-list")),
        _panel("Alert delivery", html.Div(id="kv-alerts", className="kv-list")),
        *extra_panels,
    ]
    right = [
        _table_panel(tid, t[tid])
        for tid in ("tb-events", "tb-reject-reasons", "tb-rejects", "tb-err-components", "tb-errors")
    ]
    return dbc.Tab(
        label="Health",
        tab_id="tab-health",
        children=[
            dbc.Row([dbc.Col(left, lg=4), dbc.Col(right, lg=8)], className="mt-2"),
        ],
    )


def build(
    settings: DashboardSettings,
    ws_path: str,
    extra_tabs: list | tuple = (),
    extra_outputs: list | tuple = (),
    health_panels: list | tuple = (),
) -> html.Div:
    """``extra_tabs`` (the Alerts tab) and the (id, prop) their pushed sections fill;
    ``health_panels`` are operator commands shown on the Health tab."""
    return html.Div(
        [
            # the chosen bot lives in the URL (?bot=): bookmarkable; assets/bot_url.js keeps both in step
            dcc.Location(id="url", refresh=False),
            WebSocket(id="ws"),
            dcc.Store(
                id="dash-config",
                # refresh_s: the server sends a frame at least this often (the page's watchdog)
                data={
                    "ws_path": ws_path,
                    "outputs": OUTPUTS + list(extra_outputs),
                    "refresh_s": settings.refresh_s,
                },
            ),
            status_bar(),
            # the connection state for screen readers, written by assets/dashboard.js on a change only
            html.Div(id="conn-live", role="status", className="visually-hidden", **{"aria-live": "polite"}),
            dbc.Tabs(
                [trading_tab(), risk_tab(), health_tab(health_panels), *extra_tabs],
                id="tabs",
                active_tab="tab-trading",
                className="mt-1",
            ),
        ],
        className="container-fluid px-2 px-md-3",
    )


def register_callbacks(app: Dash, extra_outputs: list | tuple = ()) -> None:
    """One clientside callback applies frames, socket state, the bot choice and the visible tab.

    The tab matters because charts on a hidden tab are not redrawn: their new
    points wait in the page and are applied at once when the Risk tab is shown.
    """
    app.clientside_callback(
        ClientsideFunction(namespace="monitor", function_name="apply"),
        [Output(cid, prop) for cid, prop in OUTPUTS + list(extra_outputs)],
        Input("ws", "message"),
        Input("ws", "state"),
        Input("bot-select", "value"),
        Input("tabs", "active_tab"),
        State("dash-config", "data"),
    )
