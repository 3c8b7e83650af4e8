"""A silence made through the API survives a SIGKILL the next instant, and still mutes after the restart.

A real ``python -m app`` with a webhook channel, a real ``BotPublisher`` bot publishing
its health every 50 ms, and the API called as the page calls it (same origin, the
CSRF cookie and header).  The silence is posted and the monitor is killed at once:
the restarted monitor lists it, and the kill switch that then fires is shown firing
and silenced but not sent.  Expiring it sends the firing once.

"Nothing was sent" is proved, not waited for: a second critical alert (a sentinel)
is raised after, and the webhook worker delivers in enqueue order, so once the
sentinel is in, anything enqueued before it is in too.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from collectors.publisher import BotPublisher
from tests.support.waiting import wait_until


class _Bot:
    """A bot publishing its health every 50 ms on its own thread, whatever the monitor does."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.kill_switch, self.breaker = endpoint, "armed", "closed"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-silence-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            while not self._stop.is_set():
                pub.health(kill_switch=self.kill_switch, circuit_breaker=self.breaker)
                self._stop.wait(0.05)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


class _Page:
    """HTTP as the dashboard page does it: the CSRF cookie served with the page, echoed in a header."""

    def __init__(self, url: str) -> None:
        self.url = url
        with urllib.request.urlopen(url + "/", timeout=10) as resp:
            cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
        self.headers = {"Origin": url, "X-CSRF-Token": cookie.split("=", 1)[1], "Cookie": cookie}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


def _kinds(server) -> list[tuple[str, str]]:
    return [(b["rule"], b["kind"]) for b in (json.loads(r.get_data())["alert"] for r, _ in server.log)]


@pytest.fixture
def hook(httpserver) -> Iterator:
    httpserver.expect_request("/hook").respond_with_data("ok")
    yield httpserver


@pytest.mark.slow
def test_a_silence_posted_then_sigkilled_is_still_there_and_still_mutes(hook, monitor_process) -> None:
    mon = monitor_process(
        extra_yaml=(
            "alerts:\n"
            f"  channels:\n    hook:\n      type: webhook\n      urls: ['{hook.url_for('/hook')}']\n"
            "  routes:\n    critical: {channels: [hook]}\n    warning: {channels: []}\n"
            "  tick_s: 0.2\n"
        )
    ).start()
    with _Bot(mon.zmq) as bot:
        page = _Page(mon.url)
        body = {"bot": "b1", "rule": "kill_switch", "severity": "*", "duration_s": 3600}
        status, made = page.call("POST", "/api/silences", body)
        assert status == 201, made
        assert mon.kill() == -9  # the instant the POST returned
        mon.start()

        page = _Page(mon.url)
        _status, listed = page.call("GET", "/api/silences")
        (kept,) = listed["silences"]
        assert kept == made["silence"]  # the same silence, still active

        bot.kill_switch = "triggered"
        wait_until(lambda: page.call("GET", "/api/alerts")[1]["active"], timeout=30)
        (alert,) = page.call("GET", "/api/alerts")[1]["active"]
        assert (alert["rule"], alert["status"], alert["silenced_by"]) == ("kill_switch", "firing", "api")
        bot.breaker = "open"  # the sentinel: once it is delivered, the kill switch would have been too
        wait_until(lambda: ("circuit_breaker", "firing") in _kinds(hook), timeout=30)
        assert _kinds(hook) == [("circuit_breaker", "firing")]

        assert page.call("DELETE", f"/api/silences/{kept['id']}")[0] == 200
        wait_until(lambda: ("kill_switch", "firing") in _kinds(hook), timeout=30)
        bot.breaker = "closed"  # second sentinel, enqueued after anything the expiry caused
        wait_until(lambda: ("circuit_breaker", "resolved") in _kinds(hook), timeout=30)
    assert _kinds(hook) == [
        ("circuit_breaker", "firing"),
        ("kill_switch", "firing"),
        ("circuit_breaker", "resolved"),
    ]
