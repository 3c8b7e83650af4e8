"""The bot never pays for the monitor's recovery: BotPublisher merges, filters and paces replays.

A bare XSUB socket plays the monitor (or two monitors' worth of requests) against a
real ``BotPublisher`` over TCP.
"""

from __future__ import annotations

import time

import msgspec
import zmq

from collectors.publisher import BotPublisher, NotConnected
from collectors.recovery import LAST_TOPIC, encode_request
from tests.support.ports import free_port
from tests.support.waiting import wait_until

T0 = 1_700_000_000.0


def _subscribed(pub: BotPublisher) -> bool:
    try:
        pub.wait_connected(0.01)
    except NotConnected:
        return False
    return True


class Monitor:
    """An XSUB that records every message it receives."""

    def __init__(self, endpoint: str) -> None:
        self.sock = zmq.Context.instance().socket(zmq.XSUB)
        self.sock.linger = 0
        self.sock.bind(endpoint)
        self.sock.send(b"\x01")
        self.received: list[list[bytes]] = []

    def ask(self, bot: str, first: int, last: int | None, run: str | None) -> None:
        self.sock.send_multipart(encode_request(bot, first, last, run))

    def drain(self) -> int:
        while self.sock.poll(0):
            self.received.append(self.sock.recv_multipart())
        return len(self.received)

    def seqs(self, bot: str) -> list[int]:
        return [
            msgspec.json.decode(p)["seq"]
            for t, p in self.received
            if t == b"heartbeat" and msgspec.json.decode(p)["bot"] == bot
        ]


def _setup(rate: float = 1e9) -> tuple[Monitor, BotPublisher, BotPublisher]:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    monitor = Monitor(endpoint)
    a = BotPublisher("a", endpoint, connect_timeout=0, replay_rate=rate)
    b = BotPublisher("b", endpoint, connect_timeout=0, replay_rate=rate)
    wait_until(lambda: monitor.drain() >= 0 and _subscribed(a) and _subscribed(b))
    return monitor, a, b


def test_overlapping_requests_are_merged_and_each_event_is_resent_once() -> None:
    monitor, a, b = _setup(rate=2000)  # slow enough that all requests arrive while the first is queued
    try:
        for i in range(100):
            a.heartbeat(ts=T0 + i)
        wait_until(lambda: monitor.drain() >= 100)
        monitor.received.clear()
        monitor.ask("a", 10, 59, a.run)  # one gap...
        monitor.ask("a", 40, 89, a.run)  # ...another that overlaps it...
        monitor.ask("a", 10, 59, None)  # ...and a second monitor asking the first again
        wait_until(lambda: monitor.drain() >= 80 and a.events_replayed >= 80)
        time.sleep(0.2)  # anything served twice would arrive by now
        monitor.drain()
        assert sorted(monitor.seqs("a")) == list(range(10, 90))  # once each
        assert a.replays_answered == 3
    finally:
        a.close(0)
        b.close(0)
        monitor.sock.close()


def test_requests_for_other_bots_and_other_runs_are_ignored() -> None:
    monitor, a, b = _setup()
    try:
        for i in range(10):
            a.heartbeat(ts=T0 + i)
        wait_until(lambda: monitor.drain() >= 10)
        monitor.received.clear()
        monitor.ask("a", 0, 9, "an-older-run")
        monitor.ask("a", 0, None, "an-older-run")
        monitor.ask("c", 0, 9, None)
        wait_until(lambda: a.requests_ignored == 3 and b.requests_ignored == 3)
        time.sleep(0.2)
        monitor.drain()
        assert monitor.received == []
        assert a.events_replayed == b.events_replayed == 0
    finally:
        a.close(0)
        b.close(0)
        monitor.sock.close()


def test_an_open_request_is_answered_with_the_runs_last_seq_then_the_replay() -> None:
    monitor, a, b = _setup()
    try:
        for i in range(5):
            a.heartbeat(ts=T0 + i)
        wait_until(lambda: monitor.drain() >= 5)
        monitor.received.clear()
        monitor.ask("a", 3, None, a.run)
        monitor.ask("b", 0, None, None)  # b sent nothing yet: "last" -1, nothing to replay
        wait_until(lambda: monitor.drain() >= 4)
        of_a = [m for m in monitor.received if b'"bot":"a"' in m[1]]
        assert of_a[0] == [LAST_TOPIC, msgspec.json.encode({"bot": "a", "run": a.run, "last": 4})]
        assert [LAST_TOPIC, msgspec.json.encode({"bot": "b", "run": b.run, "last": -1})] in monitor.received
        assert monitor.seqs("a") == [3, 4]
    finally:
        a.close(0)
        b.close(0)
        monitor.sock.close()


def test_a_replay_goes_out_at_the_rate_it_was_given() -> None:
    rate = 2000.0
    monitor, a, b = _setup(rate=rate)
    try:
        for i in range(1000):
            a.heartbeat(ts=T0 + i)
        wait_until(lambda: monitor.drain() >= 1000)
        monitor.received.clear()
        start = time.monotonic()
        monitor.ask("a", 0, 999, a.run)
        wait_until(lambda: monitor.drain() >= 1000, timeout=20)
        took = time.monotonic() - start
        assert took >= 1000 / rate * 0.8, took  # 0.5 s at 2000 events/s, never a burst of all
    finally:
        a.close(0)
        b.close(0)
        monitor.sock.close()
