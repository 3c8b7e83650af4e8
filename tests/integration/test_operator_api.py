"""An acknowledgement through the API stops escalation exactly as the page's does.

A real monitor (not started: the test drives its alerts on a fake clock) over a
real settings file, real webhook and Slack receivers; the API is called through
the monitor's own Flask app and web guard (same origin and the page's CSRF token,
as every command the page sends), the page's Acknowledge through its own command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.runtime import Monitor
from app.settings import load_settings
from collectors.events import Health
from tests.support.clock import FakeClock
from tests.support.ports import free_port

SETTINGS = """\
# settings of the operator action tests
server: {{host: 127.0.0.1, port: {http}}}
collector:
  endpoints:
    - {{url: "tcp://127.0.0.1:{zmq}", mode: bind}}
  stale_after_s: 600
alerts:
  events: {{stale: false}}
  routes:
    critical: {{channels: [hook], repeat_interval_s: 900, escalate: [{{after_s: 300, channels: [slack]}}]}}
    warning: {{channels: [hook]}}
  channels:
    hook: {{type: webhook, urls: ["{hook}"]}}
    slack: {{type: slack, webhook_url: "{slack}"}}
storage:
  data_dir: {data}
"""


@pytest.fixture
def monitor(tmp_path: Path, httpserver) -> Iterator[Monitor]:
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/slack").respond_with_data("ok")
    path = tmp_path / "settings.yaml"
    path.write_text(
        SETTINGS.format(
            http=free_port(),
            zmq=free_port(),
            hook=httpserver.url_for("/hook"),
            slack=httpserver.url_for("/slack"),
            data=tmp_path / "data",
        )
    )
    mon = Monitor(load_settings(path), clock=FakeClock())
    yield mon
    mon.stop()


def _page_client(mon: Monitor) -> tuple[FlaskClient, dict[str, str]]:
    """A client as the trader's page is: served origin, the token cookie and its header."""
    origin = f"http://127.0.0.1:{mon.settings.server.port}"
    client = mon.flask_app.test_client()
    token = mon.web_guard.new_token()
    client.set_cookie(mon.web_guard.cookie_name, token, domain="127.0.0.1")
    return client, {"Host": origin.removeprefix("http://"), "Origin": origin, "X-CSRF-Token": token}


def _kill_switches(mon: Monitor, seq: int) -> None:
    for bot in ("b1", "b2", "b3"):
        mon.hub.apply(Health(v=1, bot=bot, seq=seq, ts=mon.clock(), kill_switch="triggered"))


def _escalated(httpserver) -> set[str]:
    """The bots whose alert reached Slack, the escalation channel."""
    return {
        b
        for req, _ in httpserver.log
        if req.path == "/slack"
        for b in ("b1", "b2", "b3")
        if b in req.get_json()["text"]
    }


def test_an_api_ack_stops_escalation_as_the_dashboards_does(monitor: Monitor, httpserver) -> None:
    _kill_switches(monitor, 1)
    monitor.alerts.pump()
    ids = {a.bot: a.alert_id for a in monitor.alerts.active()}
    client, headers = _page_client(monitor)
    monitor.clock.advance(100)

    resp = client.post(f"/api/alerts/{ids['b2']}/ack", headers=headers)
    assert resp.status_code == 200 and resp.get_json() == {
        "acknowledged": True,
        "alert_id": ids["b2"],
        "by": "api",
    }
    tab = monitor.dashboard.broadcaster.extra_sections.__self__  # the page's command object
    assert "acknowledged" in tab.ack(ids["b1"])

    for step in range(2, 500):  # 250 s more, the alerts holding: past the 300 s escalation
        monitor.clock.advance(0.5)
        _kill_switches(monitor, step)
        monitor.alerts.pump()
    assert _escalated(httpserver) == {"b3"}  # neither acknowledged alert escalated
    by = {a.bot: a.acked_by for a in monitor.alerts.active()}
    assert by == {"b1": "dashboard", "b2": "api", "b3": None}


def test_an_api_ack_of_no_firing_alert_is_404_and_a_bad_id_400(monitor: Monitor) -> None:
    client, headers = _page_client(monitor)
    assert client.post("/api/alerts/no-such-alert/ack", headers=headers).status_code == 404
    assert client.post("/api/alerts/bad%20id!/ack", headers=headers).status_code == 400


@pytest.mark.parametrize("drop", ["Origin", "X-CSRF-Token"])
def test_an_api_ack_needs_the_pages_origin_and_token(monitor: Monitor, drop: str) -> None:
    _kill_switches(monitor, 1)
    monitor.alerts.pump()
    alert_id = monitor.alerts.active()[0].alert_id
    client, headers = _page_client(monitor)
    del headers[drop]
    assert client.post(f"/api/alerts/{alert_id}/ack", headers=headers).status_code == 403
    assert monitor.alerts.active()[0].acked_by is None
