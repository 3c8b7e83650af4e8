"""Hostile numbers over real ZeroMQ: milliseconds, extreme timestamps and extreme values.

Among the valid events of other bots (and of the same bots), a bot that sends
``ts`` in milliseconds, ``ts = -1e300`` or prices, sizes and balances near a
double's limit must neither stop ingest nor lose anyone's event: every message
is counted as applied or rejected, every good event is applied, and the
collector thread never has to be restarted.
"""

from __future__ import annotations

import math
import random
import time

import msgspec
import zmq

from tests.support.documents import metrics_of, state_of
from tests.support.http import get_json
from tests.support.ingest import Ingest
from tests.support.waiting import wait_until

T0 = 1_700_000_000.0
_encode = msgspec.json.Encoder().encode


def _hostile(rng: random.Random, bot: str, seq: int) -> tuple[bytes, dict, str]:
    """One out-of-bounds event: (topic, body, what the reject detail must name)."""
    env = {"v": 1, "bot": bot, "seq": seq, "ts": T0 + seq}
    fill = {
        "fill_id": "f",
        "order_id": "o",
        "symbol": "X",
        "side": "buy",
        "qty": 1.0,
        "price": 1.0,
        "fee": 0.0,
    }
    return rng.choice(
        [
            (b"heartbeat", {**env, "ts": (T0 + seq) * 1000}, "milliseconds"),
            (b"heartbeat", {**env, "ts": -1e300}, "$.ts"),
            (b"heartbeat", {**env, "ts": 1e300}, "$.ts"),
            (b"fill", {**env, **fill, "price": 1e300}, "$.price"),
            (b"fill", {**env, **fill, "qty": 1e300}, "$.qty"),
            (b"mark", {**env, "prices": {"X": 1.7976931348623157e308}}, "$.prices"),
            (b"account", {**env, "equity": -1e300}, "$.equity"),
            (b"latency", {**env, "op": "submit", "ms": 1e300}, "$.ms"),
        ]
    )


def _good(bot: str, seq: int) -> tuple[bytes, dict]:
    env = {"v": 1, "bot": bot, "seq": seq, "ts": T0 + seq * 0.01}
    if seq % 3 == 0:
        return b"latency", {**env, "op": "submit", "ms": 2.0}
    if seq % 3 == 1:
        return b"mark", {**env, "prices": {"X": 100.0 + seq % 7}}
    side = "buy" if seq % 2 else "sell"
    fill = {
        "fill_id": f"f{seq}",
        "order_id": f"o{seq}",
        "symbol": "X",
        "side": side,
        "qty": 1.0,
        "price": 100.0,
    }
    return b"fill", {**env, **fill, "fee": 0.01}


def test_milliseconds_and_extreme_numbers_are_rejected_and_no_good_event_is_lost(ingest: Ingest) -> None:
    rng = random.Random(11)
    raw = zmq.Context.instance().socket(zmq.XPUB)
    raw.setsockopt(zmq.SNDHWM, 0)
    raw.connect(ingest.endpoint)
    assert raw.poll(5000)  # the monitor's subscription arrived
    raw.recv()
    seqs = {"good-1": 0, "good-2": 0, "ms-bot": 0, "wild-bot": 0}
    good_sent = {"good-1": 0, "good-2": 0}
    hostile_sent, details = 0, []
    raw.send_multipart([b"heartbeat", _encode({"v": 1, "bot": "ms-bot", "seq": 0, "ts": T0})])  # a known bot
    seqs["ms-bot"] = 1
    for i in range(3000):
        bot = "good-1" if i % 2 else "good-2"
        topic, body = _good(bot, seqs[bot])
        raw.send_multipart([topic, _encode(body)])
        seqs[bot] += 1
        good_sent[bot] += 1
        if i % 4 == 0:  # hostile events from their own bots, and from the good bots too
            evil = rng.choice(["ms-bot", "wild-bot", bot])
            topic, body, named = _hostile(rng, evil, seqs[evil])
            raw.send_multipart([topic, _encode(body)])
            seqs[evil] += 1
            hostile_sent += 1
            details.append(named)
    total = 1 + 3000 + hostile_sent
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == total, timeout=60)
    raw.close()

    doc = ingest.metrics()  # over HTTP: strict JSON, so no NaN or Infinity anywhere
    collector = doc["collector"]
    applied = sum(b["events"]["received"] for b in doc["bots"].values())
    assert collector["received"] == applied + collector["rejected"] == total
    assert collector["rejected_by_reason"] == {"invalid_field": hostile_sent}
    assert collector["restarts"] == 0 and collector["alive"] is True
    for bot, sent in good_sent.items():
        events = doc["bots"][bot]["events"]
        assert events["received"] == sent and events["lost"] == 0 and events["seq_resets"] == 0
    assert doc["bots"]["good-1"]["latency_ms"]["count"] == (good_sent["good-1"] + 2) // 3
    assert doc["bots"]["ms-bot"]["events"]["received"] == 1  # its heartbeat in seconds
    assert "wild-bot" not in doc["bots"]  # none of its events was applicable
    words = [r["detail"] for r in state_of(ingest.hub, "good-1")["recent_rejects"]]  # the newest 20
    assert len(words) == 20
    for word, named in zip(words, reversed(details), strict=False):
        assert named in word, (named, word)
    for value in _numbers(doc):
        assert math.isfinite(value)
    status, health = get_json(ingest.url + "/api/health")
    assert status == 200, health


def test_a_bot_that_always_sends_milliseconds_does_not_stop_ingest_for_the_others(ingest: Ingest) -> None:
    raw = zmq.Context.instance().socket(zmq.XPUB)
    raw.setsockopt(zmq.SNDHWM, 0)
    raw.connect(ingest.endpoint)
    assert raw.poll(5000)
    raw.recv()
    now_ms = time.time() * 1000
    for seq in range(500):
        raw.send_multipart([b"heartbeat", _encode({"v": 1, "bot": "js-bot", "seq": seq, "ts": now_ms + seq})])
        topic, body = _good("py-bot", seq)
        raw.send_multipart([topic, _encode(body)])
    wait_until(lambda: metrics_of(ingest.hub)["collector"]["received"] == 1000, timeout=60)
    raw.close()
    doc = ingest.metrics()
    assert doc["bots"]["py-bot"]["events"]["received"] == 500
    assert doc["collector"]["rejected_by_reason"] == {"invalid_field": 500}
    assert doc["collector"]["restarts"] == 0
    [reject] = {r["detail"].split(" (")[0] for r in state_of(ingest.hub, "py-bot")["recent_rejects"]}
    assert reject == "ts looks like milliseconds; send seconds"


def _numbers(value: object):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
