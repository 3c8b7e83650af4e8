"""Silences through the HTTP API: made, listed, refused with the facade's sentence, expired; guarded.

A real monitor (not started: its alerts are driven on a fake clock) over a real
settings file and a real webhook receiver; the API is called through the monitor's
own Flask app and web guard, as the page calls it (same origin, the CSRF token), and
as a foreign site would (refused before reaching the route).
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
server: {{host: 127.0.0.1, port: {http}}}
collector:
  endpoints:
    - {{url: "tcp://127.0.0.1:{zmq}", mode: bind}}
  stale_after_s: 600
alerts:
  events: {{stale: false}}
  routes:
    critical: {{channels: [hook]}}
  channels:
    hook: {{type: webhook, urls: ["{hook}"]}}
silences:
  max_duration_s: 7200
storage:
  data_dir: {data}
"""


@pytest.fixture
def monitor(tmp_path: Path, httpserver) -> Iterator[Monitor]:
    httpserver.expect_request("/hook").respond_with_data("ok")
    path = tmp_path / "settings.yaml"
    path.write_text(
        SETTINGS.format(
            http=free_port(), zmq=free_port(), hook=httpserver.url_for("/hook"), data=tmp_path / "d"
        )
    )
    mon = Monitor(load_settings(path), clock=FakeClock())
    yield mon
    mon.stop()


def _page(mon: Monitor) -> tuple[FlaskClient, dict[str, str]]:
    """A client as the trader's page is: served origin, the token cookie and its header."""
    origin = f"http://127.0.0.1:{mon.settings.server.port}"
    client = mon.flask_app.test_client()
    token = mon.web_guard.new_token()
    client.set_cookie(mon.web_guard.cookie_name, token, domain="127.0.0.1")
    return client, {"Host": origin.removeprefix("http://"), "Origin": origin, "X-CSRF-Token": token}


def test_a_silence_made_listed_shown_on_its_alert_and_expired(monitor: Monitor, httpserver) -> None:
    client, headers = _page(monitor)
    body = {"bot": "b1", "rule": "kill_switch", "severity": "*", "duration_s": 600, "comment": "deploy"}
    made = client.post("/api/silences", json=body, headers=headers)
    assert made.status_code == 201, made.text
    silence = made.json["silence"]
    assert silence["author"] == "api" and silence["ends_at"] - silence["starts_at"] == 600
    assert [s["id"] for s in client.get("/api/silences", headers=headers).json["silences"]] == [silence["id"]]

    monitor.hub.apply(Health(v=1, bot="b1", seq=1, ts=monitor.clock(), kill_switch="triggered"))
    monitor.alerts.pump()
    (alert,) = client.get("/api/alerts", headers=headers).json["active"]
    assert alert["status"] == "firing" and alert["silenced_by"] == "api"
    assert alert["silence_id"] == silence["id"] and alert["silenced_until"] == silence["ends_at"]
    assert alert["acked_by"] is None and alert["severity"] == "critical"
    assert httpserver.log == []  # muted

    gone = client.delete(f"/api/silences/{silence['id']}", headers=headers)
    assert gone.status_code == 200 and gone.json["by"] == "api"
    assert client.delete(f"/api/silences/{silence['id']}", headers=headers).status_code == 404
    monitor.alerts.deliver()
    assert len(httpserver.log) == 1  # told once, now that nothing mutes it
    (listed,) = client.get("/api/silences", headers=headers).json["silences"]
    assert listed["expired_by"] == "api"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"bot": "*", "rule": "*", "severity": "*", "duration_s": 60}, "A silence of everything"),
        ({"bot": "b1", "rule": "*", "severity": "*"}, "duration: an end is required"),
        ({"bot": "b1", "rule": "*", "severity": "*", "duration_s": 7201}, "duration: at most 7200 s"),
        ({"bot": "b1", "rule": "nope", "severity": "*", "duration_s": 60}, "rule: nope is not a rule"),
        ({"bot": "b1", "rule": "*", "severity": "*", "ends_at": 0}, "duration: the end must be after"),
        ({"bot": "b1", "rule": "*"}, "invalid body"),
        ({"bot": "b1", "rule": "*", "severity": "*", "duration_s": 60, "admin": True}, "invalid body"),
    ],
)
def test_a_refused_silence_is_a_400_with_the_sentence(monitor: Monitor, body: dict, says: str) -> None:
    client, headers = _page(monitor)
    res = client.post("/api/silences", json=body, headers=headers)
    assert res.status_code == 400 and res.json["error"].startswith(says), res.json
    assert client.get("/api/silences", headers=headers).json["silences"] == []


def test_a_foreign_site_can_neither_silence_nor_expire(monitor: Monitor) -> None:
    client, headers = _page(monitor)
    body = {"bot": "b1", "rule": "*", "severity": "*", "duration_s": 60}
    evil = {**headers, "Origin": "http://evil.example"}
    assert client.post("/api/silences", json=body, headers=evil).status_code == 403
    no_token = {k: v for k, v in headers.items() if k != "X-CSRF-Token"}
    assert client.post("/api/silences", json=body, headers=no_token).status_code == 403
    made = client.post("/api/silences", json=body, headers=headers).json["silence"]
    assert client.delete(f"/api/silences/{made['id']}", headers=evil).status_code == 403
    assert client.delete(f"/api/silences/{made['id']}", headers=no_token).status_code == 403
    (listed,) = client.get("/api/silences", headers=headers).json["silences"]
    assert listed["expired_at"] is None  # still active
