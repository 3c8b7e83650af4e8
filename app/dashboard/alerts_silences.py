"""The Alerts tab's Silences section: the form, the list (active, then ended within 5 days), Expire.

Silence and Expire go to the operator facade (app/operator.py) with the actor
``"dashboard"``, like Acknowledge; the facade's refusal sentence names its field
(``duration: ...``), and the form shows it next to that field.  The list arrives
pushed with the active alerts (the ``at-active`` section's ``silences``, built by
alerts_sections.py from the published snapshot) and is drawn in the browser by
assets/alerts_silences.js, which also counts down each silence's "ends in".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from alerts import catalog, silences
from alerts.config import AlertsSettings
from alerts.silences import SilenceOutcome
from app.actions import DASHBOARD
from app.dashboard import fmt
from app.dashboard.alerts_sections import zone_of

#: The form's fields, as the facade's refusal sentences name them.
FIELDS = ("bot", "rule", "severity", "duration")


class Silencer(Protocol):
    """What the Silences section may ask of the operator facade."""

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float, comment: str, actor: str
    ) -> SilenceOutcome: ...

    def unsilence(self, silence_id: str, actor: str) -> bool: ...

    def alert_settings(self) -> AlertsSettings: ...


class SilenceCommands:
    """Silence and Expire from the page (a mixin of :class:`~app.dashboard.alerts_tab.AlertsTab`)."""

    alerts: Any  # the facade, as Silencer
    metrics_of: Callable[[], Any] | None

    def create_silence(
        self, bot: str | None, rule: str | None, severity: str | None, minutes: Any, comment: str | None
    ) -> tuple[dict[str, str], str, bool]:
        """(errors by field, message, made?) of the form's Silence button."""
        duration = float(minutes) * 60.0 if isinstance(minutes, int | float) else None
        facade: Silencer = self.alerts
        made = facade.silence(
            bot or silences.ANY,
            rule or silences.ANY,
            severity or silences.ANY,
            duration,  # type: ignore[arg-type]  (None: no end given, refused with the sentence that says so)
            comment or "",
            DASHBOARD,
        )
        if made.silence is None:
            field, _, _rest = made.refused.partition(":")
            return ({field: made.refused} if field in FIELDS else {}), made.refused, False
        s = made.silence
        until = fmt.when(s.ends_at, zone_of(self.alerts.timezone), s.starts_at)
        return {}, f"Silenced until {until} (id {s.id}).", True

    def expire_silence(self, silence_id: str) -> str:
        facade: Silencer = self.alerts
        if facade.unsilence(silence_id, DASHBOARD):
            return f"Silence {silence_id} expired: its alerts notify again."
        return f"Silence {silence_id} had already ended."

    def silence_options(self) -> tuple[list[dict], list[dict]]:
        """The bot and rule dropdowns' options: ``*`` first, then the bots known now, then every rule."""
        metrics = self.metrics_of() if self.metrics_of is not None else None
        bots = sorted(getattr(metrics, "bots", {}) or {})
        any_ = [{"label": "* (any)", "value": silences.ANY}]
        bot_opts = any_ + [{"label": b, "value": b} for b in [*bots, catalog.MONITOR]]
        rules = silences.rule_choices(r.name for r in self.alerts.alert_settings().rules)
        return bot_opts, any_ + [{"label": f"{catalog.title(r)} ({r})", "value": r} for r in rules]


def silences_panel() -> dbc.Card:
    """The form, its messages, and the list."""
    return dbc.Card(
        [
            dbc.CardHeader("Silences", className="panel-title"),
            dbc.CardBody(
                [
                    dcc.Store(id="atab-unsilence-req"),  # {id, n}: written by an Expire button
                    dcc.Store(id="atab-sil-drawn"),  # how many silences the list shows
                    _form(),
                    html.Div(
                        [
                            dbc.Button("Silence", id="atab-sil-create", color="secondary", size="sm"),
                            html.Span(id="atab-sil-msg", className="small ms-2", role="status"),
                        ],
                        className="px-2 pb-2",
                    ),
                    html.Div(id="atab-silences", className="table-responsive table-box"),
                ],
                className="p-0",
            ),
        ],
        className="panel mb-3 mt-2",
    )


def _form() -> dbc.Row:
    """Bot, rule and severity dropdowns (each with ``*``), a duration in minutes, a comment."""
    any_ = [{"label": "* (any)", "value": silences.ANY}]
    sev_opts = any_ + [{"label": s, "value": s} for s in catalog.SEVERITIES]
    return dbc.Row(
        [
            _field("bot", "Bot", dcc.Dropdown(id="atab-sil-bot", options=any_, value=silences.ANY)),
            _field("rule", "Rule", dcc.Dropdown(id="atab-sil-rule", options=any_, value=silences.ANY)),
            _field(
                "severity", "Severity", dcc.Dropdown(id="atab-sil-sev", options=sev_opts, value=silences.ANY)
            ),
            _field("duration", "For (minutes)", dbc.Input(id="atab-sil-dur", type="number", value=60, min=1)),
            dbc.Col(
                [
                    dbc.Label("Comment", html_for="atab-sil-comment", className="small mb-0"),
                    dbc.Input(id="atab-sil-comment", maxLength=silences.MAX_COMMENT, size="sm"),
                ],
                md=3,
            ),
        ],
        className="g-2 p-2",
    )


def _field(name: str, label: str, control: Any) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=control.id, className="small mb-0"),
            control,
            html.Div(id=f"atab-sil-err-{name}", className="small neg"),
        ],
        md=2,
    )


def register_silences(app: Dash, tab: SilenceCommands) -> None:
    """The list's renderer (clientside), the form's options, Silence and Expire."""
    # an output of its own: a second callback on the same input and no output would share the
    # existing renderer's id (Dash names output-less callbacks by their inputs) and replace it
    app.clientside_callback(
        ClientsideFunction("silences", "list"), Output("atab-sil-drawn", "data"), Input("at-active", "data")
    )

    @app.callback(
        Output("atab-sil-bot", "options"),
        Output("atab-sil-rule", "options"),
        Input("atab-form-asked", "data"),
        prevent_initial_call=True,
    )
    def options(_asked: int) -> tuple:
        return tab.silence_options()

    @app.callback(
        *[Output(f"atab-sil-err-{f}", "children") for f in FIELDS],
        Output("atab-sil-msg", "children"),
        Input("atab-sil-create", "n_clicks"),
        State("atab-sil-bot", "value"),
        State("atab-sil-rule", "value"),
        State("atab-sil-sev", "value"),
        State("atab-sil-dur", "value"),
        State("atab-sil-comment", "value"),
        prevent_initial_call=True,
    )
    def create(n: int | None, bot: str, rule: str, sev: str, minutes: Any, comment: str) -> tuple:
        if not n:
            return (no_update,) * (len(FIELDS) + 1)
        errors, message, made = tab.create_silence(bot, rule, sev, minutes, comment)
        msg = html.Span(message, className="pos" if made else "neg", id="atab-sil-result")
        return (*[errors.get(f, "") for f in FIELDS], msg)

    _register_expire(app, tab)


def _register_expire(app: Dash, tab: SilenceCommands) -> None:
    """Expire: a list row's button hands its silence id to this callback (assets/alerts_silences.js)."""

    @app.callback(
        Output("atab-sil-msg", "children", allow_duplicate=True),
        Input("atab-unsilence-req", "data"),
        prevent_initial_call=True,
    )
    def expire(req: dict | None) -> Any:
        if not req or not req.get("id"):
            return no_update
        return html.Span(tab.expire_silence(str(req["id"])), id="atab-sil-result")
