"""The live dashboard: a Dash page on the monitor's Flask server, fed over /ws.

``install()`` is the only entry point (called by app.runtime).  Data flows one
way: hub -> broadcaster thread -> per-page slot -> WebSocket -> clientside
callback.  The page never polls and never runs a Python callback for data.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import socket
from collections.abc import Callable
from pathlib import Path

import flask
from dash import ClientsideFunction, Dash, Input, Output, State
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from alerts.read_model import AlertStatus
from app.dashboard import commands, layout
from app.dashboard.alerts_commands import AlertsOperator
from app.dashboard.alerts_sections import STORES as ALERT_STORES
from app.dashboard.alerts_sections import alert_status
from app.dashboard.alerts_tab import AlertsTab
from app.dashboard.broadcaster import Broadcaster, ClientSlot
from app.dashboard.config import DashboardSettings
from app.dashboard.view_input import ALL
from app.hub import Hub
from collectors.events import ID_PATTERN

__all__ = ["DashboardHandle", "DashboardSettings", "install"]

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
WS_PATH = "/ws"
WS_MAX_MESSAGE = 1024 * 1024  # bytes of one message from a page (the web guard caps request bodies alike)
#: A view a page may ask for: all bots, or one bot id as the event contract allows it.
VIEW_ID = re.compile(ID_PATTERN)


class DashboardHandle:
    """What install() returns: start()/stop() the broadcaster thread."""

    def __init__(self, dash_app: Dash, broadcaster: Broadcaster) -> None:
        self.dash_app = dash_app
        self.broadcaster = broadcaster

    def start(self) -> None:
        self.broadcaster.start()

    def stop(self) -> None:
        """Stop pushing and let every open WebSocket close (pages then reconnect)."""
        self.broadcaster.stop()


def install(
    server: flask.Flask,
    hub: Hub,
    settings: DashboardSettings,
    *,
    listen_info: dict,
    alerts_status: Callable[[], AlertStatus] | None = None,
    alerts: AlertsOperator | None = None,
    admin: commands.BotAdmin | None = None,
) -> DashboardHandle:
    """Mount the dashboard at / and its WebSocket at /ws on ``server`` (leaves /api/* alone).

    With ``alerts`` (the operator facade, app/operator.py, when there is a settings
    file to edit) the Alerts tab is added: its sections ride on the same frames as
    the others and its commands go to the facade.  With ``admin`` (the same facade)
    the Health tab has the "Forget bot" command.
    """
    tab = AlertsTab(alerts, hub.metrics) if alerts is not None else None
    if alerts is not None:  # the same status, with the firing alerts per bot: a bot's view counts its own
        alerts_status = functools.partial(alert_status, alerts)
    broadcaster = Broadcaster(
        hub,
        settings,
        listen_info=listen_info,
        alerts_status=alerts_status,
        extra_sections=tab.sections if tab else None,
        mark_stale_after=(lambda: alerts.alert_settings().safety.mark_stale_after_s) if alerts else None,
    )
    app = _dash_app(server, settings)
    _mount_page(app, settings, tab, admin)
    _register_ws(server, broadcaster, settings)
    return DashboardHandle(app, broadcaster)


def _dash_app(server: flask.Flask, settings: DashboardSettings) -> Dash:
    """The Dash app on ``server``, serving its own assets, with the page's CSRF header."""
    app = Dash(
        __name__,
        server=server,
        routes_pathname_prefix="/",
        assets_folder=str(ASSETS),
        serve_locally=True,
        title=settings.title,
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        # The renderer copies this cookie (set with the page by the web guard) into this header on
        # each callback request: the CSRF token that Save, Acknowledge and Test Alert must carry.
        csrf_token_name=server.config.get("CSRF_COOKIE_NAME", "_csrf_token"),
        csrf_header_name=server.config.get("CSRF_HEADER_NAME", "X-CSRFToken"),
    )
    app.index_string = layout.INDEX
    return app


def _mount_page(
    app: Dash, settings: DashboardSettings, tab: AlertsTab | None, admin: commands.BotAdmin | None
) -> None:
    """The page's layout and callbacks: the tabs, the Alerts tab and the bot commands when present."""
    extra_tabs, extra_outputs = ([tab.layout()], [(s, "data") for s in ALERT_STORES]) if tab else ([], [])
    panels = [commands.panel()] if admin is not None else []
    app.layout = layout.build(
        settings, WS_PATH, extra_tabs=extra_tabs, extra_outputs=extra_outputs, health_panels=panels
    )
    layout.register_callbacks(app, extra_outputs=extra_outputs)
    _register_bot_url(app)
    if admin is not None:
        commands.register(app, admin)
    if tab is not None:
        tab.register(app)


def _register_bot_url(app: Dash) -> None:
    """The bot selector and the URL's ``?bot=`` follow each other (assets/bot_url.js).

    On load (and on Back/Forward) the URL's bot becomes the selector's value, before the
    page opens its WebSocket for that view; choosing a bot writes it to the URL without
    reloading, so a per-bot view can be bookmarked and survives a reload.
    """
    app.clientside_callback(
        ClientsideFunction(namespace="botUrl", function_name="fromUrl"),
        Output("bot-select", "value"),
        Input("url", "search"),
        State("bot-select", "value"),
        State("bot-select", "options"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="botUrl", function_name="toUrl"), Input("bot-select", "value")
    )


def view_of(arg: str | None) -> str:
    """The view a page asked for: a valid bot id, else all bots (a page never names an arbitrary view)."""
    return arg if arg and VIEW_ID.match(arg) else ALL


def _register_ws(server: flask.Flask, broadcaster: Broadcaster, settings: DashboardSettings) -> None:
    # A page sends only tiny "resync" requests: a larger message closes its socket (1009).
    options = {"ping_interval": settings.ws_ping_interval_s, "max_message_size": WS_MAX_MESSAGE}
    server.config.setdefault("SOCK_SERVER_OPTIONS", options)
    sock = Sock(server)

    @sock.route(WS_PATH, bp=None)
    def dashboard_ws(ws: object) -> None:
        """One page: send its frames, honour its resync requests, until it goes away."""
        _bound_send_buffer(ws, settings.ws_send_buffer_kb * 1024)
        slot = broadcaster.connect(view_of(flask.request.args.get("bot")))
        if slot is None:
            _close_now(ws, 1013, "too many dashboard pages")
            return
        try:
            _pump(ws, slot)
            if ws.connected:  # the pump ended because the monitor is stopping, not the page
                _close_now(ws)
        except ConnectionClosed:
            pass
        finally:
            broadcaster.disconnect(slot)


def _bound_send_buffer(ws: object, size: int) -> None:
    """Cap what the kernel queues for this page, so a stuck page blocks its thread early."""
    sock = getattr(ws, "sock", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def _close_now(ws: object, reason: int = 1001, message: str = "monitor stopping") -> None:
    """Say why (by default "going away") and cut the connection, without waiting for the page's reply.

    The WebSocket's reader thread (simple_websocket's, not a daemon) would otherwise
    wait for the page's close reply until the next ping, up to ``ws_ping_interval_s``,
    and keep a stopping monitor alive that long (a page refused for lack of a slot too:
    it has no slot for the broadcaster's stop to end).
    """
    ws.close(reason=reason, message=message)
    sock = getattr(ws, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # the reader sees end of stream and ends


def _pump(ws: object, slot: ClientSlot) -> None:
    """This thread is the only one that may block on this page's socket."""
    while ws.connected and not slot.closed:
        frame = slot.take(timeout=0.5)
        if frame is not None:
            ws.send(frame)
        while (msg := ws.receive(timeout=0)) is not None:
            if isinstance(msg, str) and '"resync"' in msg:
                slot.request_full()
