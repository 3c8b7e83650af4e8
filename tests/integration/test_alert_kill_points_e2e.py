"""SIGKILL at many points just after a critical alert fired: never a false all-clear, never a re-fire.

A real ``python -m app`` with a webhook channel, a real ``BotPublisher`` bot over
ZeroMQ that keeps publishing whatever the monitor does, and a local HTTP receiver.
Each cycle: the bot's equity drops 20 % (``max_drawdown`` > 0.10 is critical), the
FIRING reaches the receiver, and the monitor is SIGKILLed a chosen time after that
receipt (most points in the first 50 ms, when the journal has often not committed
the event that fired the alert yet), then started again on the same data directory.
After each restart the alert must be the same one, still firing, and no RESOLVED and
no second FIRING may reach the receiver; the equity then recovers, which ends the
alert with one ordinary RESOLVED, and the next cycle begins.

The restored state may lack the firing's evidence: the alert is then "verifying after
restart" until the bot's missing events are replayed (the collector asks for the gap),
which the test waits for through ``/api/alerts``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import msgspec
import pytest
from werkzeug import Request, Response

from collectors.publisher import BotPublisher
from tests.support.recording_bot import RecordingBot
from tests.support.waiting import wait_until

#: Seconds after the FIRING's receipt at which the monitor is killed: 20 points in the first 50 ms.
KILL_AFTER_S = [i * 0.0025 for i in range(20)] + [0.06, 0.1, 0.2, 0.4]
#: Cycles (by index) in which the monitor is also killed this long after the RESOLVED's receipt:
#: a restored state without the recovery must not start a new episode.
KILL_AFTER_RESOLVED_S = {0: 0.0, 6: 0.005, 12: 0.01, 18: 0.02}
RULE = "max_drawdown"


class _Bot:
    """A bot publishing its equity and health every 20 ms on its own thread."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.equity = 100_000.0
        self.kill_switch = "armed"
        self._stop = threading.Event()
        self.recording: RecordingBot | None = None
        self._thread = threading.Thread(target=self._run, name="kill-points-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            self.recording = RecordingBot(pub)  # what it sent: the uninterrupted run's input
            while not self._stop.is_set():
                now = time.time()
                self.recording.send("account", now, {"equity": self.equity})
                self.recording.send("health", now, {"kill_switch": self.kill_switch})
                self._stop.wait(0.02)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


class _Receiver:
    """The webhook's receiver: keeps every alert body and signals each FIRING of the drawdown rule.

    Like any receiver of the webhook, it drops a notification it already has (same
    ``Idempotency-Key``): a kill between the receipt and the monitor recording it as sent
    makes the restarted monitor send that same notification again (at least once, never lost).
    """

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.keys: set[str] = set()
        self.firing = threading.Event()
        self.resolved = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())["alert"]
        key = request.headers["Idempotency-Key"]
        with self._lock:
            if key in self.keys:  # a redelivery (same Idempotency-Key): acknowledged, kept once
                return Response("ok")
            self.keys.add(key)
            self.bodies.append(body)
        if body["rule"] == RULE and body["kind"] == "firing":
            self.firing.set()
        if body["rule"] == RULE and body["kind"] == "resolved":
            self.resolved.set()
        return Response("ok")

    def of(self, rule: str) -> list[dict]:
        with self._lock:
            return [b for b in self.bodies if b["rule"] == rule]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _catch_up(mon) -> str | None:
    entry = _get(mon.url + "/api/metrics")["collector"]["catch_up"].get("b1")
    return None if entry is None else entry["state"]


def _drawdown_alert(mon) -> dict | None:
    return next((a for a in _get(mon.url + "/api/alerts")["active"] if a["rule"] == RULE), None)


@pytest.fixture
def receiver(httpserver) -> Iterator[tuple[_Receiver, str]]:
    rec = _Receiver()
    httpserver.expect_request("/hook").respond_with_handler(rec)
    yield rec, httpserver.url_for("/hook")


def _settings(url: str) -> str:
    return (
        "alerts:\n"
        f"  channels:\n    hook:\n      type: webhook\n      urls: ['{url}']\n"
        "  routes:\n"
        "    critical: {channels: [hook], repeat_interval_s: 3600}\n"
        "    warning: {channels: []}\n"
        "    info: {channels: []}\n"
    )


def _fire_and_kill(mon, bot: _Bot, rec: _Receiver, after_s: float) -> str:
    """Drop the equity, wait for the FIRING at the receiver, SIGKILL ``after_s`` after it; its alert id."""
    rec.firing.clear()
    bot.equity = 80_000.0
    assert rec.firing.wait(30), "the drawdown alert never fired"
    fired_at = time.monotonic()
    time.sleep(max(0.0, fired_at + after_s - time.monotonic()))
    assert mon.kill() == -9
    return rec.of(RULE)[-1]["alert_id"]


def _after_restart(mon, rec: _Receiver, alert_id: str, sent_before: int) -> None:
    """The same alert still firing once the state caught up; nothing about it reached the receiver."""
    mon.start()
    wait_until(lambda: (a := _drawdown_alert(mon)) is not None and not a["verifying"], timeout=30)
    alert = _drawdown_alert(mon)
    assert (alert["alert_id"], alert["status"]) == (alert_id, "firing")
    metrics = _get(mon.url + "/api/metrics")
    assert metrics["bots"]["b1"]["drawdown"] == pytest.approx(0.2)
    # With the collector's proactive catch-up (collector.catch_up), the bot's catch-up must have
    # ended too; a monitor without it reports no entry and caught up through the gap replay alone.
    if "b1" in metrics["collector"]["catch_up"]:
        wait_until(lambda: _catch_up(mon) in ("done", "lost"), timeout=30)
    assert len(rec.of(RULE)) == sent_before  # no RESOLVED, no second FIRING


def _recover(mon, bot: _Bot, rec: _Receiver, alert_id: str, kill_after_s: float | None) -> None:
    """The equity recovers: one ordinary RESOLVED of that alert (then perhaps a SIGKILL and a restart)."""
    rec.resolved.clear()
    bot.equity = 100_000.0
    assert rec.resolved.wait(30), "the drawdown alert never resolved"
    assert [(b["alert_id"], b["kind"]) for b in rec.of(RULE)][-1] == (alert_id, "resolved")
    if kill_after_s is None:
        return
    resolved_at = time.monotonic()
    time.sleep(max(0.0, resolved_at + kill_after_s - time.monotonic()))
    assert mon.kill() == -9
    mon.start()
    wait_until(lambda: _get(mon.url + "/api/metrics")["bots"]["b1"]["drawdown"] == 0.0, timeout=30)
    assert _drawdown_alert(mon) is None  # no new episode on the older state


def _same_as_an_uninterrupted_run(mon, bot: _Bot) -> None:
    """After 24 kills and as many catch-ups, every figure of the bot equals a monitor that never died."""
    assert bot.recording is not None
    sent = bot.recording.sent
    wait_until(
        lambda: _get(mon.url + "/api/metrics")["bots"]["b1"]["events"]["received"] >= len(sent), timeout=30
    )
    live = _get(mon.url + "/api/metrics")["bots"]["b1"]
    expected = msgspec.json.decode(msgspec.json.encode(bot.recording.reference().metrics().bots["b1"]))
    assert live["events"]["lost"] == 0 and live["events"]["received"] == len(sent)
    for doc in (live, expected):
        for key in ("last_event_age_s", "stale"):  # liveness: wall clock, not the events
            doc.pop(key)
        doc["events"].pop("recovered")  # how the events came (live or replayed), not what they say
    assert live == expected


@pytest.mark.slow
def test_no_false_all_clear_and_no_refire_whatever_the_kill_point(receiver, monitor_process):
    rec, url = receiver
    mon = monitor_process(extra_yaml=_settings(url)).start()
    ids = []
    with _Bot(mon.zmq) as bot:
        wait_until(lambda: "b1" in _get(mon.url + "/api/metrics")["bots"], timeout=30)
        for i, after_s in enumerate(KILL_AFTER_S):
            alert_id = _fire_and_kill(mon, bot, rec, after_s)
            ids.append(alert_id)
            _after_restart(mon, rec, alert_id, sent_before=2 * len(ids) - 1)
            _recover(mon, bot, rec, alert_id, KILL_AFTER_RESOLVED_S.get(i))
        bot.kill_switch = "triggered"  # a last critical alert: whatever was enqueued before it is in
        wait_until(lambda: rec.of("kill_switch"), timeout=30)
    _same_as_an_uninterrupted_run(mon, bot)
    drawdown = rec.of(RULE)
    assert [b["kind"] for b in drawdown] == ["firing", "resolved"] * len(KILL_AFTER_S)
    assert [b["alert_id"] for b in drawdown] == [i for i in ids for _ in range(2)]
    assert len(set(ids)) == len(KILL_AFTER_S)
