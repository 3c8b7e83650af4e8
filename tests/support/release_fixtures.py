"""The files a release of the monitor leaves in its data directory, for a fixed, rich scenario.

``python -m tests.support.release_fixtures DIR`` runs the scenario through the real hub
and journal writer of the code checked out, takes one checkpoint in the middle, lets the
writer commit the rest to the journal, and copies what a SIGKILL would leave into
``DIR/data/journal/``, with the documents a restore must reproduce (``DIR/metrics.json``,
``DIR/state-<bot>.json``, read at :data:`READ_AT` on a fake clock).  Committed under
``tests/unit/data/release-<n>/``, they are what every later release must still restore.

The scenario covers every part of the state: several bots, fills opening and closing
round trips, many open orders (enough for a checkpoint to pack them), orders from a
snapshot, marks, reported equity, latencies of several ops, errors (one critical),
health, rejects with and without a bot, a sequence gap and a replay's ``Recovered`` note.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.hub import Hub
from app.persistence import Journal
from collectors.events import (
    Account,
    Error,
    Fill,
    Health,
    Latency,
    Mark,
    Order,
    OrderBody,
    Rejected,
    Snapshot,
    SnapshotAccount,
    SnapshotPosition,
)
from collectors.sink import Recovered
from core.config import CoreConfig, MetricsSettings
from core.storage_settings import JournalSettings
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of
from tests.support.waiting import wait_until

T0 = 1_699_142_400.0  # 2023-11-05 00:00 UTC: the scenario crosses a midnight in New York
ARRIVAL0 = 1_700_000_000.0
READ_AT = ARRIVAL0 + 10_000.0  # the wall clock the documents are read at
BOTS = ("b1", "b2", "b3")
#: Small rings so the scenario wraps them; open orders above a checkpoint's packing threshold.
CONFIG = CoreConfig(
    metrics=MetricsSettings(
        timezone="America/New_York",
        sharpe_interval_s=60,
        sharpe_window_s=3600,
        latency_window_s=600.0,
        latency_max_samples=16,
        error_max_samples=8,
        equity_curve_points=64,
        recent_fills=6,
        max_open_orders=100,
    ),
    recent_rejects=5,
)
JOURNAL = JournalSettings(commit_interval_s=0.05, snapshot_interval_s=3600.0)

Batch = tuple[float, list[Any]]


class _Bot:
    """One bot's envelope: consecutive seqs, event time moving on by ``step`` a message."""

    def __init__(self, bot: str, t: float) -> None:
        self.bot, self.seq, self.t = bot, -1, t

    def env(self, step: float = 30.0, skip: int = 0) -> dict[str, Any]:
        self.seq += 1 + skip
        self.t += step
        return {"v": 1, "bot": self.bot, "seq": self.seq, "ts": self.t}


def _fill(b: _Bot, i: int, side: str, qty: float, price: float) -> Fill:
    return Fill(
        **b.env(),
        fill_id=f"{b.bot}-f{i}",
        order_id=f"{b.bot}-o{i}",
        symbol="BTC" if i % 3 else "ETH",
        side=side,
        qty=qty,
        price=price,
        fee=0.1 + i % 3 * 0.05,
    )


def _trading(b: _Bot, rounds: int, offset: int = 0) -> list[Any]:
    items: list[Any] = []
    for i in range(offset, offset + rounds):
        side = "buy" if i % 4 < 2 else "sell"
        items.append(_fill(b, i, side, 0.5 + i % 2 * 0.25, 100.0 + i % 7 * 0.3))
        items.append(Mark(**b.env(), prices={"BTC": 100.1 + i % 5 * 0.2, "ETH": 10.0 + i % 3 * 0.1}))
        items.append(Latency(**b.env(1.0), op=("submit", "cancel", "amend")[i % 3], ms=1.5 + i % 11 / 3))
        if i % 4 == 3:
            sev = "critical" if i % 8 == 7 else "error"
            items.append(Error(**b.env(), component="feed", message=f"timeout {i}", severity=sev))
    return items


def _orders(b: _Bot, n: int, first: int = 0) -> list[Any]:
    return [
        Order(
            **b.env(1.0),
            order_id=f"{b.bot}-open{k}",
            symbol="BTC",
            side="buy" if k % 2 else "sell",
            type="limit",
            qty=1.0 + k % 4,
            price=95.0 + k % 10 * 0.5,
            status="new" if k % 3 else "partially_filled",
            filled_qty=0.0 if k % 3 else 0.5,
        )
        for k in range(first, first + n)
    ]


def _reject(b: _Bot) -> tuple[Rejected, str, bytes]:
    b.seq += 1  # a refused message still used up its seq
    return (Rejected("invalid_field", "qty must be > 0", b.bot, b.seq), "fill", b'{"qty": -1}')


def _snapshot(b: _Bot) -> Snapshot:
    body = [
        OrderBody(
            order_id=f"{b.bot}-snap{k}",
            symbol="ETH",
            side="sell",
            type="limit",
            qty=2.0,
            price=11.0 + k,
            status="new",
            filled_qty=0.0,
        )
        for k in range(3)
    ]
    return Snapshot(
        **b.env(),
        positions=[SnapshotPosition(symbol="ETH", qty=-2.0, avg_price=10.5)],
        open_orders=body,
        account=SnapshotAccount(equity=10_050.25, cash=4_000.0, currency="USD"),
    )


def scenario() -> tuple[list[Batch], list[Batch]]:
    """(before the checkpoint, after it): batches as the collector hands them to the hub."""
    b1, b2, b3 = (_Bot(name, T0 - 2 * 3600 + k * 7) for k, name in enumerate(BOTS))
    first: list[Batch] = []
    arrival = ARRIVAL0
    for part in (
        _trading(b1, 12) + _orders(b1, 80),
        [*_trading(b2, 10), Account(**b2.env(), equity=10000.5, cash=5000.0, currency="USD")],
        [Health(**b3.env(), apis={"binance": "up", "feed": "degraded"}, kill_switch="armed")],
        [*_trading(b3, 6), _reject(b3), (Rejected("not_json", "bad bytes", None, None), None, b"\xff{")],
        [_snapshot(b2), Recovered(bot="b2", count=3)],
    ):
        arrival += 1.25
        first.append((arrival, part))
    second: list[Batch] = []
    for part in (
        _trading(b1, 20, offset=12) + _orders(b1, 30, first=80),  # evicts the oldest open orders
        [Health(**b1.env(skip=4), apis={"binance": "down"}, circuit_breaker="open", kill_switch="triggered")],
        [*_trading(b2, 30, offset=10), Account(**b2.env(), equity=9990.75)],
        [*_trading(b3, 8, offset=6), _reject(b3), Recovered(bot="b3", count=1)],
    ):
        arrival += 0.75
        second.append((arrival, part))
    return first, second


def documents(hub: Hub | StateStore) -> dict[str, Any]:
    """The /api/metrics and /api/state documents, minus the ingest rate (a figure of the process)."""
    metrics = metrics_of(hub)
    metrics["collector"].pop("rate_per_s", None)
    return {"metrics": metrics, "state": {bot: state_of(hub, bot) for bot in BOTS}}


def _feed(hub: Hub, clock: FakeClock, batches: list[Batch]) -> None:
    for arrival, items in batches:
        clock.t = arrival
        hub.apply_batch(items, received=len(items))


def write(out: Path) -> None:
    """Run the scenario with the journal on and leave its files and documents in ``out``."""
    first, second = scenario()
    with tempfile.TemporaryDirectory() as tmp:
        live = Path(tmp) / "live"
        clock = FakeClock(ARRIVAL0)
        journal = Journal(live, JOURNAL, clock=clock)
        hub = Hub(journal.restore(CONFIG, clock))
        journal.attach(hub)
        journal.start()
        try:
            _feed(hub, clock, first)
            done = journal.status().snapshots
            journal.checkpoint_now()
            wait_until(lambda: journal.status().snapshots > done, timeout=10)
            _feed(hub, clock, second)
            status = journal.status
            wait_until(lambda: status().queued == 0 and status().committed_batch == journal.recorded_batch)
            shutil.rmtree(out / "data", ignore_errors=True)
            (out / "data").mkdir(parents=True)
            skip = shutil.ignore_patterns("*.tmp")
            shutil.copytree(live / "journal", out / "data" / "journal", ignore=skip)
        finally:
            journal.stop()
        clock.t = READ_AT
        docs = documents(hub)
    (out / "metrics.json").write_text(json.dumps(docs["metrics"], indent=1, sort_keys=True) + "\n")
    for bot, doc in docs["state"].items():
        (out / f"state-{bot}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def expected(out: Path) -> dict[str, Any]:
    """The documents recorded by :func:`write`."""
    state = {bot: json.loads((out / f"state-{bot}.json").read_text()) for bot in BOTS}
    return {"metrics": json.loads((out / "metrics.json").read_text()), "state": state}


if __name__ == "__main__":
    write(Path(sys.argv[1]))
