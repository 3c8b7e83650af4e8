"""Acceptance scenarios of the alert engine (after Alertmanager's acceptance suite), on a fake clock.

Real pieces throughout: a real Hub fed with real events, the real SQLite outbox
in a temp dir, real HTTP requests to a local server through the real channel
code (webhook via urllib, Slack via slack-sdk).  Only time is fake: the tests
step the clock and call ``pump()`` (one evaluation + one delivery pass).
"""

from __future__ import annotations

from werkzeug import Response

from alerts.read_model import ChannelStatus
from tests.support.alerts import FakeClock, Feed, bodies, kinds, make_service, settings, webhook_channel


def _cfg(httpserver, critical=None, **extra):
    """Hook + Slack on the local server; the stale rule is off unless a test turns it on."""
    extra.setdefault("events", {"stale": False})
    channels = {
        "hook": webhook_channel(httpserver.url_for("/hook")),
        "slack": {"type": "slack", "webhook_url": httpserver.url_for("/slack")},
    }
    routes = {"critical": critical or {"channels": ["hook"]}, "warning": {"channels": ["hook"]}}
    return settings(channels=channels, routes=routes, **extra)


def _hook(httpserver) -> list:
    return [b for r, b in zip(httpserver.log, bodies(httpserver), strict=True) if r[0].path == "/hook"]


def _count(httpserver, path: str) -> int:
    return sum(1 for req, _ in httpserver.log if req.path == path)


def _run(svc, clock, seconds: float, step: float = 0.5, each=None) -> None:
    """Advance the fake clock in steps, evaluating and delivering at every step."""
    end = clock() + seconds
    while clock() < end - 1e-9:
        clock.advance(step)
        if each:
            each()
        svc.pump()


def _ok(httpserver) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/slack").respond_with_data("ok")


def test_fire_then_resolve_sends_exactly_two(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver), tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    _run(svc, clock, 20, each=lambda: feed.health(kill_switch="triggered"))  # many evaluations, same facts
    feed.health(kill_switch="armed")
    _run(svc, clock, 20, each=lambda: feed.health(kill_switch="armed"))
    assert kinds(httpserver) == [("kill_switch", "firing"), ("kill_switch", "resolved")]
    firing, resolved = bodies(httpserver)
    assert firing["alert"]["alert_id"] == resolved["alert"]["alert_id"]
    assert firing["alert"]["severity"] == "critical" and firing["alert"]["bot"] == "b1"
    assert "monitor.test" in firing["dashboard_url"]
    svc.stop()


def test_repeat_after_interval_and_not_before(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["hook"], "repeat_interval_s": 60}), tmp_path)
    feed.health(circuit_breaker="open")
    svc.pump()
    keep = lambda: feed.health(circuit_breaker="open")  # noqa: E731 - the bot keeps reporting
    _run(svc, clock, 59.5, each=keep)
    assert [k for _, k in kinds(httpserver)] == ["firing"]
    _run(svc, clock, 0.5, each=keep)  # t = 60
    assert [k for _, k in kinds(httpserver)] == ["firing", "repeat"]
    _run(svc, clock, 59.5, each=keep)
    assert len(httpserver.log) == 2
    _run(svc, clock, 0.5, each=keep)  # t = 120
    assert [k for _, k in kinds(httpserver)] == ["firing", "repeat", "repeat"]
    svc.stop()


def test_flapping_inside_for_sends_nothing_and_holding_fires(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    rule = {
        "name": "breaker_30s",
        "metric": "health.circuit_breaker",
        "op": "==",
        "value": "open",
        "for": 30,
        "severity": "critical",
    }
    events = {"circuit_breaker": False, "stale": False}
    svc = make_service(feed, _cfg(httpserver, rules=[rule], events=events), tmp_path)
    for _ in range(12):  # open 20 s, closed 5 s: never 30 s in a row
        feed.health(circuit_breaker="open")
        _run(svc, clock, 20, each=feed.health)
        feed.health(circuit_breaker="closed")
        _run(svc, clock, 5, each=feed.health)
    assert httpserver.log == []
    assert svc.status().firing == 0
    feed.health(circuit_breaker="open")
    svc.pump()  # the evaluator runs on the change itself
    _run(svc, clock, 29.5, each=feed.health)
    assert httpserver.log == []
    _run(svc, clock, 0.5, each=feed.health)
    assert kinds(httpserver) == [("breaker_30s", "firing")]
    svc.stop()


def test_reload_and_restart_send_nothing_new(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(httpserver, {"channels": ["hook"], "repeat_interval_s": 600})
    svc = make_service(feed, cfg, tmp_path)
    feed.health(kill_switch="triggered")
    feed.error("exchange rejected all orders")
    svc.pump()
    assert sorted(kinds(httpserver)) == [("critical_error", "firing"), ("kill_switch", "firing")]
    svc.reload(cfg)
    _run(svc, clock, 5)
    changed = _cfg(
        httpserver,
        {"channels": ["hook", "slack"], "repeat_interval_s": 900},
        thresholds={"max_latency_ms": 100},
    )
    svc.reload(changed)  # new routes apply to new alerts only
    _run(svc, clock, 5)
    assert len(httpserver.log) == 2
    svc.stop()
    # restart: a new service on the same data dir, the bot still reporting the same facts
    svc2 = make_service(feed, changed, tmp_path)
    _run(svc2, clock, 5)
    assert len(httpserver.log) == 2
    feed.health(kill_switch="armed")
    _run(svc2, clock, 2)
    # resolved goes to the channels of the policy in force when it fired: the hook only
    assert kinds(httpserver)[2:] == [("kill_switch", "resolved")]
    assert _count(httpserver, "/slack") == 0
    svc2.stop()


def test_retry_until_recovery_without_duplicates(httpserver, tmp_path):
    clock = FakeClock()
    t0 = clock()
    attempts: list[tuple[float, int]] = []

    def flaky(request):
        status = 503 if clock() < t0 + 4.5 else 200
        attempts.append((clock() - t0, status))
        return Response("down" if status == 503 else "ok", status=status)

    httpserver.expect_request("/hook").respond_with_handler(flaky)
    httpserver.expect_request("/slack").respond_with_data("ok")
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["hook", "slack"]}), tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    _run(svc, clock, 30, step=0.1)
    assert [s for _, s in attempts].count(200) == 1
    assert all(s == 503 for t, s in attempts if t < 4.5)
    assert len(attempts) >= 4  # backoff 0.5 s x1.5: several retries before 4.5 s
    t_ok = next(t for t, s in attempts if s == 200)
    assert 4.5 <= t_ok < 4.5 + 3.5  # the next backoff step after recovery
    assert _count(httpserver, "/slack") == 1  # the healthy channel got no duplicate
    failed = [s for _, s in attempts].count(503)  # each failed attempt is counted, none forgotten
    assert svc.status().channels["hook"] == ChannelStatus(
        ok=True, last_error=None, pending=0, dead=0, failed=failed
    )
    svc.stop()


def test_retry_after_is_waited_out_exactly(httpserver, tmp_path):
    clock = FakeClock()
    t0 = clock()
    seen: list[float] = []

    def limited(request):
        seen.append(clock() - t0)
        if len(seen) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "7"})
        return Response("ok")

    httpserver.expect_request("/slack").respond_with_handler(limited)
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["slack"]}), tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    _run(svc, clock, 6.5, step=0.5)
    clock.t = t0 + 6.999
    svc.pump()
    assert seen == [0.0]
    clock.t = t0 + 7.0
    svc.pump()
    assert seen == [0.0, 7.0]
    assert svc.status().channels["slack"].pending == 0
    svc.stop()


def test_permanent_error_is_not_retried_and_is_dead_lettered(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("bad payload", status=400)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["hook"]}), tmp_path)
    feed.health(circuit_breaker="open")
    _run(svc, clock, 120, step=1)
    assert _count(httpserver, "/hook") == 1
    st = svc.status().channels["hook"]
    assert st.dead == 1 and st.pending == 0 and not st.ok and "400" in (st.last_error or "")
    dead = svc.outbox.notifications(status="dead")
    assert len(dead) == 1 and "HTTP 400" in (dead[0].last_error or "")
    svc.stop()


def test_escalation_after_delay_and_not_after_ack(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    route = {
        "channels": ["hook"],
        "escalate": [{"after_s": 300, "channels": ["slack"]}],
        "repeat_interval_s": 900,
    }
    svc = make_service(feed, _cfg(httpserver, route), tmp_path)
    feed.health(bot="b1", kill_switch="triggered")
    feed.health(bot="b2", kill_switch="triggered")
    svc.pump()
    acked = next(a for a in svc.active() if a.bot == "b2")
    clock.advance(100)
    assert svc.ack(acked.alert_id, by="alice")
    assert not svc.ack("no-such-alert", by="alice")

    def keep():
        feed.health(bot="b1", kill_switch="triggered")
        feed.health(bot="b2", kill_switch="triggered")

    _run(svc, clock, 199.5, each=keep)
    assert _count(httpserver, "/slack") == 0
    _run(svc, clock, 0.5, each=keep)  # t = 300
    assert _count(httpserver, "/slack") == 1
    slack_text = httpserver.log[-1][0].get_json()["text"]
    assert "ESCALATED" in slack_text and "b1" in slack_text
    _run(svc, clock, 1200, step=10, each=keep)
    hook = [(b["alert"]["bot"], b["alert"]["kind"]) for b in _hook(httpserver)]
    assert ("b2", "repeat") not in hook and ("b1", "repeat") in hook  # ack also stops repeats
    svc.stop()


def test_undeliverable_critical_fails_over_to_other_channels(httpserver, tmp_path):
    httpserver.expect_request("/hook").respond_with_data("gone", status=503)
    httpserver.expect_request("/slack").respond_with_data("ok")
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(httpserver, {"channels": ["hook"]}, delivery={"failover_after_s": 60})
    svc = make_service(feed, cfg, tmp_path)
    feed.health(kill_switch="triggered")
    _run(svc, clock, 59, step=1)
    assert _count(httpserver, "/slack") == 0
    _run(svc, clock, 2, step=1)
    assert _count(httpserver, "/slack") == 1
    assert "FIRING (failover: no channel confirmed it)" in httpserver.log[-1][0].get_json()["text"] or any(
        "FIRING (failover: no channel confirmed it)" in (req.get_json() or {}).get("text", "")
        for req, _ in httpserver.log
        if req.path == "/slack"
    )
    assert svc.status().delivery_failing is False
    svc.stop()


def test_nothing_can_deliver_raises_the_banner(httpserver, tmp_path, caplog):
    httpserver.expect_request("/hook").respond_with_data("no", status=403)
    httpserver.expect_request("/slack").respond_with_data("no", status=404)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["hook"]}), tmp_path)
    feed.health(kill_switch="triggered")
    _run(svc, clock, 5, step=1)  # hook dead at once -> failover to slack -> dead too
    assert _count(httpserver, "/slack") == 1
    st = svc.status()
    assert st.delivery_failing is True and st.firing == 1
    assert st.channels["hook"].dead == 1 and st.channels["slack"].dead == 1
    assert (st.channels["hook"].failed, st.channels["slack"].failed) == (1, 1)  # GET /metrics counts them
    assert st.firing_by_severity == {"info": 0, "warning": 0, "critical": 1}
    assert "event=alert_delivery_failing alerts=1" in caplog.text
    svc.stop()


def test_flood_is_digested_within_rate_limit_without_loss_or_duplicates(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(httpserver, {"channels": ["slack"]}), tmp_path)
    n = 0
    for second in range(10):  # 200 bots' kill switches fire over 10 s
        for _ in range(20):
            feed.health(bot=f"bot{n:03d}", kill_switch="triggered")
            n += 1
        svc.pump()
        clock.advance(0.5)
        svc.pump()
        clock.advance(0.5)
        assert _count(httpserver, "/slack") <= second + 1
    _run(svc, clock, 10, step=0.25)
    msgs = [req.get_json() for req, _ in httpserver.log]
    assert len(msgs) <= 11
    sections = [b["text"]["text"] for m in msgs for b in m["blocks"] if b["type"] == "section"]
    named = sorted(s.split(" FIRING ")[1].split(":")[0] for s in sections)
    assert named == sorted(f"bot{i:03d}" for i in range(200))  # every alert once, none twice
    assert svc.status().channels["slack"].pending == 0
    svc.stop()


def test_critical_is_not_held_behind_warnings(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(httpserver, {"channels": ["slack"]})
    cfg = settings(
        channels={"slack": {"type": "slack", "webhook_url": httpserver.url_for("/slack")}},
        routes={"critical": {"channels": ["slack"]}, "warning": {"channels": ["slack"]}},
    )
    svc = make_service(feed, cfg, tmp_path)
    for i in range(100):
        feed.health(bot=f"w{i:03d}", apis={"binance": "down"})
    svc.evaluate()
    feed.health(bot="crit", kill_switch="triggered")
    svc.pump()
    first = httpserver.log[0][0].get_json()
    sections = [b["text"]["text"] for b in first["blocks"] if b["type"] == "section"]
    assert "crit" in sections[0] and "CRITICAL" in sections[0]
    svc.stop()


def test_stale_bot_fires_and_survives_restart(httpserver, tmp_path):
    _ok(httpserver)
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(httpserver, {"channels": ["hook"]}, events={})
    svc = make_service(feed, cfg, tmp_path)
    feed.health(kill_switch="armed")
    _run(svc, clock, 30, step=1)
    assert httpserver.log == []
    _run(svc, clock, 2, step=1)
    assert kinds(httpserver) == [("stale", "firing")]
    svc.stop()
    restored = feed.restored()  # the monitor restarted on its saved state: the dead bot is still silent
    svc2 = make_service(restored, cfg, tmp_path)
    _run(svc2, clock, 90, step=1)
    assert [a.rule for a in svc2.active()] == ["stale"] and len(httpserver.log) == 1
    svc2.stop()
