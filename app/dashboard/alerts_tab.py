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

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import msgspec
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, callback_context, dcc, html, no_update

from alerts import catalog, messages
from alerts.catalog import MONITOR
from alerts.channels import registry as channel_registry
from alerts.config import Threshold
from alerts.snapshot import HISTORY_LIMIT, AlertSnapshot
from alerts.states import active_order
from app.dashboard import fmt
from app.dashboard import settings_form as form
from app.dashboard.view import ALL as ALL_BOTS
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
        #: the snapshot the rows were made of, and per view its (active, history) sections
        self._rows_of: tuple[AlertSnapshot | None, dict[str, tuple[dict, dict]]] = (None, {})

    # ---- pushed sections (called by the broadcaster thread) ------------------------------
    def sections(self, view: str = ALL_BOTS, metrics: Any = None) -> dict[str, Any]:
        """``at-active``, ``at-history``, ``at-rules`` of a view: display-ready, diffed by the broadcaster.

        A view of one bot shows that bot's alerts and the monitor's own (a failing journal
        concerns whoever is watching), and the Rules table's current values of that bot only.
        """
        try:
            active, history = self._snapshot_sections(self.service.snapshot(), view)
            return {"at-active": active, "at-history": history, "at-rules": self.rules_section(view, metrics)}
        except Exception:  # a failing engine must not stop the other sections
            log.exception("alerts tab sections failed")
            return {}

    def _snapshot_sections(
        self, snap: AlertSnapshot, view: str = ALL_BOTS
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The active and history sections of one snapshot, made once per published snapshot and view."""
        cached, by_view = self._rows_of
        if snap is not cached:
            by_view = {}
            self._rows_of = (snap, by_view)
        zone, now = _zone_of(self.hub), self.clock()
        key = f"{view}|{zone.key}|{_day(now, zone)}"  # times show the zone, and the date when not today
        if key not in by_view:
            part = snapshot_of_view(snap, view)
            by_view[key] = (active_section(part, zone, now), history_section(part, zone, now))
        return by_view[key]

    def rules_section(self, view: str = ALL_BOTS, metrics: Any = None) -> dict[str, Any]:
        if metrics is None and self.hub is not None:
            metrics = self.hub.metrics()
        rows = rules_rows(
            self.service.settings, self.service.engine.stale_after_s, metrics_of_view(metrics, view)
        )
        return {"rows": rows}

    def timezone_in_force(self) -> str | None:
        """The zone the running store counts days in (a saved change waits for the next start)."""
        if self.hub is None:
            return None
        return str(self.hub.under_lock(lambda store: store.config.metrics.timezone))

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
            text, cls = channel_text(res, _zone_of(self.hub), self.clock())
            label = _channel_label(name, kinds.get(name, name))
            lines.append(
                html.Li([html.Strong(label + ": "), html.Span(text, className=cls)], id=f"atab-test-{name}")
            )
            done = done and res["state"] in ("delivered", "failed", "dead-lettered")
        late = self.clock() - run["at"] > TEST_WATCH_S
        return lines, done or late

    def form_children(self) -> list:
        doc = self.settings.settings_document()
        return form.render(doc, self.settings.resolved_settings(doc), self.timezone_in_force())

    def save(self, values: dict[str, Any]) -> tuple[dict[str, str], str, bool]:
        """(field errors, message, saved?). Invalid -> nothing written, nothing applied.

        The message says everything the trader must know of what was saved: a threshold
        kept while its rule is off, a timezone that waits for the next start.
        """
        doc = self.settings.settings_document()
        parsed = form.parse(values, doc)
        if parsed.errors:
            n = len(parsed.errors)
            return parsed.errors, f"Not saved: fix the {n} field{'s' if n > 1 else ''} marked in red.", False
        applied = self.settings.apply_settings(parsed.changes, parsed.secrets)
        key = form.error_field(applied.key, doc) if applied.key is not None else None
        message = applied.message
        if applied.saved:
            message = " ".join([message, *save_remarks(parsed, self.timezone_in_force())])
        return ({key: applied.reason} if key else {}), message, applied.saved

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
                        # Sticky: wherever the trader edits in the long form, Save and its
                        # result stay in view at the bottom of the screen.
                        html.Div(
                            [
                                dbc.Button(
                                    "Save", id="atab-save", color="primary", size="sm", className="me-2"
                                ),
                                html.Span(id="atab-save-status", className="small", role="status"),
                            ],
                            id="atab-save-bar",
                            className="p-2 bg-body border-top",
                            style={"position": "sticky", "bottom": 0, "zIndex": 5},
                        ),
                    ],
                ),
                save_toast(),
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

        # Each switch says "on" or "off" next to it, and typing a threshold into a rule that is
        # off switches that rule on (with a note saying so): in the browser, at once.
        app.clientside_callback(
            ClientsideFunction(namespace="alertsForm", function_name="switches"),
            Output({"type": "as", "key": ALL}, "value"),
            Output({"type": "asw", "key": ALL}, "children"),
            Output({"type": "asw", "key": ALL}, "className"),
            Output({"type": "ano", "key": ALL}, "children"),
            Input({"type": "af", "key": ALL}, "value"),
            Input({"type": "as", "key": ALL}, "value"),
            State({"type": "af", "key": ALL}, "id"),
            State({"type": "as", "key": ALL}, "id"),
            State({"type": "ano", "key": ALL}, "id"),
            State("atab-form-version", "data"),
        )

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
            State({"type": "af", "key": ALL}, "value"),
            State({"type": "af", "key": ALL}, "id"),
            State({"type": "ab", "key": ALL}, "value"),
            State({"type": "ab", "key": ALL}, "id"),
            State({"type": "as", "key": ALL}, "value"),
            State({"type": "as", "key": ALL}, "id"),
            State({"type": "afe", "key": ALL}, "id"),
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


def save_tone(saved: bool, message: str) -> str:
    """pos (saved), warn (saved, with a note the trader must read), neg (not saved)."""
    if not saved:
        return "neg"
    return "warn" if "Note:" in message or "next start" in message or "could not" in message else "pos"


def in_view(bot: Any, view: str) -> bool:
    """Whether an alert of ``bot`` belongs to a view: all bots, or its own bot plus the monitor's alerts."""
    return view == ALL_BOTS or bot in (view, MONITOR)


def snapshot_of_view(snap: AlertSnapshot, view: str) -> AlertSnapshot:
    """The part of a snapshot one view shows (the rows are then made as for all bots)."""
    if view == ALL_BOTS:
        return snap
    return dataclasses.replace(
        snap,
        active=tuple(a for a in snap.active if in_view(a.alert.get("bot"), view)),
        history=tuple(e for e in snap.history if in_view(e.get("bot"), view)),
    )


def metrics_of_view(metrics: Any, view: str) -> Any:
    """The metrics document with only the view's bot (the Rules table's current values)."""
    if metrics is None or view == ALL_BOTS:
        return metrics
    return msgspec.structs.replace(metrics, bots={b: m for b, m in metrics.bots.items() if b == view})


def alert_status(service: Any) -> dict[str, Any]:
    """The alert status of the published snapshot, with the firing alerts counted per bot.

    The broadcaster narrows the status bar's firing count to a view with it
    (broadcaster.alerts_for_view); the count and the Alerts tab come from one snapshot.
    """
    snap = service.snapshot()
    status = snap.status()
    by_bot: dict[str, int] = {}
    for a in snap.active:
        if a.alert.get("status") == "firing":
            bot = str(a.alert.get("bot"))
            by_bot[bot] = by_bot.get(bot, 0) + 1
    status["firing_by_bot"] = by_bot
    return status


def save_remarks(parsed: form.Parsed, timezone_in_force: str | None) -> list[str]:
    """What a successful save must also say: values kept but not checked, a timezone waiting for a restart."""
    out = [f"Note: {note}." for note in parsed.notes.values()]
    zone = next((v for path, v in parsed.changes if path == ("metrics", "timezone")), None)
    if isinstance(zone, str) and zone != timezone_in_force:
        out.append(
            f"Timezone {zone} takes effect at the next start (until then: {timezone_in_force or 'UTC'})."
        )
    return out


def channel_text(res: dict, zone: ZoneInfo | None = None, now: float | None = None) -> tuple[str, str]:
    """A channel's delivery state as words and a css class (pos / warn / neg); times in ``zone``."""
    state = res.get("state")
    if state == "delivered":
        return "delivered", "pos"
    if state == "retrying":
        return (
            f"retrying (attempt {res.get('attempt')}, "
            f"next try {fmt.when(res.get('next_try'), zone or UTC, time.time() if now is None else now)}): "
            f"{res.get('error')}"
        ), "warn"
    if state in ("failed", "dead-lettered"):
        return f"{state}: {res.get('error')}", "neg"
    return "sending…", "muted"


#: The zone of times on the Alerts tab until the monitor's metrics settings say otherwise.
UTC = ZoneInfo("UTC")


def _zone_of(hub: Any) -> ZoneInfo:
    """The ``metrics.timezone`` in force, read where the store counts "today" with it.

    The same source as the rest of the page's times (the broadcaster's), so every
    table shows one clock; UTC without a hub (the tab tested alone).
    """
    if hub is None:
        return UTC
    try:
        return ZoneInfo(hub.under_lock(lambda store: store.config.metrics.timezone))
    except Exception:  # a hub without that setting: times stay readable, in UTC and saying so
        return UTC


def _day(now: float, zone: ZoneInfo) -> str:
    """Today's date in ``zone`` (rows made yesterday would show no date on yesterday's times)."""
    return datetime.fromtimestamp(now, zone).date().isoformat()


def active_section(snap: AlertSnapshot, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """Open alerts, most severe first (then firing before pending, then the oldest first)."""
    now = time.time() if now is None else now
    alerts = sorted(snap.active, key=lambda a: active_order(a.alert))
    return {"rows": [_active_row(a.alert, a.delivered, zone, now) for a in alerts]}


def history_section(snap: AlertSnapshot, zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """Notifications, newest first, each with the words it said."""
    now = time.time() if now is None else now
    rows = [_history_row(e, zone, now) for e in snap.history]
    bots = sorted({r["bot"] for r in rows if r["bot"]})
    return {"rows": rows, "bots": [[b, messages.scope(b)] for b in bots]}  # [value, name shown]


def _active_row(
    a: Mapping[str, Any], delivered: tuple[str, ...], zone: ZoneInfo = UTC, now: float | None = None
) -> dict[str, Any]:
    """One open alert: severity as a word, the bot, the rule's name, the fact once, since when."""
    now = time.time() if now is None else now
    status = "acknowledged" if a.get("acked_at") else a.get("status")
    if a.get("verifying"):  # carried over a restart; held until its bot's state caught up
        status = f"{status}, verifying after restart"
    acked = f"by {a.get('acked_by')} at {fmt.when(a.get('acked_at'), zone, now)}" if a.get("acked_at") else ""
    return {
        "id": a["alert_id"],
        "sev": a.get("severity"),
        "bot": a.get("bot"),  # the id, as the bot selector knows it
        "who": messages.scope(a.get("bot")),  # as the table shows it ("monitor" for the monitor's own)
        "rule": catalog.title(str(a.get("rule"))),
        "what": a.get("summary") or "",
        "since": fmt.when(a.get("since"), zone, now),
        "status": status,
        "esc": _escalation(a),
        "delivered": ", ".join(delivered) or ("not yet" if a.get("status") == "firing" else "—"),
        "ackable": a.get("status") == "firing" and not a.get("acked_at"),
        "acked": acked,
    }


def _escalation(a: Mapping[str, Any]) -> str:
    """``none``, ``1 of 2 steps``; ``failover`` once every channel was told."""
    steps = len((a.get("policy") or {}).get("escalate") or ())
    done = int(a.get("escalations") or 0)
    text = f"{done} of {steps} step{'s' if steps != 1 else ''}" if steps else "none"
    return text + (", failover" if a.get("failed_over") else "")


def _history_row(e: Mapping[str, Any], zone: ZoneInfo = UTC, now: float | None = None) -> dict[str, Any]:
    """One notification: when, severity, bot, the rule's name, its state word and the fact it stated."""
    now = time.time() if now is None else now
    chans = [
        [f"{name}: {text}", cls]
        for name, res in sorted(e["channels"].items())
        for text, cls in [channel_text(res, zone, now)]
    ]
    rule = str(e.get("rule") or "")
    return {
        "t": fmt.when(e.get("created_at"), zone, now),
        "sev": e.get("severity") or "",
        "bot": e.get("bot") or "",
        "who": messages.scope(e.get("bot")) if e.get("bot") else "",
        "rule": e.get("title") or (catalog.title(rule) if rule else ""),
        "kind": e.get("state") or str(e.get("kind") or "").upper(),
        "what": e.get("what") or e.get("summary") or "",
        "ch": chans,
    }


def _short(x: Any, unit: str = "", currency: str | None = None) -> str:
    """A value as the cards show it (``10 %``, ``500 ms``, ``-500.00 USD``); empty for none."""
    return "" if x is None else messages.shown(x, unit, currency)


def rules_rows(settings: Any, stale_after_s: float, metrics: Any) -> list[list[str]]:
    """[rule, condition, for, severity, enabled, current value per bot] for every rule.

    The built-in rules come from alerts.catalog in its order, custom rules after the thresholds.
    Rules are named as in every alert text; values are shown like the cards (``10 %``, ``500 ms``,
    money with 2 decimals and each bot's currency).
    """
    bots = metrics.bots if metrics is not None else {}
    rows = [_threshold_row(rule, settings.thresholds, bots) for rule in catalog.THRESHOLDS]
    for r in settings.rules:
        m = catalog.metric(r.metric)
        rows.append(
            [
                r.name,
                f"{m.name} {r.op} {_short(r.value, m.unit)}",
                messages.duration(r.for_s) if r.for_s else "—",
                r.severity,
                "on" if r.enabled else "off",
                _current(bots, tuple(r.metric.split(".")), m.unit),
            ]
        )
    for ev in catalog.EVENTS:
        path = tuple(ev.metric.split(".")) if ev.metric else None
        unit = catalog.metric(ev.metric).unit if ev.metric else ""
        rows.append(
            [
                ev.shown,
                ev.condition.format(stale_after_s=messages.duration(stale_after_s)),
                "—",
                ev.severity,
                "on" if getattr(settings.events, ev.name) else "off",
                _current(bots, path, unit) if path else "—",
            ]
        )
    return rows


def _threshold_row(rule: catalog.ThresholdRule, thresholds: Any, bots: dict) -> list[str]:
    spec = getattr(thresholds, rule.name)
    long = spec if isinstance(spec, Threshold) else None
    value = long.value if long else spec
    path = rule.path(thresholds.latency_stat)
    name = catalog.metric(".".join(path)).name
    return [
        rule.shown,
        f"{name} {rule.op} {_short(value, rule.unit) if value is not None else '—'}",
        messages.duration(long.for_s) if long and long.for_s else "—",
        long.severity if long and long.severity else rule.severity,
        "on" if value is not None and (long is None or long.enabled) else "off",
        _current(bots, path, rule.unit),
    ]


def _current(bots: dict, path: tuple[str, ...], unit: str = "") -> str:
    """Each bot's value of the rule's metric, like the cards (money in the bot's currency);
    null is "no data" (the rule cannot cross yet)."""
    from alerts.rules import lookup

    def shown(doc: Any) -> str:
        value = lookup(doc, path)
        return "no data" if value is None else _short(value, unit, getattr(doc, "currency", None)) or "n/a"

    vals = [f"{b}: {shown(doc)}" for b, doc in sorted(bots.items())]
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
