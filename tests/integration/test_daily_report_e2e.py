"""The daily report from a real ``python -m app``: once per cut-off across a SIGKILL, late after a stop.

A real monitor in Asia/Tokyo (not UTC) with a webhook channel on the warning route (the report's
default); the fake clock is out of reach in a subprocess, so the cut-off (``reports.daily.at``,
``HH:MM:SS``) is set a few seconds ahead of now in that zone.  "No second report" is proved, not
waited for: after the restart a critical alert (a sentinel) goes to the same webhook, whose worker
delivers in enqueue order, and the catch-up at start runs before any bot event is evaluated.
A receiver counts a report once per ``Idempotency-Key`` (as every receiver of the outbox does): a
kill between its receipt and the outbox's "sent" record re-sends that same report, same key.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from alerts import report as rep
from collectors.publisher import BotPublisher
from core.documents import BotMetrics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

ZONE = "Asia/Tokyo"


class _Bot:
    """A bot publishing its equity and kill switch every 50 ms, whatever the monitor does."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.kill_switch = "armed"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-report-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            while not self._stop.is_set():
                pub.account(100_000.0, currency="USD")
                pub.health(kill_switch=self.kill_switch)
                self._stop.wait(0.05)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def hook(httpserver) -> Iterator:
    httpserver.expect_request("/hook").respond_with_data("ok")
    yield httpserver


def _cutoff_in(seconds: float) -> tuple[str, float]:
    """``reports.daily.at`` a whole number of seconds ahead in the zone, and that instant."""
    at = int(time.time() + seconds) + 1
    return datetime.fromtimestamp(at, ZoneInfo(ZONE)).strftime("%H:%M:%S"), float(at)


def _yaml(hook, at: str) -> str:
    return (
        f"metrics:\n  timezone: {ZONE}\n"
        f"reports:\n  daily:\n    at: '{at}'\n"
        "alerts:\n"
        f"  channels:\n    hook:\n      type: webhook\n      urls: ['{hook.url_for('/hook')}']\n"
        "  routes:\n"
        "    critical: {channels: [hook], repeat_interval_s: 3600}\n"
        "    warning: {channels: [hook]}\n"
        "    info: {channels: []}\n"
        "  events: {stale: false}\n"
    )


def _bodies(server) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in server.log]


def _reports(server) -> list[dict]:
    return [b for b in _bodies(server) if b["kind"] == "report"]


def _metrics(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/metrics", timeout=5) as resp:
        return json.loads(resp.read())


def test_one_report_at_the_cutoff_and_none_again_after_a_sigkill(hook, monitor_process) -> None:
    at, cutoff = _cutoff_in(10.0)
    mon = monitor_process(extra_yaml=_yaml(hook, at)).start()
    with _Bot(mon.zmq) as bot:
        wait_until(lambda: "b1" in _metrics(mon.url)["bots"], timeout=30)
        assert time.time() < cutoff, "the monitor must be up before the cut-off"
        wait_until(lambda: _reports(hook), timeout=40)
        (body,) = _reports(hook)
        day = rep.report_date(cutoff, ZoneInfo(ZONE)).isoformat()
        assert body["idempotency_key"].startswith(f"report:daily:{day}:")
        assert body["text"].startswith(f"[REPORT] Daily report {day} (cut-off ")
        assert "LATE" not in body["text"]
        # the figures are /api/metrics's (they do not move: the bot repeats the same equity)
        m = msgspec.convert(_metrics(mon.url)["bots"]["b1"], BotMetrics)
        lines = {x["label"]: x["value"] for x in body["alert"]["report"]["lines"]}
        for expected in rep.bot_lines("b1", m)[:3]:
            assert lines[expected.label] == expected.value
        assert lines["Total USD"].startswith("realized 0.00 USD")
        assert mon.kill() == -9  # right after the cut-off
        mon.start()
        bot.kill_switch = "triggered"  # sentinel: enqueued after anything the restart would send
        wait_until(lambda: any(b["alert"].get("rule") == "kill_switch" for b in _bodies(hook)), timeout=30)
    assert {b["idempotency_key"] for b in _reports(hook)} == {body["idempotency_key"]}


def test_a_cutoff_missed_while_down_is_sent_late_at_the_next_start(hook, monitor_process) -> None:
    at, cutoff = _cutoff_in(12.0)
    mon = monitor_process(extra_yaml=_yaml(hook, at)).start()
    assert mon.stop() == 0
    assert time.time() < cutoff, "the monitor must be down at the cut-off"
    wait_until(lambda: time.time() > cutoff + 0.5, timeout=30)
    assert _reports(hook) == []
    mon.start()
    wait_until(lambda: _reports(hook), timeout=30)
    (body,) = _reports(hook)
    day = rep.report_date(cutoff, ZoneInfo(ZONE)).isoformat()
    assert f"Daily report {day}" in body["text"] and "LATE" in body["text"]
    assert body["idempotency_key"].startswith(f"report:daily:{day}:")
