"""Events published while the collector is down are replayed by the bot, over real ZeroMQ.

The collector is stopped and started again in this process on the same hub (the
monitor's own restart restores that hub's state from its journal; here it simply
stays), in both connection directions: the monitor binds and the bot connects
(the default), and the bot binds and the monitor connects.  Every value must then
equal a monitor that saw the whole stream, with nothing counted as lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import zmq

from app.dashboard import fmt
from app.dashboard.health_tab import Rates, events_table
from app.hub import Hub
from collectors.publisher import BotPublisher, NotConnected
from collectors.recovery import encode_last, encode_unavailable
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.store import StateStore
from tests.support.dying_sink import DyingSink
from tests.support.ports import free_port
from tests.support.recording_bot import T0, RecordingBot
from tests.support.waiting import wait_until

_encode = msgspec.json.Encoder().encode


def _start(sink, endpoint: str, mode: str, timeout_s: float = 2.0) -> CollectorSupervisor:
    collector = Collector(sink, [Endpoint(endpoint, mode)], recovery_timeout_s=timeout_s)
    sup = CollectorSupervisor(collector, restart_delay_s=0.1)

    def started() -> bool:
        try:
            sup.start()
        except zmq.ZMQError:  # the previous socket's port is released asynchronously after close
            return False
        return True

    wait_until(started)
    return sup


def _received(hub: Hub, bot: str) -> int:
    doc = hub.metrics().bots.get(bot)
    return doc.events.received + doc.events.lost if doc else 0


def _comparable(hub: Hub, bot: str) -> tuple[dict, dict]:
    """The bot's metrics and state, minus liveness (wall clock) and the recovered counter."""
    metrics = msgspec.to_builtins(hub.metrics().bots[bot])
    for key in ("last_event_age_s", "stale"):
        metrics.pop(key)
    metrics["events"].pop("recovered")
    return metrics, msgspec.to_builtins(hub.state(bot))


def _open_bot(name: str, endpoint: str, mode: str, **kwargs) -> BotPublisher:
    if mode == "bind":  # the monitor binds: the bot connects
        return BotPublisher(name, endpoint, **kwargs)
    return BotPublisher(name, endpoint, bind=True, connect_timeout=0, **kwargs)


def _until_caught_up(bot: RecordingBot, hub: Hub) -> Callable[[], bool]:
    """A wait condition that keeps the bot alive (heartbeats) until the monitor has every seq."""

    def caught_up() -> bool:
        if _received(hub, bot.pub.bot_id) == len(bot.sent):
            return True
        bot.heartbeat()
        return False

    return caught_up


@pytest.mark.parametrize("mode", ["bind", "connect"])
def test_outage_is_recovered_and_every_value_equals_the_uninterrupted_run(mode: str) -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    dying = DyingSink(hub)
    monitor_mode = "bind" if mode == "bind" else "connect"
    sup = _start(dying, endpoint, monitor_mode)
    pub = _open_bot("trader-1", endpoint, mode)
    try:
        if mode == "connect":
            pub.wait_connected(5.0)
        bot = RecordingBot(pub)
        for _ in range(200):
            bot.emit()
        wait_until(lambda: _received(hub, "trader-1") == 200)

        dying.dead = True  # the monitor dies with what it received but did not apply...
        for _ in range(300):
            bot.emit()
        wait_until(lambda: dying.dropped == 300)
        sup.stop()  # ...and stays down while the bot goes on trading
        outage_end = time.monotonic() + 2.0
        while time.monotonic() < outage_end:
            for _ in range(50):
                bot.emit()
            time.sleep(0.05)  # the bot's own pace, not a wait for the monitor

        sup = _start(hub, endpoint, monitor_mode)  # back, resuming from the hub's last seq
        for _ in range(100):
            bot.emit()
        wait_until(_until_caught_up(bot, hub), timeout=20, interval=0.05)

        events = hub.metrics().bots["trader-1"].events
        assert events.lost == 0
        assert events.recovered >= 300  # at least what the dead monitor had taken off the socket
        assert events.received == len(bot.sent)
        assert _comparable(hub, "trader-1") == _comparable(bot.reference(), "trader-1")
    finally:
        pub.close(linger_s=0)
        sup.stop()


def test_a_gap_older_than_the_bots_buffer_is_counted_lost_and_shown() -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    # the bot binds: what it publishes while no monitor is connected goes nowhere
    pub = BotPublisher("small", endpoint, bind=True, connect_timeout=0, replay_events=30, replay_seconds=0)
    sup = _start(hub, endpoint, "connect")
    try:
        pub.wait_connected(5.0)
        bot = RecordingBot(pub)
        for _ in range(10):
            bot.emit()
        wait_until(lambda: _received(hub, "small") == 10)
        sup.stop()
        for _ in range(200):  # far more than the bot keeps
            bot.emit()
        sup = _start(hub, endpoint, "connect")
        wait_until(_until_caught_up(bot, hub), timeout=20, interval=0.05)

        events = hub.metrics().bots["small"].events
        assert events.lost >= 200 - 30  # what the bot no longer had
        assert events.recovered > 0  # the part it still had came back
        assert events.received + events.lost == len(bot.sent)
        table = events_table(hub.metrics(), hub.metrics().bots, Rates())  # the Health tab's table
        row = next(r for r in table["rows"] if r[0] == "small")
        lost_cell, recovered_cell = row[table["head"].index("Lost")], row[table["head"].index("Recovered")]
        assert lost_cell == [fmt.integer(events.lost), "neg"]
        assert recovered_cell == fmt.integer(events.recovered)
    finally:
        pub.close(linger_s=0)
        sup.stop()


def test_a_bot_without_the_protocol_has_its_gap_counted_lost_after_the_timeout() -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    sup = _start(hub, endpoint, "bind", timeout_s=0.3)
    sock = zmq.Context.instance().socket(zmq.PUB)  # a plain PUB: requests never reach its code
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:

        def publish(seq: int) -> None:
            body = {"v": 1, "bot": "raw", "seq": seq, "ts": T0 + seq, "op": "submit", "ms": 1.0}
            sock.send_multipart([b"latency", _encode(body)])

        def first_arrived() -> bool:
            publish(0)  # resent until the subscription is in: seq 0 again is a restart, no loss
            return "raw" in hub.bots()

        wait_until(first_arrived)
        for seq in (1, 2, 9, 10):  # 3..8 never sent
            publish(seq)
        wait_until(lambda: _received(hub, "raw") >= 9)
        m = hub.metrics().bots["raw"]
        assert m.events.lost == 6
        assert m.events.recovered == 0
        assert hub.state("raw").latency_series[-1][0] == T0 + 10  # held events applied in order
    finally:
        sock.close()
        sup.stop()


def test_the_raw_pyzmq_example_of_the_docs_answers_replays() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    example = next(b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "answer_replays" in b)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    dying = DyingSink(hub)
    sup = _start(dying, endpoint, "bind")
    bot: dict = {}
    try:
        exec(example.replace("tcp://127.0.0.1:5556", endpoint), bot)
        wait_until(lambda: _received(hub, "my-bot") == 3)
        dying.dead = True  # the monitor dies with five events taken off the socket
        for i in range(5):
            bot["publish"]("latency", op="submit", ms=float(i))
        wait_until(lambda: dying.dropped == 5)
        sup.stop()
        sup = _start(hub, endpoint, "bind")

        def caught_up() -> bool:
            bot["answer_replays"]()  # the bot's main loop
            if _received(hub, "my-bot") >= bot["seq"]:
                return True
            bot["publish"]("heartbeat")
            return False

        wait_until(caught_up, interval=0.05)
        m = hub.metrics().bots["my-bot"]
        assert m.events.lost == 0
        assert m.events.recovered == 5
        assert m.latency_ms.count == 5
    finally:
        bot["sock"].close(linger=0)
        sup.stop()


def _subscribed(pub: BotPublisher) -> bool:
    try:
        pub.wait_connected(0.01)
    except NotConnected:
        return False
    return True


def test_bot_publisher_answers_only_its_own_requests_with_the_original_bytes() -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    monitor = zmq.Context.instance().socket(zmq.XSUB)  # the monitor's side of the protocol, by hand
    monitor.setsockopt(zmq.LINGER, 0)
    monitor.send(b"\x01")
    monitor.bind(endpoint)
    received: list[list[bytes]] = []

    def receive(n: int) -> Callable[[], bool]:
        def got() -> bool:
            while monitor.poll(0):
                received.append(monitor.recv_multipart())
            return len(received) >= n

        return got

    a = BotPublisher("a", endpoint, connect_timeout=0, replay_events=3, replay_seconds=0)
    b = BotPublisher("b", endpoint, connect_timeout=0)
    try:
        wait_until(lambda: monitor.poll(0) >= 0 and _subscribed(a) and _subscribed(b))
        for i in range(5):
            a.latency("submit", float(i), ts=T0 + i)
        b.heartbeat(ts=T0)
        b.heartbeat(ts=T0 + 1)
        wait_until(receive(7))
        originals = {
            (msgspec.json.decode(p)["bot"], msgspec.json.decode(p)["seq"]): [t, p] for t, p in received
        }
        received.clear()

        monitor.send_multipart([b"replay", b'{"bot": "a", "from": 0, "to": 3}'])
        monitor.send_multipart([b"replay", b'{"bot": "b", "from": 1, "to": 9}'])
        wait_until(receive(5))
        assert encode_unavailable("a", 0, 1, a.run) in received  # a keeps 3 only
        assert encode_last("b", 1, b.run) in received  # b was asked beyond what it sent
        replayed = [m for m in received if m[0] not in (b"replay_unavailable", b"replay_last")]
        assert sorted(replayed) == sorted([originals[("a", 2)], originals[("a", 3)], originals[("b", 1)]])
        assert replayed.index(originals[("a", 2)]) < replayed.index(originals[("a", 3)])  # in seq order
        assert (a.replays_answered, b.replays_answered) == (1, 1)  # neither answered the other's
    finally:
        a.close(linger_s=0)
        b.close(linger_s=0)
        monitor.close()
