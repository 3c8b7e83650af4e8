"""Step definitions of tests/bdd/features/alerts.feature (pytest-bdd)."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from pytest_bdd import given, parsers, scenarios, then, when

from tests.support.alerts import FakeClock, Feed, free_port, kinds, make_service, settings
from tests.support.channel_fakes import SID, TG_OK, TG_TOKEN, Sink

scenarios("alerts.feature")


class World:
    def __init__(self, httpserver, tmp_path) -> None:
        self.http, self.tmp = httpserver, tmp_path
        self.clock = FakeClock()
        self.feed = Feed(self.clock)
        self.svc = None
        self.smtp = None
        self.cfg: dict = {"events": {"stale": False}}

    def service(self):
        if self.svc is None:
            self.svc = make_service(self.feed, settings(**self.cfg), self.tmp)
        return self.svc


@pytest.fixture
def world(httpserver, tmp_path):
    w = World(httpserver, tmp_path)
    yield w
    if w.svc:
        w.svc.stop()
    if w.smtp:
        w.smtp.stop()


def _all_channels(w: World) -> dict:
    sink = Sink()
    w.smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    w.smtp.start()
    w.sink = sink
    http = w.http
    http.expect_request("/hook").respond_with_data("ok")
    http.expect_request("/slack").respond_with_data("ok")
    http.expect_request(f"/bot{TG_TOKEN}/sendMessage").respond_with_json(TG_OK)
    http.expect_request(f"/2010-04-01/Accounts/{SID}/Messages.json").respond_with_json(
        {"sid": "SM1"}, status=201
    )
    return {
        "webhook": {"type": "webhook", "urls": [http.url_for("/hook")]},
        "slack": {"type": "slack", "webhook_url": http.url_for("/slack")},
        "telegram": {"type": "telegram", "token": TG_TOKEN, "chat_ids": [42], "api_url": http.url_for("")},
        "sms": {
            "type": "sms",
            "account_sid": SID,
            "auth_token": "t",
            "from_number": "+15550000000",
            "to_numbers": ["+15551111111"],
            "api_url": http.url_for("").rstrip("/"),
        },
        "email": {
            "type": "email",
            "host": "127.0.0.1",
            "port": w.smtp.port,
            "ssl": False,
            "starttls": False,
            "sender": "monitor@test.local",
            "recipients": ["ops@test.local"],
        },
    }


@given(parsers.parse("max_latency_ms = {limit:d}"))
def latency_limit(world, limit):
    channels = _all_channels(world)
    world.cfg.update(
        thresholds={"max_latency_ms": limit},
        channels=channels,
        routes={"warning": {"channels": list(channels)}},
    )


@given(parsers.parse("a trade execution took {ms:d} ms"))
def slow_trade(world, ms):
    world.feed.latency(ms, op="submit")


@given("critical alerts are routed to the webhook")
def route_webhook(world):
    world.http.expect_request("/hook").respond_with_data("ok")
    world.cfg.update(
        channels={"webhook": {"type": "webhook", "urls": [world.http.url_for("/hook")]}},
        routes={"critical": {"channels": ["webhook"]}},
    )


@given(parsers.parse("critical alerts go to the webhook and escalate to Slack after {after:d} seconds"))
def route_escalation(world, after):
    world.http.expect_request("/hook").respond_with_data("ok")
    world.http.expect_request("/slack").respond_with_data("ok")
    world.cfg.update(
        channels={
            "webhook": {"type": "webhook", "urls": [world.http.url_for("/hook")]},
            "slack": {"type": "slack", "webhook_url": world.http.url_for("/slack")},
        },
        routes={
            "critical": {"channels": ["webhook"], "escalate": [{"after_s": after, "channels": ["slack"]}]}
        },
    )


@when(parsers.parse('bot "{bot}" reports its kill switch "{state}"'))
def kill_switch(world, bot, state):
    world.feed.health(bot=bot, kill_switch=state)


@when("metrics are evaluated")
def evaluate(world):
    world.service().pump()


@when(parsers.parse("metrics are evaluated for {seconds:d} seconds"))
def evaluate_for(world, seconds):
    svc = world.service()
    svc.pump()
    for _ in range(seconds):
        world.clock.advance(1)
        svc.pump()


@when(parsers.parse('the alert is acknowledged by "{who}"'))
def acknowledge(world, who):
    (alert,) = world.service().active()
    assert world.service().ack(alert.alert_id, by=who)


@then("an alert is sent via each configured channel")
def sent_everywhere(world):
    paths = sorted(req.path for req, _ in world.http.log)
    assert paths == sorted(
        ["/hook", "/slack", f"/bot{TG_TOKEN}/sendMessage", f"/2010-04-01/Accounts/{SID}/Messages.json"]
    )
    assert len(world.sink.messages) == 1
    assert all("350" in req.get_data(as_text=True) for req, _ in world.http.log)
    assert world.service().status().firing == 1


@then(parsers.parse('the webhook has received "{expected}"'))
def webhook_received(world, expected):
    assert [k for _, k in kinds(world.http)] == expected.split(",")


@then(parsers.parse("Slack has received {n:d} messages"))
def slack_received(world, n):
    assert sum(1 for req, _ in world.http.log if req.path == "/slack") == n
