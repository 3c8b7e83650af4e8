"""Operator commands of the Health tab: "forget bot".

The page never touches the state: it hands the command, with the actor
``"dashboard"``, to the operator facade (app/operator.py) through :class:`BotAdmin`,
as every other operator command goes.  The command is a Dash
callback, so it is a same-origin POST carrying the page's CSRF token: the web
guard refuses it from anywhere else before this code runs.
"""

from __future__ import annotations

from typing import Protocol

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html, no_update

from app.actions import DASHBOARD
from app.dashboard.view_input import ALL


class BotAdmin(Protocol):
    """What the Health tab may do to the set of bots."""

    def forget_bot(self, bot: str, actor: str) -> str:
        """Drop ``bot`` and close its alerts, recording ``actor``; a sentence saying what happened."""
        ...


def panel() -> dbc.Card:
    """The "Forget bot" panel: forgets the bot chosen in the bot selector."""
    body = html.Div(
        [
            html.P(
                "Removes the selected bot from the monitor and closes its alerts"
                " (a bot that publishes again comes back as new).",
                className="small text-muted mb-2",
            ),
            dbc.Button("Forget selected bot", id="forget-bot", color="danger", size="sm", n_clicks=0),
            html.Div(id="forget-bot-result", className="small mt-2"),
        ],
        className="p-2",
    )
    return dbc.Card(
        [dbc.CardHeader("Forget bot", className="panel-title"), dbc.CardBody(body, className="p-0")],
        className="panel mb-3",
    )


def register(app: Dash, admin: BotAdmin) -> None:
    """The button's callback: one command per click, for the bot shown in the selector."""

    @app.callback(
        Output("forget-bot-result", "children"),
        Input("forget-bot", "n_clicks"),
        State("bot-select", "value"),
        prevent_initial_call=True,
    )
    def forget(n_clicks: int, bot: str | None) -> str:
        if not n_clicks:
            return no_update
        if not bot or bot == ALL:
            return "select one bot first"
        return admin.forget_bot(str(bot), DASHBOARD)
