"""The Alerts tab's page: its layout and the Dash callbacks that wire it.

The tab is :class:`AlertsTab`: the pushed sections (alerts_sections.py), the commands
(alerts_commands.py) and, here, the page that shows the one and triggers the other.
Data arrives in the pushed stores and is drawn by clientside callbacks
(assets/alerts_tab.js); commands are ordinary Dash callbacks.  A Test Alert's results
are followed with a short ``dcc.Interval`` that exists only while that test is in flight.

Secrets: the form never receives a secret, only a mask (form_fields.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, callback_context, dcc, html, no_update

from alerts import catalog
from alerts.snapshot import HISTORY_LIMIT, AlertSnapshot
from app.dashboard.alerts_commands import AlertCommands, AlertsOperator, channel_label, save_tone
from app.dashboard.alerts_sections import STORES, AlertSections
from app.dashboard.alerts_silences import SilenceCommands, register_silences, silences_panel
from core.documents import MetricsDocument


class AlertsTab(AlertSections, AlertCommands, SilenceCommands):
    """The tab for the operator facade (app/operator.py): its reads, commands and settings.

    ``metrics_of`` gives the metrics document the Rules table shows current values
    from (the hub's ``metrics``); without it the column is empty.
    """

    def __init__(
        self,
        alerts: AlertsOperator,
        metrics_of: Callable[[], MetricsDocument] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.alerts, self.metrics_of, self.clock = alerts, metrics_of, clock
        #: the snapshot the rows were made of, and per view its (active, history) sections
        self._rows_of: tuple[AlertSnapshot | None, dict[str, tuple[dict, dict]]] = (None, {})

    # ---- page ----------------------------------------------------------------------------
    def layout(self) -> dbc.Tab:
        return dbc.Tab(
            label="Alerts",
            tab_id="tab-alerts",
            children=[
                *[dcc.Store(id=s) for s in STORES],
                dcc.Store(id="atab-form-version", data=0),
                dcc.Store(id="atab-form-asked"),
                dcc.Store(id="atab-ack-req"),  # {id, n}: written by an Acknowledge button (alerts_tab.js)
                dcc.Store(id="atab-test-run"),
                dcc.Interval(id="atab-test-tick", interval=400, disabled=True),
                _panel(
                    "Active alerts",
                    [
                        html.Div(id="atab-ack-status", className="small px-2"),
                        html.Div(id="atab-active", className="table-responsive table-box"),
                    ],
                ),
                silences_panel(),
                _history_panel(),
                _panel("Rules", html.Div(id="atab-rules", className="table-responsive table-box")),
                _test_panel(),
                _config_panel(),
                save_toast(),
            ],
        )

    def register(self, app: Dash) -> None:
        """Server callbacks for the commands, clientside ones for rendering the pushed stores."""
        _register_renderers(app)
        self._register_form(app)
        self._register_ack(app)
        self._register_test(app)
        register_silences(app, self)
        self._register_report(app)

    def _register_form(self, app: Dash) -> None:
        # Showing the tab asks for the form once, decided in the browser: switching tabs
        # costs no server round trip, and unsaved edits survive a look at another tab.
        app.clientside_callback(
            ClientsideFunction(namespace="alerts", function_name="askForm"),
            Output("atab-form-asked", "data"),
            Input("tabs", "active_tab"),
            State("atab-form-asked", "data"),
        )

        @app.callback(
            Output("atab-form", "children"),
            Output("atab-test-buttons", "children"),
            Input("atab-form-asked", "data"),
            Input("atab-form-version", "data"),
            prevent_initial_call=True,
        )
        def render_form(_asked: int, _version: int) -> tuple:
            """Built when the tab is first shown and after each save (never on page load)."""
            return self.form_children(), self.test_buttons()

        _register_switches(app)
        self._register_save(app)

    def _register_save(self, app: Dash) -> None:
        """Save: the form's values to the settings' owner; the marks, status and toast back."""

        @app.callback(
            Output({"type": "af", "key": ALL}, "invalid"),
            Output({"type": "afe", "key": ALL}, "children"),
            Output("atab-save-status", "children"),
            Output("atab-form-version", "data"),
            Output("atab-save-toast", "children"),
            Output("atab-save-toast", "header"),
            Output("atab-save-toast", "icon"),
            Output("atab-save-toast", "is_open"),
            Input("atab-save", "n_clicks"),
            *_every(State, "af.value", "af.id", "ab.value", "ab.id", "as.value", "as.id", "afe.id"),
            State("atab-form-version", "data"),
            prevent_initial_call=True,
        )
        def save(
            n: int | None,
            fvals: list,
            fids: list,
            bvals: list,
            bids: list,
            svals: list,
            sids: list,
            eids: list,
            version: int,
        ) -> tuple:
            if not n:
                return (no_update,) * 8
            values = {i["key"]: v for i, v in zip(fids + bids + sids, fvals + bvals + svals, strict=True)}
            errors, message, saved = self.save(values)
            return _save_outputs(errors, message, saved, fids, eids, version)

    def test_buttons(self) -> list:
        kinds = self.alerts.channel_kinds()
        if not kinds:
            return [html.Span("No channel saved yet: configure one below.", className="small text-muted")]
        return [html.Span("Send test to one channel: ", className="small me-1")] + [
            dbc.Button(
                channel_label(n, k),
                id={"type": "atab-test-ch", "ch": n},
                size="sm",
                color="secondary",
                outline=True,
                className="me-1 mb-1",
            )
            for n, k in kinds.items()
        ]

    def _register_ack(self, app: Dash) -> None:
        @app.callback(
            Output("atab-ack-status", "children"),
            Input("atab-ack-req", "data"),
            prevent_initial_call=True,
        )
        def ack(req: dict | None) -> Any:
            if not req or not req.get("id"):
                return no_update
            return self.ack(str(req["id"]))

    def _register_test(self, app: Dash) -> None:
        @app.callback(
            Output("atab-test-run", "data"),
            Output("atab-test-msg", "children"),
            Output("atab-test-tick", "disabled"),
            Output("atab-test-result", "children"),
            Input("atab-test", "n_clicks"),
            Input({"type": "atab-test-ch", "ch": ALL}, "n_clicks"),
            prevent_initial_call=True,
        )
        def start(n_all: int | None, n_each: list) -> tuple:
            trig = callback_context.triggered_id
            if trig == "atab-test" and n_all:
                run, message = self.send_test(None)
            elif isinstance(trig, dict) and any(n_each) and callback_context.triggered[0].get("value"):
                run, message = self.send_test(str(trig["ch"]))
            else:
                return no_update, no_update, no_update, no_update
            if run is None:
                refused = html.Span(message, className="neg", id="atab-test-refused")
                return no_update, refused, no_update, no_update
            lines, _done = self.test_report(run)
            return run, "Test sent; waiting for each channel…", False, lines

        @app.callback(
            Output("atab-test-result", "children", allow_duplicate=True),
            Output("atab-test-tick", "disabled", allow_duplicate=True),
            Output("atab-test-msg", "children", allow_duplicate=True),
            Input("atab-test-tick", "n_intervals"),
            State("atab-test-run", "data"),
            prevent_initial_call=True,
        )
        def follow(_n: int, run: dict | None) -> tuple:
            if not run:
                return no_update, True, no_update
            lines, done = self.test_report(run)
            return lines, done, ("Test finished." if done else no_update)

    def _register_report(self, app: Dash) -> None:
        @app.callback(
            Output("atab-report-msg", "children"),
            Input("atab-report", "n_clicks"),
            prevent_initial_call=True,
        )
        def send(n: int | None) -> Any:
            return self.send_report() if n else no_update


def _panel(title: str, body: Any) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(title, className="panel-title"), dbc.CardBody(body, className="p-0")],
        className="panel mb-3 mt-2",
    )


def _history_panel() -> dbc.Card:
    """Delivery history, filtered in the browser by severity and bot."""
    return _panel(
        f"Delivery history (last {HISTORY_LIMIT} notifications)",
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="atab-hist-sev",
                            placeholder="all severities",
                            options=list(catalog.SEVERITIES),
                        ),
                        md=3,
                    ),
                    dbc.Col(dcc.Dropdown(id="atab-hist-bot", placeholder="all bots", options=[]), md=3),
                ],
                className="g-2 p-2",
            ),
            html.Div(id="atab-history", className="table-responsive table-box"),
        ],
    )


def _test_panel() -> dbc.Card:
    """Test Alert for every saved channel, one button per channel, and the results as they come."""
    return _panel(
        "Test alert",
        [
            html.Div(
                [
                    dbc.Button("Test Alert", id="atab-test", color="warning", size="sm", className="me-2"),
                    html.Span(
                        "Sends a sample notification, marked TEST, through every saved channel.",
                        className="small text-muted",
                    ),
                ],
                className="p-2",
            ),
            html.Div(id="atab-test-buttons", className="px-2"),
            html.Div(id="atab-test-msg", className="small px-2"),
            html.Ul(id="atab-test-result", className="small"),
            html.Div(
                [
                    dbc.Button(
                        "Send report now", id="atab-report", color="secondary", size="sm", className="me-2"
                    ),
                    html.Span(id="atab-report-msg", className="small", role="status"),
                ],
                className="p-2",
            ),
        ],
    )


def _config_panel() -> dbc.Card:
    """The settings form (built when the tab is first shown) and its sticky Save bar."""
    return _panel(
        "Configuration",
        [
            html.Div(id="atab-form", className="p-2"),
            # Sticky: wherever the trader edits in the long form, Save and its
            # result stay in view at the bottom of the screen.
            html.Div(
                [
                    dbc.Button("Save", id="atab-save", color="primary", size="sm", className="me-2"),
                    html.Span(id="atab-save-status", className="small", role="status"),
                ],
                id="atab-save-bar",
                className="p-2 bg-body border-top",
                style={"position": "sticky", "bottom": 0, "zIndex": 5},
            ),
        ],
    )


def _register_switches(app: Dash) -> None:
    """Each switch says "on" or "off" next to it, and typing a threshold into a rule that is
    off switches that rule on (with a note saying so): in the browser, at once."""
    app.clientside_callback(
        ClientsideFunction(namespace="alertsForm", function_name="switches"),
        *_every(Output, "as.value", "asw.children", "asw.className", "ano.children"),
        *_every(Input, "af.value", "as.value"),
        *_every(State, "af.id", "as.id", "ano.id"),
        State("atab-form-version", "data"),
    )


def _save_outputs(
    errors: dict[str, str], message: str, saved: bool, fids: list, eids: list, version: int
) -> tuple:
    """After a Save: fields marked invalid, their messages, the status line, the form's version, the toast."""
    tone = save_tone(saved, message)
    status = html.Span(message, className=tone, id="atab-save-msg")
    header = "Settings saved" if saved else "Settings not saved"
    icon = {"pos": "success", "warn": "warning"}.get(tone, "danger")
    return (
        [i["key"] in errors for i in fids],
        [errors.get(i["key"], "") for i in eids],
        status,
        (version or 0) + 1 if saved else no_update,
        html.Span(message, id="atab-toast-msg"),
        header,
        icon,
        True,
    )


def save_toast() -> dbc.Toast:
    """The result of Save, fixed above the Save bar: seen wherever the page is scrolled.

    At the bottom, not the top: the status bar up there (money, stale bots, alerts) must
    never be covered.
    """
    return dbc.Toast(
        id="atab-save-toast",
        header="Settings",
        is_open=False,
        dismissable=True,
        duration=8000,
        header_class_name="bg-body-tertiary",
        style={
            "position": "fixed",
            "bottom": "3.5rem",
            "right": "0.75rem",
            "zIndex": 1090,
            "width": "420px",
            "maxWidth": "calc(100% - 1.5rem)",  # of the viewport without its scrollbar
            "backgroundColor": "var(--bs-body-bg)",
        },
    )


def _register_renderers(app: Dash) -> None:
    """The tables are drawn as DOM by the page's table renderer; only the bot filter is an output."""
    app.clientside_callback(ClientsideFunction("alerts", "active"), Input("at-active", "data"))
    app.clientside_callback(
        ClientsideFunction("alerts", "history"),
        Output("atab-hist-bot", "options"),
        Input("at-history", "data"),
        Input("atab-hist-sev", "value"),
        Input("atab-hist-bot", "value"),
    )
    app.clientside_callback(ClientsideFunction("alerts", "rules"), Input("at-rules", "data"))


def _every(dependency: type[Input | Output | State], *fields: str) -> list:
    """One dependency per ``"kind.property"``, on every form field of that kind (``af`` a
    threshold, ``ab`` a text box, ``as`` a switch, ``afe`` an error, ``asw``/``ano`` notes)."""
    return [dependency({"type": k, "key": ALL}, p) for k, p in (f.split(".") for f in fields)]
