"""The Alerts tab's Silences section in headless Chromium: refused, made, listed, shown on its alert, expired.

An in-process monitor with real ZeroMQ, SMTP and HTTP (tests/support/alerts_tab.py);
a real bot publishes a kill switch; the page's own controls make and expire the silence.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from collectors.publisher import BotPublisher
from tests.support.alerts_tab import AlertsMonitor, click, open_alerts_tab, until, wait_xpath

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def mon(tmp_path) -> Iterator[AlertsMonitor]:
    m = AlertsMonitor(tmp_path, os.environ).start()
    m.slack_ok()
    yield m
    m.stop()
    os.environ.pop("TEST_SLACK_WEBHOOK", None)


def _choose(dash_duo, dropdown: str, value: str) -> None:
    """Pick a dropdown's value as the page's own scripts set a property."""
    dash_duo.driver.execute_script(
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});", dropdown, value
    )


def _type(dash_duo, css: str, text: str) -> None:
    el = dash_duo.find_element(css)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", el)
    dash_duo.clear_input(el)
    el.send_keys(text)


def test_the_silences_section_makes_lists_and_expires(dash_duo, mon: AlertsMonitor) -> None:
    with BotPublisher("sil-bot", mon.zmq) as bot:
        bot.health(kill_switch="triggered")
        WebDriverWait(dash_duo.driver, 10).until(until(lambda: mon.alerts.active()))
        open_alerts_tab(dash_duo, mon)
        dash_duo.wait_for_contains_text("#atab-silences", "No silence.", timeout=10)
        # everything *: refused, the sentence shown
        click(dash_duo, "#atab-sil-create")
        dash_duo.wait_for_contains_text("#atab-sil-msg", "A silence of everything", timeout=10)
        # a duration of 0: refused next to the duration field
        _choose(dash_duo, "atab-sil-bot", "sil-bot")
        _type(dash_duo, "#atab-sil-dur", "0")
        click(dash_duo, "#atab-sil-create")
        dash_duo.wait_for_contains_text("#atab-sil-err-duration", "duration:", timeout=10)
        _choose(dash_duo, "atab-sil-rule", "kill_switch")
        _type(dash_duo, "#atab-sil-dur", "30")
        _type(dash_duo, "#atab-sil-comment", "exchange maintenance")
        click(dash_duo, "#atab-sil-create")
        dash_duo.wait_for_contains_text("#atab-sil-msg", "Silenced until", timeout=10)
        assert dash_duo.find_element("#atab-sil-err-duration").text == ""
        (made,) = mon.monitor.operator.silences()
        assert (made.bot, made.rule, made.author) == ("sil-bot", "kill_switch", "dashboard")
        assert made.ends_at - made.starts_at == 30 * 60
        dash_duo.wait_for_contains_text("#atab-silences", "exchange maintenance", timeout=10)
        row = f"#atab-sil-row-{made.id}"
        dash_duo.wait_for_element(row, timeout=10)
        WebDriverWait(dash_duo.driver, 10).until(  # counted down by the browser: 29 min 59 s or 30 min
            until(lambda: re.search(r"in (29|30) min", dash_duo.find_element(row).text)),
            dash_duo.find_element("#atab-silences").get_attribute("textContent"),
        )
        dash_duo.wait_for_contains_text("#atab-active", "silenced until", timeout=10)
        dash_duo.wait_for_contains_text("#atab-active", "by dashboard", timeout=10)

        expire = f"//tr[@id='atab-sil-row-{made.id}']//button[normalize-space()='Expire']"
        wait_xpath(dash_duo, expire, 5)
        dash_duo.driver.execute_script(
            "arguments[0].click();", dash_duo.find_element(expire, attribute="XPATH")
        )
        dash_duo.wait_for_contains_text("#atab-sil-msg", "expired", timeout=10)
        ended = f"//tr[@id='atab-sil-row-{made.id}' and contains(@class, 'silence-ended')]"
        wait_xpath(dash_duo, ended, 10)  # still listed, greyed, saying who ended it
        dash_duo.wait_for_contains_text(f"#atab-sil-row-{made.id}", "by dashboard", timeout=5)
        (gone,) = mon.monitor.operator.silences()
        assert gone.expired_by == "dashboard"
        WebDriverWait(dash_duo.driver, 10).until(
            until(lambda: "silenced" not in dash_duo.find_element("#atab-active").text)
        )
