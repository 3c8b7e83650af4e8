"""Every channel words every kind of notification through that kind's renderer.

Pure: a payload of each kind (an alert's firing, a Test Alert, a report) through
each channel's own message builder.  A channel that words a payload itself (an
alert's wording for a report) would lose the report's lines or name a rule for a test.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from alerts import catalog
from alerts.channels import email, slack, sms, telegram, webhook
from alerts.notification import Report, ReportLine, kind_of

URL = "http://monitor.test:8050"
REPORT = Report("Daily report b1", (ReportLine("PnL", "+1,250.00 USD"), ReportLine("Fills", "42")))
PAYLOADS = {
    "alert": {
        "notification": "alert",
        "alert_id": "a1",
        "kind": "firing",
        "severity": "critical",
        "rule": "kill_switch",
        "bot": "b1",
        "summary": "kill switch TRIGGERED",
        "since": 1.7e9,
        "fired_at": 1.7e9,
        "now": 1.7e9 + 60,
    },
    "test": {
        "notification": "test",
        "alert_id": "test-1",
        "kind": "test",
        "severity": "info",
        "bot": catalog.MONITOR,
        "summary": "test alert: if you read this, this channel works",
        "now": 1.7e9,
    },
    "report": {
        "notification": "report",
        "alert_id": "report-1",
        "kind": "report",
        "severity": "info",
        "bot": catalog.MONITOR,
        "summary": REPORT.title,
        "report": msgspec.to_builtins(REPORT),
        "now": 1.7e9,
    },
}
#: What each kind's message must say: its headline's words, then its detail lines.
SAYS = {
    "alert": ["FIRING b1", "kill switch TRIGGERED", "Kill switch"],
    "test": ["TEST monitor", "this channel works", "test id test-1"],
    "report": ["Daily report b1", "PnL: +1,250.00 USD", "Fills: 42"],
}


def _texts(p: dict) -> dict[str, str]:
    """The text each channel would send for one payload."""
    subject, text, html_body = email.message([p], URL)
    return {
        "slack": json.dumps(slack.message([p], URL), ensure_ascii=False),
        "telegram": telegram.message([p], URL),
        "email": subject + "\n" + text + "\n" + html_body,
        "webhook": json.dumps(webhook.body(p, "k", URL), ensure_ascii=False),
    }


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_each_channel_says_what_the_kind_says(kind: str) -> None:
    p = PAYLOADS[kind]
    assert kind_of(p) == kind
    for channel, text in _texts(p).items():
        # the webhook carries the headline and the payload; its detail lines only for a report
        says = SAYS[kind] if channel != "webhook" or kind == "report" else SAYS[kind][:2]
        for words in says:
            assert words in text, (channel, words)
    if kind != "alert":
        assert all("rule:" not in t for t in _texts(p).values())  # a test or a report is about no rule


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_an_sms_names_the_kind_in_one_ascii_message(kind: str) -> None:
    text = sms.message([PAYLOADS[kind]], URL)
    assert len(text) <= sms.MAX_CHARS and text.isascii()
    assert {"alert": "FIRING b1", "test": "TEST monitor", "report": "REPORT monitor: Daily report b1"}[
        kind
    ] in text


def test_an_old_test_row_without_a_kind_is_worded_as_a_test() -> None:
    old = {k: v for k, v in PAYLOADS["test"].items() if k != "notification"} | {"rule": "test"}
    assert kind_of(old) == "test"
    assert "TEST monitor" in telegram.message([old], URL)
