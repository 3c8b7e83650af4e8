"""Each channel through its real SDK against a real local server: results, limits, formatting, secrets."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import re
from email import policy

import pytest
from aiosmtpd.controller import Controller
from werkzeug import Response

from alerts.channels import build, slack, sms, telegram
from alerts.channels.base import DELIVERED, PERMANENT, TRANSIENT
from alerts.outbox import Row
from tests.support.alerts import free_port, settings
from tests.support.channel_fakes import SID, TG_OK, TG_TOKEN, Sink

PAYLOAD = {
    "alert_id": "a1",
    "kind": "firing",
    "severity": "critical",
    "rule": "critical_error",
    "bot": "b1",
    "labels": {},
    "summary": "critical error: exchange: <script>alert(1)</script> & co",
    "value": None,
    "threshold": None,
    "op": None,
    "since": 1.7e9,
    "fired_at": 1.7e9,
    "resolved_at": None,
    "acked_by": None,
    "now": 1.7e9 + 65,
}


def row(payload=PAYLOAD, idem="a1:firing:0:x:0", i=1) -> Row:
    return Row(i, idem, payload["alert_id"], "x", "default", payload["kind"], 0, payload, 1.7e9, 1)


def channel(**cfg):
    return build(settings(channels={"x": cfg}), "http://dash.test")["x"]


# ---- webhook ------------------------------------------------------------
def test_webhook_signs_and_sends_idempotency_key(httpserver):
    httpserver.expect_request("/h").respond_with_data("ok")
    ch = channel(type="webhook", urls=[httpserver.url_for("/h")], hmac_secret="s3cret")
    assert ch.send("0", [row()]).status == DELIVERED
    req = httpserver.log[0][0]
    assert req.headers["Idempotency-Key"] == "a1:firing:0:x:0"
    expected = "sha256=" + hmac.new(b"s3cret", req.get_data(), hashlib.sha256).hexdigest()
    assert req.headers["X-Alert-Signature"] == expected
    body = json.loads(req.get_data())
    assert body["alert"]["bot"] == "b1" and body["idempotency_key"] == "a1:firing:0:x:0"


@pytest.mark.parametrize(
    ("status", "headers", "expect", "retry"),
    [
        (503, {}, TRANSIENT, None),
        (429, {"Retry-After": "12"}, TRANSIENT, 12.0),
        (404, {}, PERMANENT, None),
        (401, {}, PERMANENT, None),
    ],
)
def test_webhook_classifies_http_errors(httpserver, status, headers, expect, retry):
    httpserver.expect_request("/h").respond_with_response(Response("x", status=status, headers=headers))
    res = channel(type="webhook", urls=[httpserver.url_for("/h")]).send("0", [row()])
    assert (res.status, res.retry_after) == (expect, retry)


def test_connection_refused_is_transient():
    res = channel(type="webhook", urls=[f"http://127.0.0.1:{free_port()}/h"], timeout_s=2).send("0", [row()])
    assert res.status == TRANSIENT


# ---- slack --------------------------------------------------------------
def test_slack_web_api_with_token(httpserver):
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": True, "ts": "1.2"})
    ch = channel(
        type="slack", token="xoxb-test-token", channel="#alerts", api_url=httpserver.url_for("/api/")
    )
    assert ch.send("default", [row()]).status == DELIVERED
    req = httpserver.log[0][0]
    assert req.headers["Authorization"] == "Bearer xoxb-test-token"
    sent = req.get_json() if req.is_json else dict(req.form)
    assert sent["channel"] == "#alerts"
    blocks = sent["blocks"] if isinstance(sent["blocks"], list) else json.loads(sent["blocks"])
    assert "&lt;script&gt;" in json.dumps(blocks)  # bot text escaped for mrkdwn


@pytest.mark.parametrize(
    ("status", "body", "headers", "expect", "retry"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}, TRANSIENT, 3.0),
        (200, {"ok": False, "error": "channel_not_found"}, {}, PERMANENT, None),
        (200, {"ok": False, "error": "internal_error"}, {}, TRANSIENT, None),
    ],
)
def test_slack_web_api_errors(httpserver, status, body, headers, expect, retry):
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(body, status=status, headers=headers)
    ch = channel(type="slack", token="xoxb-t", channel="#a", api_url=httpserver.url_for("/api/"))
    res = ch.send("default", [row()])
    assert (res.status, res.retry_after) == (expect, retry)


def test_slack_webhook_429_and_404(httpserver):
    httpserver.expect_ordered_request("/s").respond_with_response(
        Response("rate_limited", status=429, headers={"Retry-After": "30"})
    )
    httpserver.expect_ordered_request("/s").respond_with_data("no_service", status=404)
    ch = channel(type="slack", webhook_url=httpserver.url_for("/s"))
    first, second = ch.send("default", [row()]), ch.send("default", [row()])
    assert (first.status, first.retry_after) == (TRANSIENT, 30.0)
    assert second.status == PERMANENT


# ---- email --------------------------------------------------------------
@pytest.fixture
def smtp():
    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield sink, ctl.port
    ctl.stop()


def _email_channel(port):
    return channel(
        type="email",
        host="127.0.0.1",
        port=port,
        ssl=False,
        starttls=False,
        sender="monitor@test.local",
        recipients=["ops@test.local", "cto@test.local"],
    )


def test_email_text_and_html_over_real_smtp(smtp):
    sink, port = smtp
    assert _email_channel(port).send("recipients", [row()]).status == DELIVERED
    ((rcpts, raw),) = sink.messages
    assert sorted(rcpts) == ["cto@test.local", "ops@test.local"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert "[CRITICAL] FIRING b1" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "<script>" in text and "&lt;script&gt;" in html and "<script>" not in html
    assert "http://dash.test" in html and "since 14 Nov 2023" in text


@pytest.mark.parametrize(("reply", "expect"), [("451 try later", TRANSIENT), ("554 rejected", PERMANENT)])
def test_email_smtp_4xx_transient_5xx_permanent(smtp, reply, expect):
    sink, port = smtp
    sink.reply = reply
    assert _email_channel(port).send("recipients", [row()]).status == expect


def test_email_server_down_is_transient():
    assert _email_channel(free_port()).send("recipients", [row()]).status == TRANSIENT


# ---- telegram -----------------------------------------------------------


def _tg(httpserver):
    return channel(type="telegram", token=TG_TOKEN, chat_ids=[42, -100], api_url=httpserver.url_for(""))


def test_telegram_sends_html_on_its_own_loop(httpserver):
    httpserver.expect_request(f"/bot{TG_TOKEN}/sendMessage").respond_with_json(TG_OK)
    ch = _tg(httpserver)
    assert ch.send("42", [row()]).status == DELIVERED
    assert ch.send("42", [row()]).status == DELIVERED  # the private loop is reusable
    sent = httpserver.log[0][0]
    data = sent.get_json() if sent.is_json else dict(sent.form)
    assert str(data["chat_id"]) == "42" and data["parse_mode"] == "HTML"
    assert "&lt;script&gt;" in data["text"] and "<b>" in data["text"]
    ch.close()


@pytest.mark.parametrize(
    ("status", "body", "expect", "retry"),
    [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 5",
                "parameters": {"retry_after": 5},
            },
            TRANSIENT,
            5.0,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
            PERMANENT,
            None,
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, TRANSIENT, None),
    ],
)
def test_telegram_errors(httpserver, status, body, expect, retry):
    httpserver.expect_request(f"/bot{TG_TOKEN}/sendMessage").respond_with_json(body, status=status)
    ch = _tg(httpserver)
    res = ch.send("42", [row()])
    assert (res.status, res.retry_after) == (expect, retry)
    ch.close()


def test_telegram_limits_per_chat_group_and_bot(httpserver):
    ch = _tg(httpserver)
    keys = {lim.key: lim.rate for lim in ch.limits("-100")}
    assert keys == {"x:-100": 1.0, "x:*": 30.0, "x:-100:group": 20 / 60}
    ch.close()


def test_telegram_token_never_leaks_into_status(httpserver, tmp_path, caplog):
    caplog.set_level("DEBUG")
    from alerts.delivery import ChannelWorker, RateLimiter
    from alerts.outbox import Outbox

    httpserver.expect_request(f"/bot{TG_TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    ch = _tg(httpserver)
    w = ChannelWorker(ch, Outbox(str(tmp_path)), RateLimiter(), settings().delivery, lambda: 0.0)
    w._record("42", [row()], ch.send("42", [row()]), [])
    assert w.health.last_error and TG_TOKEN not in w.health.last_error
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # the fake server's own log
    assert ours and not any(TG_TOKEN in m for m in ours)
    ch.close()


# ---- sms (Twilio) -------------------------------------------------------


def _sms(httpserver):
    return channel(
        type="sms",
        account_sid=SID,
        auth_token="tw-secret",
        from_number="+15550000000",
        to_numbers=["+15551111111"],
        api_url=httpserver.url_for("").rstrip("/"),
    )


def test_sms_through_twilio_sdk_within_160_chars(httpserver):
    httpserver.expect_request(f"/2010-04-01/Accounts/{SID}/Messages.json", method="POST").respond_with_json(
        {"sid": "SM1", "status": "queued", "body": "x"}, status=201
    )
    long = dict(PAYLOAD, summary="critical error: " + "é" * 400)
    assert _sms(httpserver).send("+15551111111", [row(long)]).status == DELIVERED
    form = httpserver.log[0][0].form
    assert form["To"] == "+15551111111" and form["From"] == "+15550000000"
    assert len(form["Body"]) <= 160 and form["Body"].isascii()


@pytest.mark.parametrize(
    ("status", "code", "expect"), [(429, 20429, TRANSIENT), (400, 21211, PERMANENT), (500, 20500, TRANSIENT)]
)
def test_sms_errors(httpserver, status, code, expect):
    httpserver.expect_request(f"/2010-04-01/Accounts/{SID}/Messages.json").respond_with_json(
        {"code": code, "message": "nope", "status": status}, status=status
    )
    assert _sms(httpserver).send("+15551111111", [row()]).status == expect


# ---- formatting limits --------------------------------------------------
def _many(n, summary_len=400):
    return [
        dict(PAYLOAD, alert_id=f"a{i}", bot=f"bot{i}", summary="<b>&" * (summary_len // 4)) for i in range(n)
    ]


def test_telegram_digest_trims_whole_blocks_never_cutting_markup():
    t = telegram.message(_many(60), "http://d")
    assert len(t) <= telegram.MAX_CHARS
    assert (
        t.count("<b>") == t.count("</b>") == t.count("\U0001f6a8") and t.count("<a ") == t.count("</a>") == 1
    )
    assert not re.search(r"<[^>]*$", t)
    shown = t.count("\U0001f6a8")
    assert 0 < shown < 60 and f"and {60 - shown} more" in t


def test_slack_and_sms_limits():
    msg = slack.message(_many(80, 6000), "http://d")
    assert len(msg["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in msg["blocks"] if b["type"] == "section")
    assert "more on the dashboard" in json.dumps(msg["blocks"])
    assert len(sms.message(_many(5), "http://dashboard.example/very/long/path" * 5)) <= 160
