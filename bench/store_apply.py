"""The store's write path alone: events/s of ``StateStore.apply`` over a realistic mix, no sockets.

What the day's figures cost on the ingest hot path (the daily report's realized P&L, fees, drawdown
and stale time are kept per event): run it on two trees and compare, alternating runs.

    PYTHONPATH=<tree> .venv/bin/python bench/store_apply.py [--events 400000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import time

from collectors.events import Fill, Heartbeat, Latency, Mark
from core.config import CoreConfig, MetricsSettings
from core.store import StateStore

T0 = 1_800_000_000.0


def events(n: int, bots: int = 4) -> list:
    """Marks, fills that open and close positions, latencies and heartbeats, 10 ms apart per bot."""
    rng = random.Random(7)
    out: list = []
    for i in range(n):
        bot, seq, ts = f"b{i % bots}", i // bots + 1, T0 + i * 0.01
        kind = rng.random()
        if kind < 0.4:
            out.append(Mark(v=1, bot=bot, seq=seq, ts=ts, prices={"X": 100 + rng.random()}))
        elif kind < 0.7:
            side = "buy" if rng.random() < 0.5 else "sell"
            price = 100 + rng.random()
            fill = dict(
                fill_id=f"f{i}", order_id=f"o{i}", symbol="X", side=side, qty=1.0, price=price, fee=0.01
            )
            out.append(Fill(v=1, bot=bot, seq=seq, ts=ts, **fill))
        elif kind < 0.9:
            out.append(Latency(v=1, bot=bot, seq=seq, ts=ts, op="submit", ms=rng.random() * 50))
        else:
            out.append(Heartbeat(v=1, bot=bot, seq=seq, ts=ts))
    return out


def run(evs: list) -> float:
    """Events/s of one pass over a new store (America/New_York, so the day rolls in local time)."""
    store = StateStore(CoreConfig(metrics=MetricsSettings(timezone="America/New_York")), clock=time.time)
    start = time.perf_counter()
    for ev in evs:
        store.apply(ev, arrival=ev.ts)
    return len(evs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    evs = events(args.events)
    rates = sorted(run(evs) for _ in range(args.repeat))
    print(f"store.apply: best {rates[-1]:,.0f} events/s, median {rates[len(rates) // 2]:,.0f} events/s")


if __name__ == "__main__":
    main()
