"""Apprise through the real library: each URL its own destination, the URLs' secrets never shown.

A local HTTP server stands for two services reached through Apprise's ``json://`` target (the
token in the URL's password): one answers 200, the other 500.  The alert reaches the first at
once; the second is that destination's failure only (its row retried, its error in Apprise's
privacy form) until it answers.  Then a real ``python -m app`` with the same channel from its
secrets file: the Test Alert arrives, and the token is in no log line, no ``/api/*`` answer and
not in the page.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from collectors.publisher import BotPublisher
from tests.support.alerts import FakeClock, Feed, make_service, settings
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

TOKEN_OK, TOKEN_BAD = "s3cretTokenOk4821", "s3cretTokenBad7390"


class Services:
    """Two paths on one local server: ``/ok`` answers 200, ``/bad`` 500 until ``heal()``."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict]] = {"/ok": [], "/bad": []}
        self.bad_status = 500
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status = outer.bad_status if self.path == "/bad" else 200
                if status == 200:
                    outer.got[self.path].append(body)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, token: str) -> str:
        return f"json://user:{token}@127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def services():
    s = Services()
    yield s
    s.stop()


def test_one_url_failing_is_that_destination_s_failure_only(services, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    urls = [services.url("/ok", TOKEN_OK), services.url("/bad", TOKEN_BAD)]
    cfg = settings(
        channels={"ap": {"type": "apprise", "urls": urls}}, routes={"critical": {"channels": ["ap"]}}
    )
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, cfg, tmp_path)
    try:
        feed.health(kill_switch="triggered")
        svc.pump()
        [body] = services.got["/ok"]
        assert body["title"].startswith("[CRITICAL] FIRING b1:") and "Dashboard: http" in body["message"]
        [alert] = svc.active()
        rows = {r.dest: r for r in svc.engine.outbox.notifications_of(alert.alert_id)}
        assert rows["0"].status == "sent" and rows["1"].status == "pending" and rows["1"].attempts == 1
        assert f"json://user:****@127.0.0.1:{services.port}/bad" in rows["1"].last_error
        services.bad_status = 200
        clock.advance(5)
        svc.deliver()
        assert len(services.got["/bad"]) == 1 and len(services.got["/ok"]) == 1  # the first is not re-sent
        shown = " ".join(r.getMessage() for r in caplog.records) + repr(svc.publish())
        assert TOKEN_OK not in shown and TOKEN_BAD not in shown
    finally:
        svc.stop()


@pytest.mark.slow
def test_the_token_is_in_no_log_no_api_answer_and_not_in_the_page(services, tmp_path) -> None:
    (tmp_path / "secrets.yaml").write_text(f"APPRISE_URL: '{services.url('/ok', TOKEN_OK)}'\n")
    (tmp_path / "secrets.yaml").chmod(0o600)
    extra = (
        "secrets_file: secrets.yaml\n"
        "alerts:\n  channels:\n    apprise: {urls: ['${APPRISE_URL}']}\n"
        "  routes: {critical: {channels: [apprise]}}\n"
    )
    mon = MonitorProcess(tmp_path, extra_yaml=extra)
    text = mon.config.read_text().replace("level: WARNING", "level: DEBUG")
    mon.config.write_text(text)
    mon.start()
    try:
        with BotPublisher("b1", mon.zmq) as bot:
            bot.health(kill_switch="triggered")
            wait_until(lambda: services.got["/ok"], timeout=20)
        answers = [
            requests.get(mon.url + path, timeout=5).text
            for path in (
                "/",
                "/_dash-layout",
                "/api/metrics",
                "/api/alerts",
                "/api/health",
                "/api/state?bot=b1",
            )
        ]
    finally:
        mon.stop()
    assert services.got["/ok"][0]["title"].startswith("[CRITICAL] FIRING b1:")
    for text in [*answers, mon.log.read_text()]:
        assert TOKEN_OK not in text
