"""Messages a bot cannot turn against the channel: real slack-sdk, a real SMTP server, the real outbox.

Bot-provided text (its id, labels, error messages) reaches every message; none of it may
ping a Slack channel, forge a link, break an e-mail header, or hold back other alerts.
"""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from aiosmtpd.controller import Controller

from alerts.channels import build
from alerts.channels.base import DELIVERED
from alerts.delivery import ChannelWorker, RateLimiter
from alerts.outbox import NewRow, Outbox, Row
from tests.support.alerts import free_port, settings
from tests.support.channel_fakes import Sink

HOSTILE = "<!channel> see <http://evil.example|your bank> *now* & _act_"


def payload(alert_id: str = "a1", **kw: object) -> dict:
    base = {
        "alert_id": alert_id,
        "kind": "firing",
        "severity": "critical",
        "rule": "critical_error",
        "bot": "b1",
        "labels": {},
        "summary": "critical error",
        "since": 1.7e9,
        "fired_at": 1.7e9,
        "now": 1.7e9 + 5,
    }
    return {**base, **kw}


def row(p: dict, i: int = 1) -> Row:
    return Row(i, f"{p['alert_id']}:firing:0:x:0", p["alert_id"], "x", "default", "firing", 0, p, 1.7e9, 1)


def channel(**cfg):
    return build(settings(channels={"x": cfg}), "http://dash.test")["x"]


def _posted(httpserver) -> dict:
    req = httpserver.log[0][0]
    if req.is_json:
        return req.get_json()
    sent = dict(req.form)
    return {k: (json.loads(v) if k == "blocks" else v) for k, v in sent.items()}


@pytest.mark.parametrize("where", ["bot", "summary"])
def test_slack_mentions_and_links_from_a_bot_arrive_as_literal_text(httpserver, where: str) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": True, "ts": "1.2"})
    ch = channel(
        type="slack", token="xoxb-test-token", channel="#alerts", api_url=httpserver.url_for("/api/")
    )
    p = payload(**{where: HOSTILE})
    assert ch.send("default", [row(p), row(payload("a2"), 2)]).status == DELIVERED  # text + blocks
    sent = _posted(httpserver)
    mrkdwn = [sent["text"]] + [
        b["text"]["text"] for b in sent["blocks"] if b["type"] == "section" and b["text"]["type"] == "mrkdwn"
    ]
    hostile = [t for t in mrkdwn if "channel" in t]
    assert len(hostile) == 2, mrkdwn  # the top-level text and the alert's section
    for text in hostile:
        assert "<!channel>" not in text and "<http://evil.example|" not in text
        assert "&lt;!channel&gt;" in text and "&lt;http://evil.example|your bank&gt;" in text
        assert "*now*" not in text and "_act_" not in text  # no bold or italic of the bot's choosing
        assert "&amp;" in text


def test_a_newline_in_a_bot_name_does_not_break_the_email_subject() -> None:
    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        ch = channel(
            type="email",
            host="127.0.0.1",
            port=ctl.port,
            starttls=False,
            sender="monitor@test.local",
            recipients=["ops@test.local"],
        )
        p = payload(bot="b1\r\nBcc: victim@evil.example\nX-Injected: 1", summary="line\u2028two")
        assert ch.send("recipients", [row(p)]).status == DELIVERED
    finally:
        ctl.stop()
    ((rcpts, raw),) = sink.messages
    assert rcpts == ["ops@test.local"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["X-Injected"] is None and msg["Bcc"] is None
    assert msg["Subject"] == "[CRITICAL] FIRING b1 Bcc: victim@evil.example X-Injected: 1: line two"


def test_a_row_that_cannot_be_built_is_dead_lettered_alone_and_the_digest_goes_out(
    httpserver, tmp_path
) -> None:
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": True, "ts": "1.2"})
    ch = channel(
        type="slack", token="xoxb-test-token", channel="#alerts", api_url=httpserver.url_for("/api/")
    )
    outbox = Outbox(str(tmp_path))
    good = [payload(f"ok{i}") for i in range(3)]
    broken = payload("broken", fired_at="yesterday")  # no template can render this (a time that is text)
    rows = [
        NewRow(f"{p['alert_id']}:firing", p["alert_id"], "x", "default", "firing", "critical", p)
        for p in [good[0], broken, *good[1:]]
    ]
    outbox.write([], rows, 1.7e9)
    worker = ChannelWorker(ch, outbox, RateLimiter(), settings().delivery, lambda: 1.7e9 + 1)
    worker.run_once()
    by_alert = {n.alert_id: n for n in outbox.notifications()}
    assert by_alert["broken"].status == "dead", by_alert["broken"]
    assert "message could not be built" in (by_alert["broken"].last_error or "")
    assert all(by_alert[p["alert_id"]].status == "sent" for p in good)
    assert len(httpserver.log) == 1  # one digest with the three good alerts
    digest = json.dumps(_posted(httpserver)["blocks"])
    assert all(p["alert_id"] in digest for p in good) and "broken" not in digest
    assert worker.run_once() is None  # nothing left to retry
    outbox.close()
