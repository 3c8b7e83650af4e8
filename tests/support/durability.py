"""Random event streams and document comparison for the restart (durability) tests.

A stream is a list of batches as the collector hands them to the hub: each
batch has its arrival time and its items (events and rejected messages, in
arrival order).  Streams cover every topic, several bots, sequence gaps and
restarts, and rejects with and without a bot, so a restore that forgets any
part of the state shows up as a difference in the documents.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import IO, Any

import msgspec
from hypothesis import strategies as st

from app.hub import Hub
from app.persistence import Journal, Opener
from collectors.events import (
    Account,
    Error,
    Fill,
    Health,
    Heartbeat,
    Latency,
    Mark,
    Order,
    Rejected,
    Snapshot,
)
from collectors.sink import Recovered
from core.config import CoreConfig, MetricsSettings
from core.storage_settings import JournalSettings
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of
from tests.support.waiting import wait_until

T0 = 1_699_142_400.0  # 2023-11-05 00:00 UTC; streams cross midnights in New York
BOTS = ("b1", "b2", "b3")
SYMBOLS = ("BTC", "ETH")
#: Small bounds so a short stream exercises eviction, thinning and ring wrap-around.
CONFIG = CoreConfig(
    metrics=MetricsSettings(
        timezone="America/New_York",
        sharpe_interval_s=60,
        sharpe_window_s=3600,
        latency_window_s=120.0,
        latency_max_samples=8,
        error_max_samples=8,
        equity_curve_points=64,
        recent_fills=5,
        max_open_orders=3,
    ),
    recent_rejects=4,
)
#: Journal settings for in-process tests: no time-based checkpoint during a test.
FAST_JOURNAL = JournalSettings(commit_interval_s=0.05, snapshot_interval_s=3600.0)

Batch = tuple[float, list[Any]]  # (arrival, items)


@st.composite
def _body(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    price = draw(st.sampled_from([90.0, 99.5, 100.0, 101.25, 120.0]))
    sym = draw(st.sampled_from(SYMBOLS))
    side = draw(st.sampled_from(["buy", "sell"]))
    if topic == "fill":
        qty = draw(st.sampled_from([0.5, 1.0, 1.5]))
        return {
            "fill_id": "f",
            "order_id": "o",
            "symbol": sym,
            "side": side,
            "qty": qty,
            "price": price,
            "fee": draw(st.sampled_from([0.0, 0.01, 0.25])),
        }
    if topic == "mark":
        return {"prices": {sym: price}}
    if topic == "account":
        return {"equity": draw(st.floats(9000, 11000)), "cash": 5.0, "currency": "USD"}
    if topic == "order":
        status = draw(st.sampled_from(["new", "partially_filled", "filled", "canceled"]))
        return {
            "order_id": f"o{draw(st.integers(0, 5))}",
            "symbol": sym,
            "side": side,
            "type": "limit",
            "qty": 1.0,
            "price": price,
            "status": status,
            "filled_qty": 0.0,
        }
    if topic == "latency":
        return {"op": draw(st.sampled_from(["submit", "cancel"])), "ms": draw(st.floats(0, 500))}
    if topic == "error":
        return {
            "component": "feed",
            "message": "boom",
            "severity": draw(st.sampled_from(["error", "critical"])),
        }
    if topic == "health":
        return {
            "apis": {"ex": draw(st.sampled_from(["up", "down"]))},
            "kill_switch": draw(st.sampled_from([None, "armed", "triggered"])),
        }
    if topic == "snapshot":
        return {
            "positions": [
                {"symbol": sym, "qty": draw(st.sampled_from([0.0, 1.0, -2.0])), "avg_price": price}
            ],
            "open_orders": [],
            "account": draw(st.sampled_from([None, {"equity": 10_050.0}])),
        }
    return {}


_CLASSES = {
    "fill": Fill,
    "mark": Mark,
    "account": Account,
    "order": Order,
    "latency": Latency,
    "error": Error,
    "health": Health,
    "snapshot": Snapshot,
    "heartbeat": Heartbeat,
}


def _event(topic: str, env: dict[str, Any], body: dict[str, Any]) -> Any:
    return msgspec.convert({**env, **body}, _CLASSES[topic])


@st.composite
def streams(draw: st.DrawFn, max_batches: int = 24) -> list[Batch]:
    """A stream of batches over a few hours, with gaps, seq restarts, rejects and recovery notes."""
    seqs = dict.fromkeys(BOTS, 0)
    t = T0 - 3 * 3600 + draw(st.floats(0, 7200))
    arrival = 1_700_000_000.0
    batches: list[Batch] = []
    for _ in range(draw(st.integers(1, max_batches))):
        items: list[Any] = []
        for _ in range(draw(st.integers(1, 6))):
            bot = draw(st.sampled_from(BOTS))
            jump = draw(st.sampled_from([1, 1, 1, 1, 3, "reset"]))
            seqs[bot] = 0 if jump == "reset" else seqs[bot] + jump
            t += draw(st.sampled_from([0.0, 0.5, 30.0, 900.0]))
            if draw(st.integers(0, 9)) == 0:
                reason = draw(st.sampled_from(["invalid_field", "not_json"]))
                rej = Rejected(
                    reason,
                    "bad",
                    bot if reason == "invalid_field" else None,
                    seqs[bot] if reason == "invalid_field" else None,
                )
                items.append((rej, draw(st.sampled_from(["fill", None])), b'{"bad": 1}'))
                continue
            if draw(st.integers(0, 14)) == 0:  # the collector's note that a replay recovered events
                items.append(Recovered(bot=bot, count=draw(st.integers(1, 3))))
                continue
            topic = draw(st.sampled_from(list(_CLASSES)))
            env = {"v": 1, "bot": bot, "seq": seqs[bot], "ts": t}
            items.append(_event(topic, env, draw(_body(topic))))
        arrival += draw(st.sampled_from([0.001, 0.2, 2.0]))
        batches.append((arrival, items))
    return batches


def new_hub(clock: FakeClock, store: StateStore | None = None) -> Hub:
    return Hub(store if store is not None else StateStore(CONFIG, clock))


def feed(hub: Hub, clock: FakeClock, batches: list[Batch]) -> None:
    """Apply batches as the collector would: the clock reads each batch's arrival time."""
    for arrival, items in batches:
        clock.t = arrival
        hub.apply_batch(items, received=len(items))


def documents(hub: Hub) -> dict[str, Any]:
    """Every document a reader sees, minus the ingest rate (a wall-clock figure of the process)."""
    metrics = metrics_of(hub)
    metrics["collector"].pop("rate_per_s", None)
    return {"metrics": metrics, "state": {bot: state_of(hub, bot) for bot in hub.bots()}}


def committed(journal: Journal) -> bool:
    """Everything handed to the journal is on disk (fsync'd) and nothing waits in its queue."""
    status = journal.status()
    return status.state == "ok" and status.queued == 0 and status.committed_batch == journal.recorded_batch


def crash_copy(journal: Journal, data: Path, into: Path) -> Path:
    """The files as a SIGKILL now would leave them: everything committed, nothing more.

    The caller makes sure no checkpoint is being written meanwhile (wait for the
    journal's ``snapshots`` count after asking for one): a copy taken over the
    time a checkpoint is renamed and the old files pruned mixes two moments."""
    wait_until(lambda: committed(journal), timeout=10)
    shutil.copytree(data, into, ignore=shutil.ignore_patterns("*.tmp", "monitor.lock"))
    return into


class LiveJournal:
    """A hub with its journal running in ``data``, as the monitor wires them."""

    def __init__(self, data: Path, clock: FakeClock, opener: Opener | None = None) -> None:
        kwargs = {} if opener is None else {"opener": opener}
        self.clock = clock
        self.journal = Journal(data, FAST_JOURNAL, clock=clock, **kwargs)
        self.hub = new_hub(clock, self.journal.restore(CONFIG, clock))
        self.journal.attach(self.hub)
        self.journal.start()

    def feed(self, batches: list[Batch]) -> None:
        feed(self.hub, self.clock, batches)

    def stop(self) -> None:
        self.journal.stop()


def restore(data: Path, clock: FakeClock) -> tuple[Hub, Journal]:
    """A fresh hub restored from ``data`` (not started: nothing more is written)."""
    journal = Journal(data, FAST_JOURNAL, clock=clock)
    return new_hub(clock, journal.restore(CONFIG, clock)), journal


class FailingDisk:
    """An opener whose files refuse every write with ENOSPC while ``full`` is set (a full disk)."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, path: Path, mode: str) -> IO[bytes]:
        return _GuardedFile(open(path, mode), self)  # type: ignore[return-value]


class _GuardedFile:
    def __init__(self, f: IO[bytes], disk: FailingDisk) -> None:
        self._f, self._disk = f, disk

    def _check(self) -> None:
        if self._disk.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(self, data: bytes) -> int:
        self._check()
        return self._f.write(data)

    def flush(self) -> None:
        self._check()
        self._f.flush()

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> _GuardedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def trading_stream(n: int, bots: tuple[str, ...] = ("b1", "b2")) -> list[Batch]:
    """A plain deterministic stream: each batch a fill and a mark per bot, one second apart."""
    batches: list[Batch] = []
    for i in range(n):
        items: list[Any] = []
        for bot in bots:
            env = {"v": 1, "bot": bot, "ts": T0 + i}
            side = "buy" if i % 4 < 2 else "sell"
            fill = {
                "fill_id": f"f{i}",
                "order_id": f"o{i}",
                "symbol": "BTC",
                "side": side,
                "qty": 1.0,
                "price": 100.0 + i % 7,
                "fee": 0.1,
            }
            items.append(_event("fill", {**env, "seq": 2 * i}, fill))
            items.append(_event("mark", {**env, "seq": 2 * i + 1}, {"prices": {"BTC": 100.5 + i % 5}}))
        batches.append((1_700_000_000.0 + i, items))
    return batches


class RawBot:
    """A bot on a bare XPUB socket (no replay buffer): it sends exactly what the test says.

    It connects to the monitor's bind endpoint and can wait for the monitor's
    subscription, again after the monitor was restarted, before it publishes.
    """

    def __init__(self, endpoint: str) -> None:
        import zmq

        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.connect(endpoint)

    def wait_subscribed(self, timeout: float = 20.0) -> None:
        """Block until a subscription arrives (the monitor's SUB socket has connected)."""
        if not self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("the monitor never subscribed")
        while self.sock.poll(0):
            self.sock.recv()

    def send(self, topic: bytes, payload: bytes) -> None:
        self.sock.send_multipart([topic, payload])

    def close(self) -> None:
        self.sock.close(linger=1000)
        self.ctx.term()


def wire_session(rounds: int) -> list[tuple[int, bytes, bytes]]:
    """Raw messages ``(round, topic, payload)`` of bots b1/b2, round by round, each bot's seq without gaps.

    Per round: a fill, a mark, a latency, an account (b2), sometimes an error, and
    every sixth round a refused fill (qty <= 0) that still uses up its seq.
    """
    out: list[tuple[int, bytes, bytes]] = []
    enc = msgspec.json.encode
    seqs = {"b1": 0, "b2": 0}
    for i in range(rounds):
        for bot in ("b1", "b2"):
            env = {"v": 1, "bot": bot, "ts": T0 + i * 7.0}
            side = "buy" if i % 3 else "sell"
            fill = {
                "fill_id": f"f{i}",
                "order_id": f"o{i}",
                "symbol": "BTC",
                "side": side,
                "qty": 0.5,
                "price": 100.0 + i % 7 * 0.3,
                "fee": 0.05,
            }
            msgs: list[tuple[bytes, dict[str, Any]]] = [
                (b"fill", fill),
                (b"mark", {"prices": {"BTC": 100.1 + i % 5 * 0.2}}),
                (b"latency", {"op": "submit", "ms": 3.0 + i % 11}),
            ]
            if bot == "b2":
                msgs.append((b"account", {"equity": 10_000.0 + i * 1.5, "cash": 900.0, "currency": "USD"}))
            if i % 5 == 4:
                msgs.append((b"error", {"component": "feed", "message": "timeout", "severity": "error"}))
            if i % 6 == 5:
                msgs.append((b"fill", {**fill, "qty": -1.0}))
            for topic, body in msgs:
                out.append((i, topic, enc({**env, "seq": seqs[bot], **body})))
                seqs[bot] += 1
    return out
