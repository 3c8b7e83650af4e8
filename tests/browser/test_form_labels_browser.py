"""Every label of the Alerts tab's settings form tells the truth, in headless Chromium.

Against an in-process monitor (tests/support/alerts_tab.py): the switches say whether they
are on, a threshold typed into a rule that is off switches the rule on (and says so), a value
kept in a rule switched off says it is not checked, the file then holds what the page showed,
the result of Save is on screen where the trader is and the page does not move, and the
timezone is validated and says when it takes effect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.alerts_tab import AlertsMonitor, click, feedback_text, open_alerts_tab, until
from tests.support.settings_form import flip, in_viewport, note_text, scroll_to, switch_state, type_into

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def mon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertsMonitor]:
    m = AlertsMonitor(tmp_path_factory.mktemp("form-labels"), os.environ).start()
    m.slack_ok()
    yield m
    m.stop()
    os.environ.pop("TEST_SLACK_WEBHOOK", None)


def wait_for(dash_duo, pred, timeout: float = 5) -> None:
    WebDriverWait(dash_duo.driver, timeout).until(until(pred))


def saved_file(mon: AlertsMonitor) -> dict:
    return YAML(typ="safe").load(mon.path.read_text())


def save_and_wait(dash_duo, text: str) -> str:
    click(dash_duo, "#atab-save")
    dash_duo.wait_for_contains_text("#atab-save-status", text, timeout=10)
    return dash_duo.find_element("#atab-save-status").text


def test_every_switch_reads_its_state_and_follows_a_flip(dash_duo, mon: AlertsMonitor) -> None:
    open_alerts_tab(dash_duo, mon)
    assert switch_state(dash_duo, "thr.max_latency_ms.enabled") == [True, "on"]
    assert switch_state(dash_duo, "thr.min_daily_pnl.enabled") == [False, "off"]  # no value: off
    assert switch_state(dash_duo, "ev.stale") == [True, "on"]
    for key in ("thr.max_latency_ms.enabled", "ev.stale"):
        flip(dash_duo, key)
        wait_for(dash_duo, lambda key=key: switch_state(dash_duo, key) == [False, "off"])
        flip(dash_duo, key)
        wait_for(dash_duo, lambda key=key: switch_state(dash_duo, key) == [True, "on"])


def test_a_threshold_typed_into_an_off_rule_switches_it_on(dash_duo, mon: AlertsMonitor) -> None:
    open_alerts_tab(dash_duo, mon)
    key = "thr.min_daily_pnl"
    assert switch_state(dash_duo, f"{key}.enabled") == [False, "off"]
    type_into(dash_duo, f"{key}.value", "-500")
    wait_for(dash_duo, lambda: switch_state(dash_duo, f"{key}.enabled") == [True, "on"])
    assert "switched on" in note_text(dash_duo, f"{key}.value")
    save_and_wait(dash_duo, "Saved")
    # the file says what the page said: the rule is on with -500 (the short form is "enabled")
    assert saved_file(mon)["alerts"]["thresholds"]["min_daily_pnl"] == -500
    assert mon.alerts.settings.thresholds.min_daily_pnl == -500
    wait_for(dash_duo, lambda: switch_state(dash_duo, f"{key}.enabled") == [True, "on"])


def test_a_value_kept_in_a_rule_switched_off_says_it_is_not_checked(dash_duo, mon: AlertsMonitor) -> None:
    open_alerts_tab(dash_duo, mon)
    key = "thr.max_errors_5m"
    type_into(dash_duo, f"{key}.value", "30")
    flip(dash_duo, f"{key}.enabled")
    wait_for(dash_duo, lambda: switch_state(dash_duo, f"{key}.enabled") == [False, "off"])
    assert "kept but not checked" in note_text(dash_duo, f"{key}.value")
    message = save_and_wait(dash_duo, "Saved")
    assert "30 is kept but not checked" in message  # never a bare "Saved"
    assert saved_file(mon)["alerts"]["thresholds"]["max_errors_5m"] == {"value": 30, "enabled": False}
    # rebuilt from the saved file, the form still says so
    wait_for(dash_duo, lambda: "kept but not checked" in (note_text(dash_duo, f"{key}.value") or ""))
    assert switch_state(dash_duo, f"{key}.enabled") == [False, "off"]


@pytest.mark.parametrize(("width", "height", "latency"), [(1440, 900, 400), (390, 844, 450)])
def test_the_save_result_shows_where_the_trader_is_and_the_page_stays(
    dash_duo, mon: AlertsMonitor, width: int, height: int, latency: int
) -> None:
    dash_duo.driver.set_window_size(width, height)
    open_alerts_tab(dash_duo, mon)
    type_into(dash_duo, "thr.max_latency_ms.value", str(latency))  # the top of a long form
    scroll_to(dash_duo, '[id=\'{"key":"thr.max_latency_ms.value","type":"af"}\']')
    assert in_viewport(dash_duo, "#atab-save")  # Save is at hand without scrolling down
    before = dash_duo.driver.execute_script("return window.scrollY")
    assert before > 300  # the form is far down the tab: a jump would show
    save_and_wait(dash_duo, "Saved")
    dash_duo.wait_for_contains_text("#atab-save-toast", "Saved", timeout=5)
    dash_duo.driver.execute_script("return new Promise(function (r) { setTimeout(r, 1000); });")  # re-render
    assert abs(dash_duo.driver.execute_script("return window.scrollY") - before) < 5
    assert in_viewport(dash_duo, "#atab-save-msg")
    assert in_viewport(dash_duo, "#atab-save-toast")
    assert mon.alerts.settings.thresholds.max_latency_ms == latency
    # the toast leaves the status bar (money, stale bots, alerts) uncovered
    bar = dash_duo.find_element("#status-bar").rect
    toast = dash_duo.find_element("#atab-save-toast").rect
    assert toast["y"] >= bar["y"] + bar["height"]


def test_the_timezone_is_checked_and_says_when_it_applies(dash_duo, mon: AlertsMonitor) -> None:
    open_alerts_tab(dash_duo, mon)
    before = mon.path.read_bytes()
    type_into(dash_duo, "metrics.timezone", "Mars/Olympus_Mons")
    save_and_wait(dash_duo, "Not saved")
    wait_for(dash_duo, lambda: "unknown timezone" in feedback_text(dash_duo, "metrics.timezone"))
    assert mon.path.read_bytes() == before
    type_into(dash_duo, "metrics.timezone", "europe/berlin")
    message = save_and_wait(dash_duo, "Saved")
    assert "Europe/Berlin takes effect at the next start" in message
    assert saved_file(mon)["metrics"]["timezone"] == "Europe/Berlin"
    # the day boundary and the page's times keep the zone in force until a restart, and the form says so
    assert mon.monitor.hub.under_lock(lambda store: store.config.metrics.timezone) == "UTC"
    dash_duo.wait_for_contains_text("#note-metrics\\.timezone", "in force until then: UTC", timeout=5)
