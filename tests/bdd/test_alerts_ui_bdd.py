"""tests/bdd/features/alerts_ui.feature in headless Chromium: a real SMTP server, a local Slack stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from selenium.webdriver.support.wait import WebDriverWait

from app.actions import Cooldown
from tests.support.alerts_tab import AlertsMonitor, click, open_alerts_tab, until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

scenarios("alerts_ui.feature")


@pytest.fixture(scope="module")
def mon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertsMonitor]:
    m = AlertsMonitor(tmp_path_factory.mktemp("alerts-ui-bdd"), os.environ).start()
    yield m
    m.stop()
    os.environ.pop("TEST_SLACK_WEBHOOK", None)


def _fresh(mon: AlertsMonitor) -> None:
    """Each scenario starts with an empty inbox and no Test Alert cooldown."""
    mon.inbox.messages.clear()
    assert mon.monitor is not None
    mon.monitor.operator.test_cooldown = Cooldown(10.0)  # the facade's: whichever front end presses


@given("valid email and Slack webhook in alerts config")
def channels_ok(mon: AlertsMonitor, dash_duo) -> None:
    _fresh(mon)
    mon.slack_ok()
    assert set(mon.alerts.channels) == {"slack", "email"}
    open_alerts_tab(dash_duo, mon)


@given("valid email and a Slack webhook that rejects the token")
def slack_rejects(mon: AlertsMonitor, dash_duo) -> None:
    _fresh(mon)
    mon.slack_fails(403, "invalid_token")
    open_alerts_tab(dash_duo, mon)


@when("user clicks Test Alert")
def click_test(dash_duo) -> None:
    click(dash_duo, "#atab-test")


@then("a sample notification is delivered to each endpoint")
def delivered_everywhere(mon: AlertsMonitor, dash_duo) -> None:
    wait = WebDriverWait(dash_duo.driver, 10)
    wait.until(until(lambda: mon.inbox.messages and mon.slack_bodies()), "e-mail and Slack request")
    assert "TEST" in str(mon.inbox.messages[0]["Subject"])
    assert "TEST" in mon.slack_bodies()[0]


@then("the page shows each channel as delivered")
def page_shows_delivered(dash_duo) -> None:
    dash_duo.wait_for_contains_text("#atab-test-slack", "delivered", timeout=10)
    dash_duo.wait_for_contains_text("#atab-test-email", "delivered", timeout=10)


@then(parsers.parse('the page shows Slack failed with "{reason}"'))
def page_shows_failure(dash_duo, reason: str) -> None:
    dash_duo.wait_for_contains_text("#atab-test-slack", "failed", timeout=10)
    assert reason in dash_duo.find_element("#atab-test-slack").text
    assert dash_duo.find_element("#atab-test-slack").text.startswith("Slack:")


@then("the e-mail is still delivered")
def email_delivered(mon: AlertsMonitor, dash_duo) -> None:
    dash_duo.wait_for_contains_text("#atab-test-email", "delivered", timeout=10)
    assert mon.inbox.messages


@then("a second click within 10 seconds is refused with a message")
def second_click_refused(mon: AlertsMonitor, dash_duo) -> None:
    sent = len(mon.inbox.messages)
    click(dash_duo, "#atab-test")
    dash_duo.wait_for_contains_text("#atab-test-msg", "refused", timeout=5)
    assert len(mon.inbox.messages) == sent
