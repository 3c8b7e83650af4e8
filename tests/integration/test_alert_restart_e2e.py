"""A critical alert firing before a SIGKILL is neither re-sent nor resolved after the restart.

A real ``python -m app`` with a webhook channel; a real ``BotPublisher`` bot in a
20 % drawdown (``max_drawdown`` > 0.10 is critical) that keeps publishing while the
monitor is killed with SIGKILL and started again on the same data directory.
The restarted monitor restores its state (the equity peak with it), so the
drawdown is still true: nothing is sent.  When the bot's equity recovers, exactly
one ordinary RESOLVED arrives, with the id and ``fired_at`` of the first firing.

"Nothing arrived" is proved, not waited for: a second critical alert (a sentinel)
is raised after each phase, and the webhook worker delivers in enqueue order, so
once the sentinel is in, anything the evaluator enqueued before it is in too.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from collectors.publisher import BotPublisher
from tests.support.waiting import wait_until


class _Bot:
    """A bot publishing its equity and health every 50 ms on its own thread, whatever the monitor does."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.equity = 100_000.0
        self.kill_switch = "armed"
        self.breaker = "closed"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            while not self._stop.is_set():
                pub.account(self.equity)
                pub.health(kill_switch=self.kill_switch, circuit_breaker=self.breaker)
                self._stop.wait(0.05)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _bodies(server) -> list[dict]:
    return [json.loads(req.get_data())["alert"] for req, _ in server.log]


def _has(server, rule: str, kind: str) -> bool:
    return any(b["rule"] == rule and b["kind"] == kind for b in _bodies(server))


def _metrics(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/metrics", timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def hook(httpserver) -> Iterator:
    httpserver.expect_request("/hook").respond_with_data("ok")
    yield httpserver


@pytest.mark.slow
def test_critical_alert_survives_sigkill_without_resend_or_false_resolve(hook, monitor_process):
    mon = monitor_process(
        extra_yaml=(
            "alerts:\n"
            f"  channels:\n    hook:\n      type: webhook\n      urls: ['{hook.url_for('/hook')}']\n"
            "  routes:\n"
            "    critical: {channels: [hook], repeat_interval_s: 3600}\n"
            "    warning: {channels: []}\n"
            "    info: {channels: []}\n"
            # the drawdown is the one critical alert here: the bot's armed kill switch would add
            # "protection did not act" (docs/alerts.md, Safety invariants), not what is tested
            "  safety: {protection_missed: false}\n"
        )
    ).start()
    with _Bot(mon.zmq) as bot:
        wait_until(lambda: "b1" in _metrics(mon.url)["bots"], timeout=30)
        bot.equity = 80_000.0
        wait_until(lambda: _has(hook, "max_drawdown", "firing"), timeout=30)
        fired = time.time()
        # what the restart restores is what the journal committed: wait for a commit after the firing
        wait_until(
            lambda: (_metrics(mon.url)["persistence"]["journal"]["last_commit_at"] or 0) > fired, timeout=30
        )
        assert mon.kill() == -9
        mon.start()  # same ports, same data directory; the bot never stopped publishing

        bot.kill_switch = "triggered"  # sentinel: evaluated after the restart with the drawdown still true
        wait_until(lambda: _has(hook, "kill_switch", "firing"), timeout=30)
        assert _metrics(mon.url)["bots"]["b1"]["drawdown"] == pytest.approx(0.2)
        assert [(b["rule"], b["kind"]) for b in _bodies(hook)] == [
            ("max_drawdown", "firing"),
            ("kill_switch", "firing"),
        ]

        bot.equity = 100_000.0  # the drawdown ends: one ordinary resolve
        wait_until(lambda: _has(hook, "max_drawdown", "resolved"), timeout=30)
        bot.breaker = "open"  # second sentinel: anything enqueued with the resolve is in by now
        wait_until(lambda: _has(hook, "circuit_breaker", "firing"), timeout=30)
    drawdown = [b for b in _bodies(hook) if b["rule"] == "max_drawdown"]
    assert [b["kind"] for b in drawdown] == ["firing", "resolved"]
    first, resolved = drawdown
    assert (resolved["alert_id"], resolved["fired_at"]) == (first["alert_id"], first["fired_at"])
    assert "after_restart" not in resolved  # it was seen true after the restart: an ordinary resolve
