"""The Alerts tab in headless Chromium against an in-process monitor, real ZeroMQ, SMTP and HTTP.

One monitor per module (start-up is the expensive part); every test uses its
own bot id.  Waits are dash_duo / WebDriverWait waits with timeouts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from collectors.publisher import BotPublisher
from tests.support.alerts_tab import (
    AlertsMonitor,
    click,
    feedback_text,
    field_css,
    open_alerts_tab,
    record_responses,
    seen,
    set_field,
    until,
    wait_xpath,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


@pytest.fixture(scope="module")
def mon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertsMonitor]:
    m = AlertsMonitor(tmp_path_factory.mktemp("alerts-tab"), os.environ).start()
    m.slack_ok()
    yield m
    m.stop()
    os.environ.pop("TEST_SLACK_WEBHOOK", None)


def test_threshold_saved_with_comments_and_applied(dash_duo, mon: AlertsMonitor) -> None:
    before = mon.path.read_text()
    open_alerts_tab(dash_duo, mon)
    set_field(dash_duo, "thr.max_latency_ms.value", "250")
    click(dash_duo, "#atab-save")
    dash_duo.wait_for_contains_text("#atab-save-status", "Saved", timeout=10)
    after = mon.path.read_text()
    assert "    max_latency_ms: 250    # latency p95 above it -> warning\n" in after
    assert comments(after) == comments(before)  # every comment kept, in order
    old, new = YAML(typ="safe").load(before), YAML(typ="safe").load(after)
    new["alerts"]["thresholds"]["max_latency_ms"] = 500
    assert new == old  # nothing else changed, key order included
    assert list(new) == list(old) and list(new["alerts"]) == list(old["alerts"])
    assert mon.path.with_name("settings.yaml.bak").read_text() == before
    assert mon.alerts.settings.thresholds.max_latency_ms == 250
    assert mon.alerts.engine.rules.checks[0].value == 250  # the engine evaluates the new value
    dash_duo.wait_for_contains_text("#atab-rules", "> 250 ms", timeout=5)  # pushed back to the page


def test_invalid_value_shows_field_error_and_writes_nothing(dash_duo, mon: AlertsMonitor) -> None:
    before = mon.path.read_bytes()
    open_alerts_tab(dash_duo, mon)
    set_field(dash_duo, "thr.max_drawdown.value", "ten percent")
    click(dash_duo, "#atab-save")
    dash_duo.wait_for_contains_text("#atab-save-status", "Not saved", timeout=10)
    WebDriverWait(dash_duo.driver, 5).until(
        until(lambda: "fraction between 0 and 1" in feedback_text(dash_duo, "thr.max_drawdown.value"))
    )
    assert "is-invalid" in dash_duo.find_element(field_css("thr.max_drawdown.value")).get_attribute("class")
    assert mon.path.read_bytes() == before
    assert mon.alerts.settings.thresholds.max_drawdown == 0.10


def test_secrets_never_reach_the_browser(dash_duo, mon: AlertsMonitor) -> None:
    typed = "TypedSmtpPassw0rd-9f3k"
    open_alerts_tab(dash_duo, mon)
    record_responses(dash_duo)
    set_field(dash_duo, "ch.email.password", typed)
    click(dash_duo, "#atab-save")
    dash_duo.wait_for_contains_text("#atab-save-status", "Saved", timeout=10)
    # the form is re-rendered from the saved file: the new secret shows as a mask only
    # (React may replace the input between finding it and reading it: look again then)
    WebDriverWait(dash_duo.driver, 5, ignored_exceptions=(StaleElementReferenceException,)).until(
        until(
            lambda: (
                "9f3k"
                in (dash_duo.find_element(field_css("ch.email.password")).get_attribute("placeholder") or "")
            )
        )
    )
    mon.slack_fails(403, "invalid_token")  # an error text from the service, shown in the page
    click(dash_duo, "#atab-test")
    dash_duo.wait_for_contains_text("#atab-test-result", "invalid_token", timeout=10)
    secrets = [typed, mon.slack_url, "sup3rS3cretW3bhookValue"]
    bodies = [*seen(dash_duo), dash_duo.driver.page_source]
    assert any("atab-form" in b for b in bodies)  # the form's callback response was captured
    for secret in secrets:
        assert not [b for b in bodies if secret in b], f"secret {secret[:6]}... reached the browser"
    settings_text = mon.path.read_text()
    assert typed not in settings_text and "${ALERTS_EMAIL_PASSWORD}" in settings_text
    secrets_file = mon.path.with_name("secrets.yaml")
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600 and typed in secrets_file.read_text()
    assert mon.alerts.settings.channels["email"].password == typed
    mon.slack_ok()


def test_acknowledge_stops_escalation(dash_duo, mon: AlertsMonitor) -> None:
    open_alerts_tab(dash_duo, mon)
    with BotPublisher("ack-bot", mon.zmq) as bot:
        # one event, two critical alerts: they fire in the same evaluation, so they share their
        # escalation deadline, and the pass that escalates the control one has passed the acked one's
        bot.health(kill_switch="triggered", circuit_breaker="open")
        row = (
            "//tr[td[normalize-space()='ack-bot'] and td[normalize-space()='Kill switch']]"
            "//button[normalize-space()='Acknowledge']"
        )
        wait_xpath(dash_duo, row, 5)
        dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(row, attribute="XPATH"))
        dash_duo.wait_for_contains_text("#atab-ack-status", "acknowledged", timeout=5)
        alerts = {a.rule: a for a in mon.alerts.active() if a.bot == "ack-bot"}
        acked_alert, control = alerts["kill_switch"], alerts["circuit_breaker"]
        assert acked_alert.acked_by == "dashboard" and control.acked_by is None
        assert acked_alert.fired_at == control.fired_at
        # the control alert (not acknowledged) escalates to e-mail after 4 s; the acked one must not
        WebDriverWait(dash_duo.driver, 10).until(
            until(lambda: any("circuit breaker" in str(m["Subject"]) for m in mon.inbox.messages))
        )
        assert not [m for m in mon.inbox.messages if "kill switch" in str(m["Subject"])]
        escalated = [r.kind for r in mon.alerts.outbox.notifications_of(acked_alert.alert_id)]
        assert "escalation" not in escalated
        now = next(a for a in mon.alerts.active() if a.alert_id == acked_alert.alert_id)
        assert now.escalations == 0
        dash_duo.wait_for_contains_text("#atab-active", "acknowledged", timeout=5)
