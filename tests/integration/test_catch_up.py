"""A monitor that comes back catches up at once, and a bot restarted meanwhile is never mixed up.

Real monitors (``app.runtime.Monitor``, journal on, restored from the same data
directory) and real ``BotPublisher`` bots over ZeroMQ TCP.  The bots bind and the
monitor connects, so what a bot sends while the monitor is down is dropped by
ZeroMQ for sure (no peer) and only the replay protocol can bring it back.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import pytest
import zmq

from app.dashboard.health_tab import Rates, events_table
from app.hub import Hub
from app.runtime import Monitor
from app.settings import load_settings
from collectors.events import decode
from collectors.publisher import BotPublisher, NotConnected
from core.config import CoreConfig
from core.store import StateStore
from tests.support.ports import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

T0 = 1_800_000_000.0
SETTINGS = """\
collector:
  endpoints:
    - {{url: "tcp://127.0.0.1:{port}", mode: connect}}
  recovery_timeout_s: {timeout}
storage:
  data_dir: {data}
"""


def _monitor(tmp_path: Path, port: int, timeout_s: float = 2.0) -> Monitor:
    path = tmp_path / "settings.yaml"
    path.write_text(SETTINGS.format(port=port, data=tmp_path / "data", timeout=timeout_s))
    return Monitor(load_settings(path))


def _bot(name: str, port: int) -> BotPublisher:
    """A bot that binds (retrying while the port of its previous run is being released)."""
    made: list[BotPublisher] = []

    def bound() -> bool:
        try:
            made.append(BotPublisher(name, f"tcp://127.0.0.1:{port}", bind=True, connect_timeout=0))
        except zmq.ZMQError:
            return False
        return True

    wait_until(bound)
    return made[0]


def _subscribed(pub: BotPublisher) -> bool:
    try:
        pub.wait_connected(0.05)
    except NotConnected:
        return False
    return True


def _truth(*pubs: BotPublisher | list) -> Hub:
    """A monitor that saw every event every run of the bot sent, in order (publishers or buffer copies)."""
    hub = Hub(StateStore(CoreConfig(), time.time))
    for pub in pubs:
        for _, _, topic, payload in list(pub._buffer if isinstance(pub, BotPublisher) else pub):
            hub.apply(decode(topic, payload))
    return hub


def _comparable(hub: Hub, bot: str) -> tuple[dict, dict]:
    metrics = msgspec.to_builtins(hub.metrics().bots[bot])
    for key in ("last_event_age_s", "stale"):
        metrics.pop(key)
    metrics["events"].pop("recovered")
    return metrics, msgspec.to_builtins(hub.state(bot))


def _fills(pub: BotPublisher, side: str, n: int, start: int) -> None:
    for i in range(start, start + n):
        pub.fill(f"{pub.run}-f{i}", f"o{i}", "BTC", side, 5.0, 100.0 + i, fee=0.1, ts=T0 + i)


def _received(monitor: Monitor, bot: str) -> int:
    doc = monitor.hub.metrics().bots.get(bot)
    return doc.events.received if doc else 0


def test_a_monitor_back_from_a_stop_catches_up_at_once_without_a_new_event(tmp_path: Path) -> None:
    port = free_port()
    pub = _bot("cu-bot", port)
    first = _monitor(tmp_path, port)
    second = None
    try:
        first.start()
        wait_until(lambda: _subscribed(pub))
        _fills(pub, "buy", 10, 0)
        wait_until(lambda: _received(first, "cu-bot") == 10)
        first.stop()
        _fills(pub, "sell", 4, 10)  # nobody listens: ZeroMQ drops these, the bot keeps them
        second = _monitor(tmp_path, port)
        catch_up = second.hub.metrics().collector.catch_up
        assert catch_up["cu-bot"].state == "asking"  # from the first read, before any thread runs
        second.start()
        # the bot sends nothing new: the monitor asked for what it missed by itself
        wait_until(lambda: second.hub.metrics().collector.catch_up["cu-bot"].state == "done")
        done = second.hub.metrics().collector.catch_up["cu-bot"]
        assert (done.received, done.lost) == (4, 0) and done.asked >= 1
        assert _comparable(second.hub, "cu-bot") == _comparable(_truth(pub), "cu-bot")
        events = second.hub.metrics().bots["cu-bot"].events
        assert (events.run, events.last_seq, events.recovered) == (pub.run, 13, 4)
        metrics = second.hub.metrics()
        table = events_table(metrics, metrics.bots, Rates())  # the Health tab's Events table
        row = next(r for r in table["rows"] if r[0] == "cu-bot")
        assert row[table["head"].index("Catch-up")][0].startswith("done: 4 received, 0 lost (")
    finally:
        if second is not None:
            second.stop()
        first.stop()
        pub.close(0)


def test_a_bot_restarted_while_the_monitor_was_down_is_recovered_run_by_run(tmp_path: Path) -> None:
    port = free_port()
    old = _bot("runner", port)
    first = _monitor(tmp_path, port)
    second = None
    new = None
    try:
        first.start()
        wait_until(lambda: _subscribed(old))
        _fills(old, "buy", 10, 0)  # +50
        wait_until(lambda: _received(first, "runner") == 10)
        first.stop()
        old.close(0)
        new = _bot("runner", port)  # restarted: a new run, seq from 0, selling what the old run bought
        _fills(new, "sell", 20, 100)  # -100: the truth is -50
        second = _monitor(tmp_path, port)
        second.start()
        wait_until(lambda: _subscribed(new))
        wait_until(lambda: second.hub.metrics().collector.catch_up["runner"].state != "asking")
        new.heartbeat(ts=T0 + 200)  # the new run's next event shows the monitor a new run
        wait_until(lambda: _received(second, "runner") == 31)
        assert _comparable(second.hub, "runner") == _comparable(_truth(old, new), "runner")
        m = second.hub.metrics().bots["runner"]
        assert second.hub.state("runner").positions[0].qty == -50.0
        assert (m.events.lost, m.events.seq_resets, m.events.recovered) == (0, 1, 20)
        assert (m.events.run, m.events.last_seq) == (new.run, 20)
        assert second.hub.metrics().collector.catch_up["runner"].state == "lost"  # the old run never answered
    finally:
        if second is not None:
            second.stop()
        first.stop()
        if new is not None:
            new.close(0)


def test_what_the_old_run_still_owed_is_counted_lost_when_a_new_run_starts(tmp_path: Path) -> None:
    port = free_port()
    old = _bot("gappy", port)
    monitor = _monitor(tmp_path, port, timeout_s=30)  # only the new run can end the old run's gap
    new = None
    try:
        monitor.start()
        wait_until(lambda: _subscribed(old))
        _fills(old, "buy", 10, 0)
        wait_until(lambda: _received(monitor, "gappy") == 10)
        before_gap = list(old._buffer)
        old._closed.set()  # the old run stops answering replays...
        old._replayer.join()
        old.seq = 15  # ...and 10..14 never reach the monitor
        old.heartbeat(ts=T0 + 50)
        wait_until(lambda: monitor.collector.collector.sequencer.pending)  # 15 held, 10..14 asked for
        after_gap = list(old._buffer)
        old.close(0)
        new = _bot("gappy", port)  # the bot restarted: a new run
        wait_until(lambda: _subscribed(new))
        _fills(new, "sell", 4, 100)
        wait_until(lambda: _received(monitor, "gappy") == 15)
        m = monitor.hub.metrics().bots["gappy"]
        assert (m.events.lost, m.events.seq_resets) == (5, 1)  # the old run's 10..14, given up at once
        assert (m.events.run, m.events.last_seq) == (new.run, 3)
        assert _comparable(monitor.hub, "gappy") == _comparable(_truth(before_gap, after_gap, new), "gappy")
    finally:
        monitor.stop()
        if new is not None:
            new.close(0)
