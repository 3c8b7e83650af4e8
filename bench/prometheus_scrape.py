"""GET /metrics benchmark: scrape time at 100 bots, its lock hold, and ingest while Prometheus scrapes.

Measured in one run, on the same machine:
  1. scrape: the exposition of 100 bots (3 open positions each) as GET /metrics builds it, with
     one event applied before each scrape so the metrics document is recomputed (what a scrape
     every second meets while bots publish): p50 / p99 / max, wall time and the thread's CPU
     time (on a machine shared with other work, the wall time is mostly waiting for a core);
  2. lock hold: time inside the hub's lock for a metrics read (the document /api/metrics
     serves, recomputed) and for the positions read the exposition adds;
  3. ingest: the product's collector -> hub -> store over real ZeroMQ (bench/ingest.py's
     publisher and messages), without a scraper and with one scraping every second,
     alternated; the ratio must stay >= 0.95.

    .venv/bin/python bench/prometheus_scrape.py [--scrapes 300] [--events 300000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.read_model import AlertStatus
from app import gc_policy
from app.hub import Hub
from app.prometheus import Exposition
from bench.ingest import run_publisher
from collectors.events import Account, Fill, Mark
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.documents import MetricsDocument, PositionsDocument
from core.store import StateStore

T0 = 1_800_000_000.0
SYMBOLS = ("BTC", "ETH", "SOL")


def exposition(hub: Hub) -> Exposition:
    """What GET /metrics serves, over ``hub`` (no alert engine: its status is one attribute read)."""
    status = AlertStatus()
    return Exposition(
        [(MetricsDocument, hub.metrics), (PositionsDocument, hub.positions), (AlertStatus, lambda: status)]
    )


def fleet(bots: int) -> Hub:
    hub = Hub(StateStore(CoreConfig(), time.time))
    for b in range(bots):
        bot = f"bot-{b:03d}"
        hub.apply(Account(v=1, bot=bot, seq=0, ts=T0, equity=10_000.0, cash=10_000.0, currency="USD"))
        for i, sym in enumerate(SYMBOLS):
            hub.apply(
                Fill(
                    v=1, bot=bot, seq=1 + i, ts=T0, fill_id=f"f{i}", order_id=f"o{i}", symbol=sym,
                    side="buy", qty=1.0 + i, price=100.0, fee=0.1,
                )
            )  # fmt: skip
    return hub


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms   max {ms[-1]:6.2f} ms"


def bench_scrape(bots: int, scrapes: int) -> tuple[list[float], list[float], int]:
    """Wall time and CPU time of the scraping thread (the latter is what a busy machine cannot inflate)."""
    hub = fleet(bots)
    reg = exposition(hub)
    wall, cpu, size = [], [], 0
    for n in range(scrapes):
        hub.apply(Mark(v=1, bot="bot-000", seq=10 + n, ts=T0 + n, prices={"BTC": 100.0 + n % 7}))
        start, start_cpu = time.perf_counter(), time.thread_time()
        size = len(reg.render())
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return wall, cpu, size


def bench_lock(bots: int, reads: int) -> tuple[list[float], list[float]]:
    """Time inside the lock: a metrics read (recomputed) and the positions read."""
    hub = fleet(bots)
    held_metrics, held_positions = [], []

    def timed(fn: Callable[[StateStore], object], into: list[float]) -> None:
        def inner(store: StateStore) -> None:
            start = time.perf_counter()
            fn(store)
            into.append(time.perf_counter() - start)

        hub.under_lock(inner)

    for n in range(reads):
        hub.apply(Mark(v=1, bot="bot-000", seq=10 + n, ts=T0 + n, prices={"BTC": 100.0 + n % 7}))
        timed(lambda s: s.metrics(), held_metrics)
        timed(lambda s: s.positions(), held_positions)
    return held_metrics, held_positions


def bench_ingest(port: int, n: int, scrape: bool) -> tuple[float, int]:
    """Events/s through the collector, with or without a scraper every second; scrapes done."""
    endpoint = f"tcp://127.0.0.1:{port}"
    hub = Hub(StateStore(CoreConfig(), time.time))
    reg = exposition(hub)
    sup = CollectorSupervisor(Collector(hub, [Endpoint(endpoint)]))
    sup.start()
    stop, scrapes = threading.Event(), [0]

    def scraper() -> None:  # Prometheus at scrape_interval 1s
        while not stop.wait(1.0):
            reg.render()
            scrapes[0] += 1

    if scrape:
        threading.Thread(target=scraper, daemon=True).start()
    proc, go = run_publisher(endpoint, n)
    go.set()
    while hub.received == 0:
        time.sleep(0.0005)
    start, first = time.perf_counter(), hub.received
    deadline = time.monotonic() + 300
    while hub.received < n and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    proc.join()
    stop.set()
    received = hub.received
    sup.stop()
    return (received - first) / elapsed, scrapes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--port", type=int, default=5699)
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternated ingest runs of each mode (best kept)"
    )
    args = parser.parse_args()
    gc_policy.apply()
    times, cpu, size = bench_scrape(args.bots, args.scrapes)
    print(f"GET /metrics at {args.bots} bots, {len(SYMBOLS)} positions each ({size:,} bytes):")
    print(f"  scrape, wall time            : {percentiles(times)}")
    print(f"  scrape, CPU time             : {percentiles(cpu)}")
    held_metrics, held_positions = bench_lock(args.bots, args.scrapes)
    print(f"  lock held, metrics read      : {percentiles(held_metrics)}")
    print(f"  lock held, positions read    : {percentiles(held_positions)}")
    runs: dict[bool, list[float]] = {False: [], True: []}
    scrapes = 0
    for r in range(args.repeat):  # alternated, so a noisy neighbour hurts both modes alike
        runs[False].append(bench_ingest(args.port + 2 * r, args.events, scrape=False)[0])
        rate, done = bench_ingest(args.port + 2 * r + 1, args.events, scrape=True)
        runs[True].append(rate)
        scrapes += done
    off, on = max(runs[False]), max(runs[True])
    every = lambda mode: ", ".join(f"{x:,.0f}" for x in runs[mode])  # noqa: E731
    print(f"ingest, {args.events:,} events over ZeroMQ (best of {args.repeat}, alternated):")
    print(f"  without a scraper            : {off:>10,.0f} events/s  [{every(False)}]")
    print(f"  scraped every second         : {on:>10,.0f} events/s  [{every(True)}]  ({scrapes} scrapes)")
    print(f"  ratio scraped/unscraped      : {on / off:10.3f}")
    p99 = sorted(times)[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"  targets: scrape p99 <= 50 ms: {'met' if p99 <= 0.05 else 'NOT met'}; "
        f"ingest scraped >= 0.95 x unscraped: {'met' if on >= 0.95 * off else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
