"""Attacks by a web page the trader visits, in headless Chromium against a real monitor.

DNS rebinding is simulated with Chromium's ``--host-resolver-rules``: ``evil.test`` and
``attacker.test`` resolve to 127.0.0.1, as a hostile DNS server would make them.  Every attack
is refused, counted, and changes nothing on disk; the trader's own page keeps working.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.chromium import chrome_options
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ATTACK = """<!doctype html><html><body><script>
window.results = {};
var ws = new WebSocket("ws://127.0.0.1:%(port)d/ws?bot=b1");
ws.onmessage = function () { window.results.ws = "frame"; };
ws.onclose = function () { if (!window.results.ws) { window.results.ws = "closed"; } };
fetch("http://127.0.0.1:%(port)d/_dash-update-component", {
  method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({output: "atab-ack-status.children",
    outputs: {id: "atab-ack-status", property: "children"},
    inputs: [{id: "atab-ack-req", property: "data", value: {id: "x"}}],
    changedPropIds: ["atab-ack-req.data"], state: []})
}).then(function () { window.results.post = "sent"; }, function () { window.results.post = "failed"; });
fetch("http://127.0.0.1:%(port)d/api/metrics").then(
  function (r) { return r.text().then(function (t) { window.results.read = t; }); },
  function () { window.results.read = "blocked"; });
</script></body></html>"""


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    mon = MonitorProcess(tmp_path_factory.mktemp("web-attacks")).start()
    yield mon
    mon.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = chrome_options()
    options.add_argument("--host-resolver-rules=MAP evil.test 127.0.0.1, MAP attacker.test 127.0.0.1")
    driver = webdriver.Chrome(options=options)
    yield driver
    driver.quit()


def refused(mon: MonitorProcess) -> dict[str, int]:
    return requests.get(mon.url + "/api/metrics", timeout=5).json()["monitor"]["web_refused"]


def test_a_rebound_name_gets_neither_the_page_nor_the_api(monitor: MonitorProcess, browser) -> None:
    before = refused(monitor)["host"]
    browser.get(f"http://evil.test:{monitor.port}/")
    assert "unknown Host" in browser.find_element("tag name", "body").text
    status = browser.execute_async_script(
        "var done = arguments[0];"
        "fetch('/api/metrics').then(function (r) { done(r.status); }, function () { done(-1); });"
    )
    assert status == 400  # same-origin for the browser, refused by the server
    assert refused(monitor)["host"] >= before + 2


def test_a_page_of_another_site_cannot_stream_read_or_command(
    monitor: MonitorProcess, browser, httpserver
) -> None:
    files = monitor.config.read_bytes()
    browser.get(monitor.url + "/")  # the trader's own page: its cookie is in this browser now
    WebDriverWait(browser, 10).until(
        lambda d: d.get_cookie(f"botmonitor_csrf_{monitor.port}") is not None, "the page's token"
    )
    before = refused(monitor)
    httpserver.expect_request("/attack").respond_with_data(
        ATTACK % {"port": monitor.port}, content_type="text/html"
    )
    browser.get(httpserver.url_for("/attack").replace("localhost", "attacker.test"))
    WebDriverWait(browser, 10).until(
        lambda d: len(d.execute_script("return Object.keys(window.results || {})")) == 3, "the attack"
    )
    results = browser.execute_script("return window.results")
    assert results["ws"] == "closed"  # no frame of the live state
    assert results["read"] == "blocked"  # the same-origin policy still holds for reads
    after = refused(monitor)
    assert after["ws_origin"] == before["ws_origin"] + 1
    assert after["origin"] == before["origin"] + 1  # the POST reached the guard and stopped there
    assert monitor.config.read_bytes() == files
