"""Seeded fuzzing of ingest: 120,000 generated messages through the collector's decoding and the store.

Valid events, mutated ones (bit flips, deleted fields, swapped types, extreme
numbers, huge strings, nested junk) and random bytes go through the very code
the collector thread runs (``Collector._drain``: the inlined fast path, the
slow path that names a reject, the sequencer) into a real Hub and StateStore,
in-process: a stand-in socket hands the frames over, so no ZeroMQ timing is
involved and a failure reproduces from its seed (``FUZZ_SEED=n``).

What must hold, whatever arrives: no exception leaves the collector, every
message taken off the socket is accounted for (applied, rejected, or dropped
as a duplicate of one already applied), and no document the monitor serves
(``/api/metrics``, every ``/api/state``) carries NaN or infinity.
"""

from __future__ import annotations

import logging
import math
import os
import random
from typing import Any

import msgspec
import zmq

from app.hub import Hub
from collectors.zmq_collector import BATCH, Collector, Endpoint
from core.config import CoreConfig
from core.store import StateStore
from tests.support.clock import FakeClock

SEED = int(os.environ.get("FUZZ_SEED", "20261125"))
MESSAGES = 120_000
T0 = 1_800_000_000.0
_encode = msgspec.json.encode

BOTS = [f"bot-{i}" for i in range(12)]
SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD", "X"]
EXTREMES: list[Any] = [
    0, -0.0, -1, 1e-320, 5e-324, 1e12, 1e15, 1e300, -1e300, 1.7976931348623157e308,
    -1.7976931348623157e308, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30, -(10**30), T0 * 1000,
    946_684_799.999, 4_102_444_800.0, True, 3.14159,
]  # fmt: skip
JUNK: list[Any] = [
    None,
    "",
    "x" * 300,
    [],
    {},
    [1, [2, [3, [4]]]],
    {"a": {"b": {"c": None}}},
    "NaN",
    "-Infinity",
]


class FeedSocket:
    """What ``Collector._drain`` needs of a socket: ``recv(flags, copy=False)`` frame by frame,
    real ``zmq.Frame`` objects with ``more`` set as libzmq sets it, until ``zmq.Again``."""

    def __init__(self) -> None:
        self.frames: list[zmq.Frame] = []
        self._at = 0

    def load(self, messages: list[list[bytes]]) -> None:
        frames = []
        for parts in messages:
            for i, part in enumerate(parts):
                frame = zmq.Frame(part)
                frame.more = i < len(parts) - 1
                frames.append(frame)
        self.frames, self._at = frames, 0

    def recv(self, flags: int = 0, copy: bool = True) -> zmq.Frame:
        assert not copy, "the collector receives frames without copying"
        if self._at >= len(self.frames):
            raise zmq.Again()
        self._at += 1
        return self.frames[self._at - 1]


class Generator:
    """Messages of every kind, from one seeded RNG; each bot numbers its valid events in order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = dict.fromkeys(BOTS, 0)
        self.ts = T0

    def valid(self) -> tuple[bytes, dict[str, Any]]:
        rng = self.rng
        bot = rng.choice(BOTS)
        seq = self.seq[bot]
        roll = rng.random()
        if roll < 0.03:
            seq = rng.randint(seq + 2, seq + 40)  # a gap (asked for, never replayed: lost after the timeout)
        elif roll < 0.05:
            seq = max(0, seq - rng.randint(1, 5))  # a late duplicate, or a step back
        elif roll < 0.055:
            seq = 0  # the bot restarted
        self.seq[bot] = seq + 1
        self.ts += rng.random() * 0.01
        body: dict[str, Any] = {"v": 1, "bot": bot, "seq": seq, "ts": self.ts}
        topic = rng.choice(_TOPICS)
        body.update(_FIELDS[topic](rng))
        return topic, body

    def message(self) -> list[bytes]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.04:
            return self.random_bytes()
        topic, body = self.valid()
        if kind < 0.45:
            return [topic, _encode(body)]
        if kind < 0.55:
            return [topic, self.bit_flips(_encode(body))]
        if kind < 0.65:
            del body[rng.choice(list(body))]
        elif kind < 0.75:
            key = rng.choice(list(body))
            body[key] = rng.choice(JUNK + EXTREMES)
        elif kind < 0.88:
            self.extreme(body)
        elif kind < 0.93:
            body[rng.choice(list(body))] = "é\u202e\x00" * rng.choice((100, 1000, 30_000))
        elif kind < 0.97:
            body[rng.choice(list(body))] = _nested(rng.randint(1, 200))
        else:
            return [topic, _encode(body).replace(b'"v":1', rng.choice((b'"v":1e999', b'"v":NaN', b'"v":-1')))]
        return [topic, _encode(body)]

    def extreme(self, body: dict[str, Any]) -> None:
        """Every number of the event, or a nested one, set to something a double barely holds."""
        rng = self.rng
        for key in list(body):
            value = body[key]
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and key != "v"
                and rng.random() < 0.6
            ):
                body[key] = rng.choice(EXTREMES)
            elif isinstance(value, dict):
                for k in value:
                    value[k] = rng.choice(EXTREMES)
            elif isinstance(value, list):
                for item in value:
                    for k, v in item.items():
                        if isinstance(v, float):
                            item[k] = rng.choice(EXTREMES)

    def bit_flips(self, payload: bytes) -> bytes:
        data = bytearray(payload)
        for _ in range(self.rng.randint(1, 4)):
            i = self.rng.randrange(len(data))
            data[i] ^= 1 << self.rng.randrange(8)
        return bytes(data)

    def random_bytes(self) -> list[bytes]:
        rng = self.rng
        n = rng.choice((1, 1, 2, 2, 2, 3))  # ZeroMQ has no message of zero frames
        frames = [rng.randbytes(rng.choice((0, 1, 8, 64, 700))) for _ in range(n)]
        if n == 2 and rng.random() < 0.5:
            frames[0] = rng.choice([*_TOPICS, b"replay_unavailable", b"replay"])  # a real topic, junk body
            if frames[0] == b"replay_unavailable" and rng.random() < 0.5:  # a well-formed answer
                first = rng.randrange(100)
                bot = rng.choice(BOTS)
                frames[1] = _encode({"bot": bot, "from": first, "to": first + rng.randrange(5)})
        return frames


def _nested(depth: int) -> Any:
    out: Any = 1
    for i in range(depth):
        out = [out] if i % 2 else {"k": out}
    return out


def _order(rng: random.Random) -> dict[str, Any]:
    qty = round(rng.uniform(0.001, 5), 4)
    return {
        "order_id": f"o{rng.randrange(50)}",
        "symbol": rng.choice(SYMBOLS),
        "side": rng.choice(("buy", "sell")),
        "type": "limit",
        "qty": qty,
        "price": round(rng.uniform(1, 70_000), 2),
        "status": rng.choice(("new", "partially_filled", "filled", "canceled")),
        "filled_qty": round(qty * rng.random(), 4),
    }


_FIELDS = {
    b"heartbeat": lambda rng: {},
    b"account": lambda rng: {
        "equity": rng.uniform(-1e4, 1e6),
        "cash": rng.uniform(0, 1e5),
        "currency": "USD",
    },
    b"fill": lambda rng: {
        "fill_id": f"f{rng.randrange(10**9)}",
        "order_id": f"o{rng.randrange(50)}",
        "symbol": rng.choice(SYMBOLS),
        "side": rng.choice(("buy", "sell")),
        "qty": round(rng.uniform(0.001, 5), 4),
        "price": round(rng.uniform(1, 70_000), 2),
        "fee": round(rng.uniform(0, 3), 4),
    },
    b"mark": lambda rng: {"prices": {s: round(rng.uniform(1, 70_000), 2) for s in rng.sample(SYMBOLS, 2)}},
    b"order": _order,
    b"latency": lambda rng: {"op": rng.choice(("submit", "cancel")), "ms": rng.uniform(0, 900)},
    b"error": lambda rng: {
        "component": "feed",
        "message": "boom",
        "severity": rng.choice(("warning", "error")),
    },
    b"health": lambda rng: {
        "apis": {"binance": rng.choice(("up", "degraded", "down"))},
        "circuit_breaker": rng.choice(("closed", "open")),
        "kill_switch": "armed",
    },
    b"snapshot": lambda rng: {
        "positions": [
            {"symbol": s, "qty": rng.uniform(-3, 3), "avg_price": rng.uniform(1, 70_000)}
            for s in rng.sample(SYMBOLS, 2)
        ],
        "open_orders": [{k: v for k, v in _order(rng).items()} for _ in range(2)],
        "account": {"equity": rng.uniform(1e3, 1e6), "cash": 100.0, "currency": "USD"},
    },
}
_TOPICS = list(_FIELDS)


def _non_finite(doc: Any, path: str = "$") -> list[str]:
    """Paths of every NaN or infinity in a plain document."""
    if isinstance(doc, float):
        return [] if math.isfinite(doc) else [f"{path} = {doc}"]
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _non_finite(v, f"{path}[{i}]")]
    return []


def _served_documents(hub: Hub) -> list[tuple[str, Any]]:
    docs: list[tuple[str, Any]] = [("/api/metrics", msgspec.to_builtins(hub.metrics()))]
    for bot in list(hub.metrics().bots):
        docs.append((f"/api/state?bot={bot}", msgspec.to_builtins(hub.state(bot))))
    return docs


def test_fuzzed_messages_never_escape_and_every_one_is_accounted_for(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="collectors.zmq_collector")  # thousands of "gap lost" lines
    rng = random.Random(SEED)
    gen = Generator(rng)
    clock = FakeClock(T0)
    hub = Hub(StateStore(CoreConfig(), clock))
    collector = Collector(
        hub,
        [Endpoint("inproc://unused")],
        recovery_timeout_s=0.5,
        clock=clock,
        context=zmq.Context.instance(),
    )
    sock = FeedSocket()
    bad: list[str] = []
    sent = 0
    while sent < MESSAGES:
        n = min(rng.randint(1, BATCH), MESSAGES - sent)
        sock.load([gen.message() for _ in range(n)])
        collector._drain(sock)  # the collector thread's own code: any exception fails the test here
        sent += n
        clock.t += rng.uniform(0.05, 0.4)  # gaps time out now and then, as they would live
        if rng.random() < 0.1:
            bad += [f"{where}: {p}" for where, doc in _served_documents(hub) for p in _non_finite(doc)]
    clock.t += 10.0
    collector._finish([], 0)  # the last gaps time out: their held events are applied
    assert not collector.sequencer.pending

    metrics = hub.metrics()
    applied = sum(b.events.received for b in metrics.bots.values())
    rejected = metrics.collector.rejected
    duplicates = collector.sequencer.duplicates
    control = collector.control  # well-formed replay answers: neither events nor rejects
    assert metrics.collector.received == sent == MESSAGES
    assert sent == applied + rejected + duplicates + control, (
        f"seed {SEED}: {sent} sent != {applied} applied + {rejected} rejected"
        f" + {duplicates} duplicates + {control} replay answers"
    )
    assert sum(metrics.collector.rejected_by_reason.values()) == rejected
    assert applied > MESSAGES * 0.3 and rejected > MESSAGES * 0.3  # the generator exercised both paths
    assert "internal_error" not in metrics.collector.rejected_by_reason, metrics.collector.rejected_by_reason
    bad += [f"{where}: {p}" for where, doc in _served_documents(hub) for p in _non_finite(doc)]
    assert not bad, f"seed {SEED}: non-finite values served: {bad[:20]}"
    # what was served is also what the API would encode: strict JSON, no NaN tokens
    for _, doc in _served_documents(hub):
        msgspec.json.decode(msgspec.json.encode(doc))
