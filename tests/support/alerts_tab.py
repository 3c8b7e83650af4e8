"""An in-process monitor with real local Slack (HTTP) and SMTP servers, for the Alerts tab tests.

In-process (not ``python -m app``) because the tests must look inside: the
engine's thresholds after a save, the escalation state after an ack.  Served by
werkzeug's threaded server, which flask-sock supports, so the page gets its
frames over the real /ws; the bot talks over real ZeroMQ.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from selenium.webdriver.support.wait import WebDriverWait
from werkzeug.serving import make_server

from app.runtime import Monitor
from app.settings import load_settings
from tests.support.ports import free_port

SECRET_WEBHOOK_PATH = "/services/T0SECRET/B0SECRET/sup3rS3cretW3bhookValue"


@dataclass
class Inbox:
    """aiosmtpd handler: keeps every message received."""

    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


SETTINGS = """\
# Monitor settings for the Alerts tab tests.
server:
  host: 127.0.0.1   # loopback only
collector:
  endpoints:
    - url: {zmq}
      mode: bind
  stale_after_s: 600       # no stale alerts during a test
alerts:
  thresholds:              # a key left out or null disables that rule
    max_latency_ms: 500    # latency p95 above it -> warning
    max_drawdown: 0.10     # drawdown fraction above it -> critical
  routes:
    critical: {{channels: [slack], repeat_interval_s: 900,
                escalate: [{{after_s: 4, channels: [email]}}]}}
    warning: {{channels: [], repeat_interval_s: 3600}}
  channels:
    slack: {{type: slack, webhook_url: "${{TEST_SLACK_WEBHOOK}}"}}
    email: {{type: email, host: 127.0.0.1, port: {smtp_port}, ssl: false, starttls: false,
             sender: monitor@example.com, recipients: [trader@example.com]}}
  tick_s: 0.2
storage:
  data_dir: {data}
logging:
  level: WARNING
"""


class AlertsMonitor:
    """Monitor + Slack stand-in + SMTP server; ``start()`` / ``stop()`` once per test module."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.slack = HTTPServer(host="127.0.0.1", port=free_port())
        self.inbox = Inbox()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_port())
        self.zmq = f"tcp://127.0.0.1:{free_port()}"
        self.path = tmp / "settings.yaml"
        self.env = env
        self.monitor: Monitor | None = None
        self._server: Any = None

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.slack.port}{SECRET_WEBHOOK_PATH}"

    def start(self) -> AlertsMonitor:
        self.slack.start()
        self.smtp.start()
        self.env["TEST_SLACK_WEBHOOK"] = self.slack_url
        self.path.write_text(SETTINGS.format(zmq=self.zmq, smtp_port=self.smtp.port, data=self.tmp / "data"))
        settings = load_settings(self.path, {"server.port": free_port()})
        self.monitor = Monitor(settings)
        self.monitor.start()
        self._server = make_server("127.0.0.1", settings.server.port, self.monitor.flask_app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{settings.server.port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self.monitor is not None:
            self.monitor.stop()
        self.smtp.stop()
        self.slack.clear()
        if self.slack.is_running():
            self.slack.stop()

    @property
    def alerts(self) -> Any:
        assert self.monitor is not None
        return self.monitor.alerts

    def slack_ok(self) -> None:
        self.slack.clear()
        self.slack.expect_request(SECRET_WEBHOOK_PATH, method="POST").respond_with_data("ok")

    def slack_fails(self, status: int = 403, body: str = "invalid_token") -> None:
        self.slack.clear()
        self.slack.expect_request(SECRET_WEBHOOK_PATH, method="POST").respond_with_data(body, status=status)

    def slack_bodies(self) -> list[str]:
        return [req.get_data(as_text=True) for req, _resp in self.slack.log]


def until(pred: Callable[[], Any]) -> Callable[[Any], Any]:
    """Adapter for WebDriverWait.until (ignores the driver argument)."""
    return lambda _driver: pred()


# ---- page helpers (dash_duo) -------------------------------------------------------------------
def open_alerts_tab(dash_duo: Any, mon: AlertsMonitor) -> None:
    """Load the page, wait for the first pushed frame, show the Alerts tab and its form."""
    dash_duo.server_url = mon.url
    dash_duo.wait_for_element("#conn-state", timeout=10)
    dash_duo.find_element("//a[normalize-space()='Alerts']", attribute="XPATH").click()
    dash_duo.wait_for_element("#atab-rules table", timeout=10)
    dash_duo.wait_for_element(field_css("thr.max_latency_ms.value"), timeout=10)


def field_css(key: str, kind: str = "af") -> str:
    """CSS selector of a pattern-matching field id ({"type": kind, "key": key}, serialised by Dash)."""
    return f'[id=\'{{"key":"{key}","type":"{kind}"}}\']'


def feedback_text(dash_duo: Any, key: str) -> str:
    return dash_duo.driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.textContent : '';",
        '{"key":"' + key + '","type":"afe"}',
    )


def set_field(dash_duo: Any, key: str, text: str) -> None:
    """Replace an input's text and commit it (the inputs are debounced: Tab blurs)."""
    el = dash_duo.find_element(field_css(key))
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", el)
    dash_duo.clear_input(el)
    el.send_keys(text + "\t")


def record_responses(dash_duo: Any) -> None:
    """From now on keep every Dash callback response body and every pushed frame in window.__seen."""
    dash_duo.driver.execute_script("""
      window.__seen = [];
      var f = window.fetch;
      window.fetch = function () {
        return f.apply(this, arguments).then(function (r) {
          r.clone().text().then(function (t) { window.__seen.push(t); }); return r; });
      };
      var s = window.__monitor && window.__monitor.socket;
      if (s) { s.addEventListener("message", function (e) { window.__seen.push(String(e.data)); }); }
    """)


def seen(dash_duo: Any) -> list[str]:
    return dash_duo.driver.execute_script("return window.__seen || [];")


def wait_xpath(dash_duo: Any, xpath: str, timeout: float) -> None:
    from selenium.webdriver.common.by import By

    WebDriverWait(dash_duo.driver, timeout).until(lambda d: d.find_elements(By.XPATH, xpath), xpath)


def click(dash_duo: Any, css: str) -> None:
    """Click through the DOM: the long tab scrolls inside its container, where WebDriver's
    pointer click lands on the sticky status bar instead."""
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(css))
