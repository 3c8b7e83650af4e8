"""The bot selector is a per-bot view of everything, and lives in the URL (headless Chromium).

Two bots with alerts firing (alpha two, beta one), an in-process monitor over real
ZeroMQ: choosing beta filters the Alerts tab (active alerts, the Rules table's current
values) and the status bar's firing count, and writes ``?bot=beta`` into the URL; a
reload of that URL comes back to the same view; a bot that has not reported yet stays
chosen; a URL value that is not a bot id is ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from collectors.publisher import BotPublisher
from tests.support.alerts_tab import AlertsMonitor, open_alerts_tab, until, wait_xpath

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def mon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertsMonitor]:
    m = AlertsMonitor(tmp_path_factory.mktemp("bot-view"), os.environ).start()
    m.slack_ok()
    yield m
    m.stop()
    os.environ.pop("TEST_SLACK_WEBHOOK", None)


def wait_for(dash_duo, pred, timeout: float = 10) -> None:
    WebDriverWait(dash_duo.driver, timeout).until(until(pred))


def text_of(dash_duo, css: str) -> str:
    return dash_duo.driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.textContent : '';", css
    )


def firing(dash_duo) -> int | None:
    """The status bar's count of firing alerts."""
    m = re.search(r"(\d+) firing", text_of(dash_duo, "#status-body"))
    return int(m.group(1)) if m else None


def chosen(dash_duo) -> str:
    return dash_duo.driver.execute_script("return window.__monitor.view")


def choose_bot(dash_duo, bot: str) -> None:
    """Open the selector and pick a bot, as a trader does."""
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element("#bot-select"))
    option = f"//*[@role='option'][normalize-space()='{bot}']"
    wait_xpath(dash_duo, option, 5)
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(option, attribute="XPATH"))


def shows_view(dash_duo, bot: str, count: int) -> bool:
    """The Alerts tab and the status bar show ``bot``'s alerts only (and ``count`` firing)."""
    active, rules = text_of(dash_duo, "#atab-active"), text_of(dash_duo, "#atab-rules")
    others = {"alpha", "beta"} - {bot}
    return (
        bot in active
        and not any(o in active or f"{o}:" in rules for o in others)
        and f"{bot}:" in rules
        and firing(dash_duo) == count
    )


def test_the_selector_filters_the_alerts_and_survives_a_reload(dash_duo, mon: AlertsMonitor) -> None:
    with BotPublisher("alpha", mon.zmq) as alpha, BotPublisher("beta", mon.zmq) as beta:
        alpha.health(kill_switch="triggered", circuit_breaker="open")
        beta.health(kill_switch="triggered")
        wait_for(dash_duo, lambda: mon.alerts.snapshot().firing == 3)
        open_alerts_tab(dash_duo, mon)
        wait_for(dash_duo, lambda: firing(dash_duo) == 3)  # all bots: every alert
        active = text_of(dash_duo, "#atab-active")
        assert "alpha" in active and "beta" in active
        choose_bot(dash_duo, "beta")
        wait_for(dash_duo, lambda: shows_view(dash_duo, "beta", 1))
        assert dash_duo.driver.current_url.endswith("/?bot=beta")  # no reload: the same page
        dash_duo.driver.refresh()
        dash_duo.wait_for_element("#conn-state", timeout=10)
        dash_duo.find_element("//a[normalize-space()='Alerts']", attribute="XPATH").click()
        wait_for(dash_duo, lambda: shows_view(dash_duo, "beta", 1))
        assert chosen(dash_duo) == "beta" and "beta" in text_of(dash_duo, "#bot-select")
        choose_bot(dash_duo, "alpha")
        wait_for(dash_duo, lambda: shows_view(dash_duo, "alpha", 2))
        assert dash_duo.driver.current_url.endswith("/?bot=alpha")
        dash_duo.driver.back()  # Back returns to the previous bot
        wait_for(dash_duo, lambda: shows_view(dash_duo, "beta", 1))


def test_a_bookmarked_bot_stays_chosen_until_it_reports(dash_duo, mon: AlertsMonitor) -> None:
    dash_duo.driver.get(mon.url + "/?bot=gamma")
    dash_duo.wait_for_element("#conn-state", timeout=10)
    wait_for(dash_duo, lambda: "No events from bot gamma yet" in text_of(dash_duo, "#status-body"))
    dash_duo.driver.execute_script("return new Promise(function (r) { setTimeout(r, 1500); });")  # frames
    assert chosen(dash_duo) == "gamma" and "gamma" in text_of(dash_duo, "#bot-select")
    assert dash_duo.driver.current_url.endswith("/?bot=gamma")
    with BotPublisher("gamma", mon.zmq) as gamma:
        gamma.heartbeat()
        wait_for(dash_duo, lambda: "No events" not in text_of(dash_duo, "#status-body"))
    assert chosen(dash_duo) == "gamma"


def test_a_url_value_that_is_not_a_bot_id_is_ignored(dash_duo, mon: AlertsMonitor) -> None:
    dash_duo.driver.get(mon.url + "/?bot=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    dash_duo.wait_for_element("#conn-state", timeout=10)
    wait_for(dash_duo, lambda: dash_duo.driver.current_url.rstrip("/") == mon.url)
    assert chosen(dash_duo) == "__all__"
    assert not dash_duo.driver.find_elements("css selector", "img[src='x']")
