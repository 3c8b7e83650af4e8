"""The Alerts tab: active alerts with Acknowledge, delivery history, rules, configuration, Test Alert.

Data the trader watches (active alerts, history, rules with current values)
arrives like every other section: the broadcaster calls :meth:`AlertsTab.sections`
once per push tick and sends the sections that changed over /ws; the page
stores them in ``dcc.Store`` s (``at-active``, ``at-history``, ``at-rules``) and
clientside callbacks (assets/alerts_tab.js) render them, so no Python runs per
frame.  The sections are made from the alert service's published snapshot
(alerts/snapshot.py): the push thread never reads SQLite.

Commands go the other way, as ordinary Dash callbacks: Acknowledge (the alert
engine's ack: it stops escalation and repeats -- it is not a trading control;
nothing here talks to a bot), Save (handed to the configuration's owner through
:class:`~app.settings_changes.Reconfigurable`, which validates, writes
settings.yaml atomically and applies it), Test Alert (enqueue a test notification through the real
outbox and workers).  A Test Alert's per-channel results are then read with a
short ``dcc.Interval`` that exists only while that test is in flight (at most
~12 s): command feedback, not a data feed.

Secrets: the form never receives a secret, only a mask (settings_form.py);
every error text shown comes from the delivery workers, which scrub configured
secrets out of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, callback_context, dcc, html, no_update

from alerts import catalog
from alerts.channels import registry as channel_registry
from alerts.config import Threshold
from alerts.snapshot import HISTORY_LIMIT, AlertSnapshot
from app.dashboard import fmt
from app.dashboard import settings_form as form
from app.settings_changes import Reconfigurable

log = logging.getLogger(__name__)

TEST_COOLDOWN_S = 10.0  # a second Test Alert within this is refused (per channel for the per-channel buttons)
TEST_WATCH_S = 12.0  # how long the page follows a test's results
STORES = ("at-active", "at-history", "at-rules")


class Cooldown:
    """At most one press per ``seconds`` per key, across every open page (server-side)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when allowed (and recorded), else the seconds still to wait."""
        with self._lock:
            now = self.clock()
            wait = self._last.get(key, -1e18) + self.seconds - now
            if wait > 0:
                return wait
            self._last[key] = now
            return 0.0


class AlertsTab:
    """The tab for one AlertService and the owner of the settings it edits."""

    def __init__(
        self,
        service: Any,
        settings: Reconfigurable,
        hub: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service, self.settings, self.hub, self.clock = service, settings, hub, clock
        self.cooldown = Cooldown(TEST_COOLDOWN_S)
        self._rows_of: tuple[AlertSnapshot | None, dict[str, Any], dict[str, Any]] = (None, {}, {})

    # ---- pushed sections (called by the broadcaster thread) ------------------------------
    def sections(self) -> dict[str, Any]:
        """``at-active``, ``at-history``, ``at-rules``: display-ready, diffed by the broadcaster."""
        try:
            active, history = self._snapshot_sections(self.service.snapshot())
            return {"at-active": active, "at-history": history, "at-rules": self.rules_section()}
        except Exception:  # a failing engine must not stop the other sections
            log.exception("alerts tab sections failed")
            return {}

    def _snapshot_sections(self, snap: AlertSnapshot) -> tuple[dict[str, Any], dict[str, Any]]:
        """The active and history sections of one snapshot, made once per published snapshot."""
        cached, active, history = self._rows_of
        if snap is not cached:
            active = active_section(snap)
            history = history_section(snap)
            self._rows_of = (snap, active, history)
        return active, history

    def rules_section(self) -> dict[str, Any]:
        metrics = self.hub.metrics() if self.hub is not None else None
        return {"rows": rules_rows(self.service.settings, self.service.engine.stale_after_s, metrics)}

    # ---- commands ---------------------------------------------------------------------
    def ack(self, alert_id: str) -> str:
        if self.service.ack(alert_id, "dashboard"):
            return f"Alert {alert_id} acknowledged: no more repeats or escalation."
        return f"Alert {alert_id} is not firing any more (nothing to acknowledge)."

    def send_test(self, channel: str | None = None) -> tuple[dict | None, str]:
        """(run to watch, message). Refused within the cooldown, or with no channel configured."""
        names = list(self.service.channels) if channel is None else [channel]
        if not names or (channel is not None and channel not in self.service.channels):
            return (
                None,
                "No channel configured (save the channel first)."
                if channel is None
                else f"Channel {channel} is not configured (save it first).",
            )
        wait = self.cooldown.take(channel or "*")
        if wait > 0:
            return None, f"Test refused: one was sent less than {TEST_COOLDOWN_S:g} s ago; wait {wait:.0f} s."
        test_id = self.service.send_test(names)
        return {"id": test_id, "channels": names, "at": self.clock()}, ""

    def test_report(self, run: dict) -> tuple[list, bool]:
        """(lines to show, finished?) for a test run."""
        results = self.service.test_results(run["id"])
        kinds = {n: getattr(c.cfg, "type", n) for n, c in self.service.channels.items()}
        lines, done = [], True
        for name in run["channels"]:
            res = results.get(name, {"state": "sending"})
            text, cls = channel_text(res)
            label = _channel_label(name, kinds.get(name, name))
            lines.append(
                html.Li([html.Strong(label + ": "), html.Span(text, className=cls)], id=f"atab-test-{name}")
            )
            done = done and res["state"] in ("delivered", "failed", "dead-lettered")
        late = self.clock() - run["at"] > TEST_WATCH_S
        return lines, done or late

    def form_children(self) -> list:
        doc = self.settings.settings_document()
        return form.render(doc, self.settings.resolved_settings(doc))

    def save(self, values: dict[str, Any]) -> tuple[dict[str, str], str, bool]:
        """(field errors, message, saved?). Invalid -> nothing written, nothing applied."""
        doc = self.settings.settings_document()
        parsed = form.parse(values, doc)
        if parsed.errors:
            return parsed.errors, "Not saved: fix the fields marked in red.", False
        applied = self.settings.apply_settings(parsed.changes, parsed.secrets)
        key = form.error_field(applied.key, doc) if applied.key is not None else None
        return ({key: applied.reason} if key else {}), applied.message, applied.saved

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
                _panel(
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
                                dbc.Col(
                                    dcc.Dropdown(id="atab-hist-bot", placeholder="all bots", options=[]), md=3
                                ),
                            ],
                            className="g-2 p-2",
                        ),
                        html.Div(id="atab-history", className="table-responsive table-box"),
                    ],
                ),
                _panel("Rules", html.Div(id="atab-rules", className="table-responsive table-box")),
                _panel(
                    "Test alert",
                    [
                        html.Div(
                            [
                                dbc.Button(
                                    "Test Alert", id="atab-test", color="warning", size="sm", className="me-2"
                                ),
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
                    ],
                ),
                _panel(
                    "Configuration",
                    [
                        html.Div(id="atab-form", className="p-2"),
                        html.Div(
                            [
                                dbc.Button(
                                    "Save", id="atab-save", color="primary", size="sm", className="me-2"
                                ),
                                html.Span(id="atab-save-status", className="small"),
                            ],
                            className="p-2",
                        ),
                    ],
                ),
            ],
        )

    def register(self, app: Dash) -> None:
        """Server callbacks for the commands, clientside ones for rendering the pushed stores."""
        _register_renderers(app)
        self._register_form(app)
        self._register_ack(app)
        self._register_test(app)

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

        @app.callback(
            Output({"type": "af", "key": ALL}, "invalid"),
            Output({"type": "afe", "key": ALL}, "children"),
            Output("atab-save-status", "children"),
            Output("atab-form-version", "data"),
            Input("atab-save", "n_clicks"),
            State({"type": "af", "key": ALL}, "value"),
            State({"type": "af", "key": ALL}, "id"),
            State({"type": "ab", "key": ALL}, "value"),
            State({"type": "ab", "key": ALL}, "id"),
            State({"type": "afe", "key": ALL}, "id"),
            State("atab-form-version", "data"),
            prevent_initial_call=True,
        )
        def save(
            n: int | None, fvals: list, fids: list, bvals: list, bids: list, eids: list, version: int
        ) -> tuple:
            if not n:
                return no_update, no_update, no_update, no_update
            values = {i["key"]: v for i, v in zip(fids + bids, fvals + bvals, strict=True)}
            errors, message, saved = self.save(values)
            status = html.Span(message, className="pos" if saved else "neg", id="atab-save-msg")
            return (
                [i["key"] in errors for i in fids],
                [errors.get(i["key"], "") for i in eids],
                status,
                (version or 0) + 1 if saved else no_update,
            )

    def test_buttons(self) -> list:
        kinds = {n: getattr(c.cfg, "type", n) for n, c in self.service.channels.items()}
        if not kinds:
            return [html.Span("No channel saved yet: configure one below.", className="small text-muted")]
        return [html.Span("Send test to one channel: ", className="small me-1")] + [
            dbc.Button(
                _channel_label(n, k),
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


# ---- pure helpers (unit-tested) ----------------------------------------------------------------
def _panel(title: str, body: Any) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(title, className="panel-title"), dbc.CardBody(body, className="p-0")],
        className="panel mb-3 mt-2",
    )


def _channel_label(name: str, kind: str) -> str:
    """``Slack`` for a channel named after its type, else ``ops (Slack)``."""
    label = channel_registry.label(kind)
    return label if name == kind else f"{name} ({label})"


def channel_text(res: dict) -> tuple[str, str]:
    """A channel's delivery state as words and a css class (pos / warn / neg)."""
    state = res.get("state")
    if state == "delivered":
        return "delivered", "pos"
    if state == "retrying":
        return (
            f"retrying (attempt {res.get('attempt')}, next try {fmt.clock(res.get('next_try'))}): "
            f"{res.get('error')}"
        ), "warn"
    if state in ("failed", "dead-lettered"):
        return f"{state}: {res.get('error')}", "neg"
    return "sending…", "muted"


def active_section(snap: AlertSnapshot) -> dict[str, Any]:
    return {"rows": [_active_row(a.alert, a.delivered) for a in snap.active]}


def history_section(snap: AlertSnapshot) -> dict[str, Any]:
    rows = [_history_row(e) for e in snap.history]
    return {"rows": rows, "bots": sorted({r["bot"] for r in rows if r["bot"]})}


def _active_row(a: Mapping[str, Any], delivered: tuple[str, ...]) -> dict[str, Any]:
    status = "acknowledged" if a.get("acked_at") else a.get("status")
    return {
        "id": a["alert_id"],
        "sev": a.get("severity"),
        "bot": a.get("bot"),
        "rule": a.get("rule"),
        "summary": a.get("summary") or "",
        "value": _short(a.get("value")),
        "threshold": f"{a.get('op') or ''} {_short(a.get('threshold'))}".strip(),
        "since": fmt.clock(a.get("since")),
        "status": status,
        "esc": f"level {a.get('escalations', 0)}" + (" (failover)" if a.get("failed_over") else ""),
        "delivered": ", ".join(delivered) or "—",
        "ackable": a.get("status") == "firing" and not a.get("acked_at"),
        "acked": f"by {a.get('acked_by')} at {fmt.clock(a.get('acked_at'))}" if a.get("acked_at") else "",
    }


def _history_row(e: Mapping[str, Any]) -> dict[str, Any]:
    chans = [
        [f"{name}: {channel_text(res)[0]}", channel_text(res)[1]]
        for name, res in sorted(e["channels"].items())
    ]
    return {
        "t": fmt.clock(e.get("created_at")),
        "sev": e.get("severity") or "",
        "bot": e.get("bot") or "",
        "rule": e.get("rule") or "",
        "kind": e.get("kind") or "",
        "summary": e.get("summary") or "",
        "ch": chans,
    }


def _short(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def rules_rows(settings: Any, stale_after_s: float, metrics: Any) -> list[list[str]]:
    """[rule, condition, for, severity, enabled, current value per bot] for every rule.

    The built-in rules come from alerts.catalog in its order, custom rules after the thresholds.
    """
    bots = metrics.bots if metrics is not None else {}
    rows = [_threshold_row(rule, settings.thresholds, bots) for rule in catalog.THRESHOLDS]
    for r in settings.rules:
        rows.append(
            [
                r.name,
                f"{r.metric} {r.op} {_short(r.value)}",
                f"{r.for_s:g} s" if r.for_s else "—",
                r.severity,
                "on" if r.enabled else "off",
                _current(bots, tuple(r.metric.split("."))),
            ]
        )
    for ev in catalog.EVENTS:
        path = tuple(ev.metric.split(".")) if ev.metric else None
        rows.append(
            [
                ev.name,
                ev.condition.format(stale_after_s=stale_after_s),
                "—",
                ev.severity,
                "on" if getattr(settings.events, ev.name) else "off",
                _current(bots, path) if path else "—",
            ]
        )
    return rows


def _threshold_row(rule: catalog.ThresholdRule, thresholds: Any, bots: dict) -> list[str]:
    spec = getattr(thresholds, rule.name)
    long = spec if isinstance(spec, Threshold) else None
    value = long.value if long else spec
    path = rule.path(thresholds.latency_stat)
    return [
        rule.name,
        f"{'.'.join(path)} {rule.op} {_short(value) if value is not None else '—'}{rule.unit}",
        f"{long.for_s:g} s" if long and long.for_s else "—",
        long.severity if long and long.severity else rule.severity,
        "on" if value is not None and (long is None or long.enabled) else "off",
        _current(bots, path),
    ]


def _current(bots: dict, path: tuple[str, ...]) -> str:
    """Each bot's value of the rule's metric; null is "no data" (the rule cannot cross yet)."""
    from alerts.rules import lookup

    def shown(value: Any) -> str:
        return "no data" if value is None else _short(value) or "n/a"

    vals = [f"{b}: {shown(lookup(doc, path))}" for b, doc in sorted(bots.items())]
    if not vals:
        return "no bot yet"
    return ", ".join(vals[:8]) + (f" (+{len(vals) - 8} bots)" if len(vals) > 8 else "")


# ---- clientside rendering of the pushed stores (assets/alerts_tab.js) --------------------------
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
