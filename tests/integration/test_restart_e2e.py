"""End to end: a real ``python -m app`` killed with SIGKILL over real ZeroMQ comes back with every number.

The bot publishes the first part of a session, the monitor commits it (its journal says
nothing is uncommitted) and is killed with SIGKILL; a new monitor starts on the same data
directory, the bot publishes the rest, and every value of /api/metrics and /api/state equals
what an uninterrupted store shows for the whole session, except the wall-clock figures
(ages, arrival times, rates, the process itself).  A SIGTERM then leaves a final
checkpoint: the next start replays nothing and shows the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.hub import Hub
from collectors.events import Rejected, decode
from core.config import CoreConfig
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of
from tests.support.durability import RawBot, new_hub, wire_session
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

WALL_CLOCK_BOT_FIELDS = ("last_event_age_s", "stale")


def comparable_metrics(doc: dict[str, Any]) -> dict[str, Any]:
    bots = {
        name: {k: v for k, v in bot.items() if k not in WALL_CLOCK_BOT_FIELDS}
        for name, bot in doc["bots"].items()
    }
    collector = {k: doc["collector"][k] for k in ("received", "rejected", "rejected_by_reason")}
    return {"bots": bots, "total": doc["total"], "collector": collector}


def comparable_state(doc: dict[str, Any]) -> dict[str, Any]:
    rejects = [{k: v for k, v in r.items() if k != "at"} for r in doc["recent_rejects"]]
    return {**doc, "recent_rejects": rejects}


def reference(messages: list[tuple[bytes, bytes]]) -> tuple[dict, dict]:
    """The uninterrupted run: the same messages, decoded and applied as the collector does."""
    clock = FakeClock()
    hub = new_hub_default(clock)
    for topic, payload in messages:
        try:
            item: Any = decode(topic, payload)
        except Rejected as rej:
            item = (rej, topic.decode(), payload)
        hub.apply_batch([item], received=1)
    metrics = comparable_metrics(metrics_of(hub))
    return metrics, {bot: comparable_state(state_of(hub, bot)) for bot in hub.bots()}


def new_hub_default(clock: FakeClock) -> Hub:
    return new_hub(clock, StateStore(CoreConfig(), clock))


def journal_settled(url: str, received: int) -> bool:
    _, doc = get_json(url + "/api/metrics")
    journal = doc["persistence"]["journal"]
    return doc["collector"]["received"] == received and journal["uncommitted"] == 0 and journal["queued"] == 0


def test_sigkill_then_restart_shows_every_number_of_an_uninterrupted_run(tmp_path: Path) -> None:
    session = wire_session(24)
    first = [(t, p) for r, t, p in session if r < 12]
    rest = [(t, p) for r, t, p in session if r >= 12]
    monitor = MonitorProcess(tmp_path).start()
    bot = RawBot(monitor.zmq)
    try:
        bot.wait_subscribed()
        for topic, payload in first:
            bot.send(topic, payload)
        wait_until(lambda: journal_settled(monitor.url, len(first)), timeout=20)
        assert monitor.kill() == -9

        monitor.start()  # same data directory, same ports
        _, doc = get_json(monitor.url + "/api/metrics")
        restored = doc["persistence"]["restore"]
        assert restored["journal_events"] == len(first) and restored["problems"] == []
        bot.wait_subscribed()
        for topic, payload in rest:
            bot.send(topic, payload)
        wait_until(lambda: received(monitor.url) == len(session), timeout=20)

        metrics, states = reference(first + rest)
        _, live = get_json(monitor.url + "/api/metrics")
        assert comparable_metrics(live) == metrics
        assert live["bots"]["b1"]["closed_trades"] > 0 and live["collector"]["rejected"] == 8
        for name, expected in states.items():
            code, state = get_json(f"{monitor.url}/api/state?bot={name}")
            assert code == 200
            assert comparable_state(state) == expected

        assert monitor.stop() == 0  # SIGTERM: everything written and checkpointed
        monitor.start()
        _, again = get_json(monitor.url + "/api/metrics")
        restored = again["persistence"]["restore"]
        assert restored["snapshot"] is not None and restored["journal_events"] == 0
        assert comparable_metrics(again) == metrics
    finally:
        bot.close()
        monitor.stop()


def received(url: str) -> int:
    _, doc = get_json(url + "/api/metrics")
    return doc["collector"]["received"]
