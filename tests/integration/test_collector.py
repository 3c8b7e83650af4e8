"""The collector over real ZeroMQ TCP: delivery, sequence tracking, bursts, hostile input, restarts."""

from __future__ import annotations

import json
import random

import msgspec
import zmq

from collectors.publisher import BotPublisher
from tests.support.documents import metrics_of, state_of
from tests.support.http import get_json
from tests.support.ingest import Ingest
from tests.support.ports import free_port
from tests.support.waiting import wait_until


def received(ingest: Ingest, bot: str) -> int:
    bot_doc = metrics_of(ingest.hub)["bots"].get(bot)
    return bot_doc["events"]["received"] if bot_doc else 0


def test_first_events_after_connect_are_not_lost(ingest: Ingest) -> None:
    # the classic PUB/SUB slow-joiner loss: the publisher waits for the subscription
    with BotPublisher("b1", ingest.endpoint) as pub:
        for i in range(5):
            pub.latency("submit", float(i))
    wait_until(lambda: received(ingest, "b1") == 5)
    m = ingest.metrics()["bots"]["b1"]
    assert m["latency_ms"]["count"] == 5
    assert m["events"]["lost"] == 0


def test_seq_gap_counts_lost_and_a_new_run_is_a_restart(ingest: Ingest) -> None:
    with BotPublisher("b1", ingest.endpoint) as pub:
        pub.heartbeat()  # seq 0
        pub.heartbeat()  # seq 1
        pub.seq = 5  # events 2,3,4 never sent: lost
        pub.heartbeat()
        pub.seq, pub.run = 0, "restarted"  # the bot restarts: a new run, seq from 0
        pub.heartbeat()
        pub.heartbeat()
    wait_until(lambda: received(ingest, "b1") == 5)
    events = ingest.metrics()["bots"]["b1"]["events"]
    assert events["lost"] == 3  # the old run's gap, given up when the new run began
    assert events["seq_resets"] == 1
    assert (events["run"], events["last_seq"]) == ("restarted", 1)


def test_burst_of_100k_events_arrives_without_loss(ingest: Ingest) -> None:
    n = 100_000
    with BotPublisher("burst", ingest.endpoint) as pub:
        for i in range(n):
            pub.latency("submit", float(i % 50), ts=1_700_000_000.0 + i * 1e-3)
    wait_until(lambda: received(ingest, "burst") == n, timeout=60)
    doc = ingest.metrics()
    assert doc["bots"]["burst"]["events"]["lost"] == 0
    assert doc["collector"]["received"] == n
    assert doc["collector"]["rejected"] == 0


def _hostile(rng: random.Random, i: int) -> tuple[list[bytes], str]:
    """One bad message and the reason the collector must count it under."""
    good = {
        "v": 1,
        "bot": "evil",
        "seq": i,
        "ts": 1.7e9,
        "fill_id": "f",
        "order_id": "o",
        "symbol": "X",
        "side": "buy",
        "qty": 1.0,
        "price": 1.0,
        "fee": 0.0,
    }
    kind = i % 12
    if kind == 0:
        return [b"fill"], "not_multipart"
    if kind == 1:
        return [b"fill", b"{}", b"extra"], "not_multipart"
    if kind == 2:
        return [b"trade", json.dumps(good).encode()], "unknown_topic"
    if kind == 3:
        return [b"fill", b"{not json"], "not_json"
    if kind == 4:
        return [b"fill", b'{"symbol": "\xff\xfe"}'], "not_utf8"
    if kind == 5:
        return [b"fill", json.dumps({**good, "qty": -1}).encode()], "invalid_field"
    if kind == 6:
        return [b"fill", json.dumps({**good, "price": 0}).encode()], "invalid_field"
    if kind == 7:
        return [b"fill", json.dumps({**good, "side": "BUY"}).encode()], "invalid_field"
    if kind == 8:
        return [b"fill", json.dumps(good).replace('"qty": 1.0', '"qty": 1e999').encode()], "non_finite"
    if kind == 9:
        return [b"fill", json.dumps({**good, "v": 2}).encode()], "bad_version"
    if kind == 10:
        return [b"fill", b"[1, 2, 3]"], "not_object"
    blob = {**good, "junk": "x" * (70_000 + rng.randrange(1000))}
    return [b"fill", json.dumps(blob).encode()], "too_large"


def test_10k_hostile_messages_mixed_with_good_ones(ingest: Ingest) -> None:
    rng = random.Random(7)
    expected: dict[str, int] = {}
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.XPUB)
    raw.setsockopt(zmq.SNDHWM, 0)
    raw.connect(ingest.endpoint)
    assert raw.poll(5000)  # the monitor's subscription arrived
    raw.recv()
    encode = msgspec.json.Encoder().encode
    good = 0
    for i in range(10_000):
        parts, reason = _hostile(rng, i)
        raw.send_multipart(parts)
        expected[reason] = expected.get(reason, 0) + 1
        if i % 3 == 0:
            body = {"v": 1, "bot": "good", "seq": good, "ts": 1.7e9 + good * 0.01, "op": "submit", "ms": 1.0}
            raw.send_multipart([b"latency", encode(body)])
            good += 1
    total = 10_000 + good
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == total, timeout=60)
    raw.close()
    doc = ingest.metrics()
    assert doc["collector"]["rejected_by_reason"] == expected
    assert doc["collector"]["rejected"] == 10_000
    assert doc["bots"]["good"]["events"]["received"] == good
    assert doc["bots"]["good"]["events"]["lost"] == 0
    assert doc["bots"]["good"]["latency_ms"]["count"] == good
    assert "evil" not in doc["bots"]  # no partial event was ever applied
    assert doc["collector"]["alive"] is True
    state = state_of(ingest.hub, "good")
    assert len(state["recent_rejects"]) == 20


def test_rejected_event_keeps_seq_tracking_exact(ingest: Ingest) -> None:
    with BotPublisher("b1", ingest.endpoint) as pub:
        pub.heartbeat()
        pub.fill("f1", "o1", "BTC", "buy", -1.0, 100.0)  # invalid, but it used seq 1
        pub.heartbeat()
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == 3)
    events = ingest.metrics()["bots"]["b1"]["events"]
    assert events == {
        "received": 2,
        "rejected": 1,
        "lost": 0,
        "seq_resets": 0,
        "recovered": 0,
        "rejected_by_reason": {"invalid_field": 1},
        "run": pub.run,
        "last_seq": 2,
    }


def test_collector_thread_is_restarted_after_it_dies(ingest: Ingest, monkeypatch) -> None:
    ingest.fail_first_apply(monkeypatch)
    with BotPublisher("b1", ingest.endpoint) as pub:
        pub.heartbeat()
        wait_until(lambda: ingest.supervisor.restarts == 1)
        pub.heartbeat()
    wait_until(lambda: received(ingest, "b1") >= 1)
    status = ingest.metrics()["collector"]
    assert status["restarts"] == 1
    assert "injected failure" in status["last_failure"]["error"]
    assert status["alive"] is True


def test_api_health_reports_collector_state(ingest: Ingest) -> None:

    code, body = get_json(ingest.url + "/api/health")
    assert code == 200 and body["collector_alive"] is True
    ingest.supervisor.stop()
    code, body = get_json(ingest.url + "/api/health")
    assert code == 503 and body["status"] == "failing"


def test_api_state_errors(ingest: Ingest) -> None:

    assert get_json(ingest.url + "/api/state")[0] == 400
    code, body = get_json(ingest.url + "/api/state?bot=nobody")
    assert code == 404 and body["error"] == "unknown bot"


def test_connect_mode_endpoint_reaches_a_bot_that_binds() -> None:
    import time

    from app.hub import Hub
    from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
    from core.config import CoreConfig
    from core.store import StateStore

    url = f"tcp://127.0.0.1:{free_port()}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    sup = CollectorSupervisor(Collector(hub, [Endpoint(url, "connect")]))
    sup.start()
    try:
        with BotPublisher("binder", url, bind=True) as pub:  # waits for the monitor's subscription
            pub.account(123.0)
        wait_until(lambda: received(Ingest(hub, sup, url, ""), "binder") == 1)
        assert metrics_of(hub)["bots"]["binder"]["equity"] == 123.0
        assert sup.status()["endpoints"] == [f"connect {url}"]
    finally:
        sup.stop()
