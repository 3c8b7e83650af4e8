"""The live dashboard in headless Chromium, fed by a real monitor over real ZeroMQ.

One ``python -m app`` process serves the whole module (start-up costs ~2 s);
each test publishes with its own bot id so tests do not see each other's data,
and selects that bot in the page.  Waits are dash_duo's ``wait_for_*`` with
the product's 1 s budget for "events change the page".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import (
    graph_last_y,
    graph_points,
    open_page,
    select_bot,
    severe_logs,
    show_tab,
    wait_for,
    wait_text,
)
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STALE_AFTER_S = 3.0
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    mon = MonitorProcess(tmp_path_factory.mktemp("dash-browser"), stale_after_s=STALE_AFTER_S).start()
    yield mon
    mon.stop()


# ---------------------------------------------------------------------------------------
def test_waiting_page_says_where_the_monitor_listens(dash_duo, monitor: MonitorProcess) -> None:
    """Runs first in this module: no bot has connected to this monitor yet."""
    open_page(dash_duo, monitor)
    wait_text(dash_duo, "conn-state", "WAITING", 2, exact=True)
    wait_text(dash_duo, "conn-text", "No bot has connected yet", 1)
    wait_text(dash_duo, "conn-text", f"bind {monitor.zmq}", 1)
    wait_text(dash_duo, "conn-text", monitor.url, 1)


def test_page_loads_with_empty_console_and_every_tab_renders(dash_duo, monitor: MonitorProcess) -> None:
    open_page(dash_duo, monitor)
    with BotPublisher("tabs-bot", monitor.zmq) as pub:
        pub.account(10_000.0)
        pub.health(apis={"binance": "up"}, circuit_breaker="closed", kill_switch="armed")
        dash_duo.wait_for_contains_text("#bot-select", "All bots", timeout=5)
        select_bot(dash_duo, "tabs-bot")
        dash_duo.wait_for_contains_text("#tb-positions", "No open positions", timeout=1)
        dash_duo.wait_for_contains_text("#tb-fills", "No fills yet", timeout=1)
        show_tab(dash_duo, "Risk")
        dash_duo.wait_for_contains_text("#cards-risk", "MAX DRAWDOWN", timeout=2)
        dash_duo.wait_for_element("#ch-equity .js-plotly-plot", timeout=2)
        show_tab(dash_duo, "Health")
        dash_duo.wait_for_contains_text("#kv-monitor", "running", timeout=2)
        dash_duo.wait_for_contains_text("#tb-apis", "binance", timeout=2)
        dash_duo.wait_for_contains_text("#kv-alerts", "Firing alerts", timeout=2)
    assert severe_logs(dash_duo) == []
    # Data arrives by push only: no Python callback round trips, no polling requests.
    posts = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
        ".filter(function (n) { return n.indexOf('_dash-update-component') >= 0; }).length;"
    )
    assert posts == 0
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "link[href^='http'], script[src^='http']")


def test_events_change_status_bar_tables_and_charts_within_1s(dash_duo, monitor: MonitorProcess) -> None:
    with BotPublisher("live-bot", monitor.zmq) as pub:
        pub.account(10_000.0)
        open_page(dash_duo, monitor, "live-bot")
        dash_duo.wait_for_contains_text("#status-body", "10,000.00", timeout=1)

        pub.account(12_345.5)
        dash_duo.wait_for_contains_text("#status-body", "12,345.50", timeout=1)
        pub.health(apis={"binance": "up"}, circuit_breaker="open", kill_switch="triggered")
        dash_duo.wait_for_contains_text("#status-body", "triggered", timeout=1)
        dash_duo.wait_for_contains_text("#status-body", "open", timeout=1)

        pub.fill("f1", "o1", "ETH-USD", "buy", 2.0, 3000.0, fee=1.5)
        pub.mark({"ETH-USD": 3100.0})
        dash_duo.wait_for_contains_text("#tb-positions", "ETH-USD", timeout=1)
        dash_duo.wait_for_contains_text("#tb-positions", "+200.00", timeout=1)
        dash_duo.wait_for_contains_text("#tb-positions", "+3.33%", timeout=1)
        dash_duo.wait_for_contains_text("#tb-fills", "3,000.00", timeout=1)
        pub.order("o2", "ETH-USD", "sell", "limit", 1.0, "new", price=3200.0)
        dash_duo.wait_for_contains_text("#tb-orders", "3,200.00", timeout=1)

        show_tab(dash_duo, "Risk")
        dash_duo.wait_for_element("#ch-equity .js-plotly-plot", timeout=1)
        before = graph_points(dash_duo, "ch-equity")
        pub.account(13_000.0)
        dash_duo.wait_for_contains_text("#cards-risk", "13,000.00", timeout=1)
        wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-equity") == 13_000.0, 1, "equity point")
        assert graph_points(dash_duo, "ch-equity")[0] > before[0]
        pub.latency("submit", 42.0)
        wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-latency", 1) == 42.0, 1, "latency max point")


def test_stale_warning_appears_after_quiet_period_and_clears_on_next_event(
    dash_duo, monitor: MonitorProcess
) -> None:
    open_page(dash_duo, monitor)
    with BotPublisher("quiet-bot", monitor.zmq) as pub:
        pub.account(10_000.0)
        select_bot(dash_duo, "quiet-bot")
        pub.heartbeat()
        wait_text(dash_duo, "conn-state", "LIVE", 1, exact=True)
        assert "warn" not in dash_duo.find_element("#status-bar").get_attribute("class")
        # nothing published for stale_after_s: the bar must turn into a warning by itself
        wait_text(dash_duo, "conn-state", "STALE", STALE_AFTER_S + 3, exact=True)
        dash_duo.wait_for_class_to_equal("#status-bar", "status-bar warn warn-stale", timeout=1)
        dash_duo.wait_for_contains_text("#stat-0 .stat-age", "s old", timeout=1)
        wait_text(dash_duo, "conn-text", "quiet-bot (last event", 1)
        pub.heartbeat()
        wait_text(dash_duo, "conn-state", "LIVE", 1, exact=True)
        dash_duo.wait_for_class_to_equal("#status-bar", "status-bar", timeout=1)
        assert dash_duo.find_element("#stat-0 .stat-age").text == ""


def test_bot_strings_render_as_plain_text(dash_duo, monitor: MonitorProcess) -> None:
    with BotPublisher("xss-bot", monitor.zmq) as pub:
        pub.fill("fx", "ox", XSS, "buy", 1.0, 100.0)
        pub.error(XSS, XSS, "critical")
        open_page(dash_duo, monitor, "xss-bot")
        dash_duo.wait_for_contains_text("#tb-positions", XSS, timeout=1)
        dash_duo.wait_for_contains_text("#tb-fills", XSS, timeout=1)
        show_tab(dash_duo, "Health")
        dash_duo.wait_for_contains_text("#tb-errors", XSS, timeout=1)
        dash_duo.wait_for_contains_text("#tb-err-components", XSS, timeout=1)
    assert dash_duo.driver.find_elements(By.CSS_SELECTOR, "img") == []
    cell = dash_duo.find_element("#tb-positions td")  # on the (now hidden) Trading tab
    assert cell.get_attribute("textContent") == XSS
    assert cell.get_attribute("innerHTML") == "&lt;img src=x onerror=alert(1)&gt;"
    assert severe_logs(dash_duo) == []


def test_page_reconnects_after_server_restart_and_shows_current_data(
    dash_duo, monitor: MonitorProcess
) -> None:
    with BotPublisher("restart-bot", monitor.zmq) as pub:
        pub.account(11_111.0)
        open_page(dash_duo, monitor, "restart-bot")
        dash_duo.wait_for_contains_text("#status-body", "11,111.00", timeout=1)
    monitor.stop()
    wait_text(dash_duo, "conn-state", "RECONNECTING", 3, exact=True)
    dash_duo.wait_for_class_to_equal("#status-bar", "status-bar warn warn-conn", timeout=1)
    dash_duo.wait_for_contains_text("#stat-0 .stat-age", "s old", timeout=2)
    monitor.start()
    with BotPublisher("restart-bot", monitor.zmq) as pub:  # the new process starts empty
        pub.account(22_222.0)
        # backoff is capped at 5 s (plus jitter); then the first frame is a full snapshot
        dash_duo.wait_for_contains_text("#status-body", "22,222.00", timeout=8)
        wait_text(dash_duo, "conn-state", "LIVE", 1, exact=True)
        pub.account(22_223.0)
        dash_duo.wait_for_contains_text("#status-body", "22,223.00", timeout=1)


def test_screens_fit_a_phone(dash_duo, monitor: MonitorProcess, tmp_path: Path) -> None:
    with BotPublisher("phone-bot", monitor.zmq) as pub:
        pub.account(10_000.0)
        dash_duo.driver.set_window_size(390, 844)
        open_page(dash_duo, monitor, "phone-bot")
        wait_text(dash_duo, "status-body", "10,000.00", 1)  # equity: behind the bar's toggle on a phone
    width = dash_duo.driver.execute_script("return document.documentElement.scrollWidth;")
    inner = dash_duo.driver.execute_script("return window.innerWidth;")
    assert width <= inner + 1, "the page scrolls sideways on a phone"


def test_chart_points_arriving_on_another_tab_are_shown_when_the_risk_tab_opens(
    dash_duo, monitor: MonitorProcess
) -> None:
    # Charts on a hidden tab are not redrawn; their points wait in the page, none may be lost.
    with BotPublisher("hidden-charts", monitor.zmq) as pub:
        pub.account(20_000.0)
        open_page(dash_duo, monitor, "hidden-charts")
        for i in range(1, 31):
            pub.account(20_000.0 + i)
        dash_duo.wait_for_contains_text("#status-body", "20,030.00", timeout=1)  # Trading tab is shown
        show_tab(dash_duo, "Risk")
        wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-equity") == 20_030.0, 1, "deferred points")
        assert graph_points(dash_duo, "ch-equity")[0] == 31  # every point, none dropped or repeated
        show_tab(dash_duo, "Trading")
        pub.account(20_100.0)
        dash_duo.wait_for_contains_text("#status-body", "20,100.00", timeout=1)
        show_tab(dash_duo, "Risk")
        wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-equity") == 20_100.0, 1, "later point")
        assert graph_points(dash_duo, "ch-equity")[0] == 32
