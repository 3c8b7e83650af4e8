"""Sustained ingest benchmark: real ZeroMQ TCP into the state store, metrics kept current.

Measured in one run, on the same machine, with the same publisher process:
  1. raw:     a bare pyzmq SUB loop that receives and JSON-decodes each message (the ceiling);
  2. monitor: the product's collector -> validation -> hub -> store, while a reader thread
              computes the full /api/metrics document every 100 ms (metrics current), with the
              state journal off, then on (journal writer thread, fsync'd commits, in a temp dir).
Prints events/s for each, the ratios, and events lost (must be 0).

    .venv/bin/python bench/ingest.py [--events 600000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import gc_policy
from app.hub import Hub
from app.persistence import Journal
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint
from core.config import CoreConfig
from core.storage_settings import JournalSettings
from core.store import StateStore

T0 = 1_800_000_000.0


def build_messages(n: int, bots: int = 4) -> list[list[bytes]]:
    """A realistic mix: marks, fills (with round trips), orders, latencies, heartbeats."""
    enc = msgspec.json.Encoder().encode
    seqs = [0] * bots
    out = []
    for i in range(n):
        b = i % bots
        bot, seq, ts = f"bench-{b}", seqs[b], T0 + i * 1e-5
        seqs[b] += 1
        env = {"v": 1, "bot": bot, "seq": seq, "ts": ts}
        kind = i % 10
        if kind < 3:
            topic, body = b"mark", {**env, "prices": {"BTC": 100.0 + (i % 97) * 0.1, "ETH": 10.0 + i % 13}}
        elif kind < 5:
            side = "buy" if (i // 10) % 2 == 0 else "sell"
            topic, body = (
                b"fill",
                {
                    **env,
                    "fill_id": f"f{i}",
                    "order_id": f"o{i}",
                    "symbol": "BTC",
                    "side": side,
                    "qty": 0.5,
                    "price": 100.0 + (i % 97) * 0.1,
                    "fee": 0.01,
                },
            )
        elif kind < 7:
            topic, body = b"latency", {**env, "op": "submit", "ms": float(i % 50)}
        elif kind < 9:
            topic, body = (
                b"order",
                {
                    **env,
                    "order_id": f"o{i}",
                    "symbol": "BTC",
                    "side": "buy",
                    "type": "limit",
                    "qty": 1.0,
                    "price": 99.0,
                    "status": "new",
                    "filled_qty": 0.0,
                },
            )
        else:
            topic, body = b"heartbeat", env
        out.append([topic, enc(body)])
    return out


def publisher(endpoint: str, n: int, ready: mp.Event, go: mp.Event) -> None:
    msgs = build_messages(n)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.connect(endpoint)
    sock.poll(10_000)  # the subscription has arrived: nothing sent from here on is lost
    sock.recv()
    ready.set()
    go.wait()
    send = sock.send_multipart
    for m in msgs:
        send(m)
    sock.close(linger=-1)
    ctx.term()


def run_publisher(endpoint: str, n: int, sub: zmq.Socket | None = None) -> tuple[mp.Process, mp.Event]:
    """Start the publisher process and wait until it has seen our subscription.

    A SUB socket sends its subscription only while its own thread calls into it,
    so a bare socket (``sub``) is polled meanwhile.
    """
    spawn = mp.get_context("spawn")  # a fresh process: no ZeroMQ context inherited through fork
    ready, go = spawn.Event(), spawn.Event()
    proc = spawn.Process(target=publisher, args=(endpoint, n, ready, go), daemon=True)
    proc.start()
    deadline = time.monotonic() + 120
    while not ready.wait(0.01):
        if sub is not None:
            sub.poll(0)
        if time.monotonic() > deadline:
            raise SystemExit("publisher did not connect")
    return proc, go


def bench_raw(port: int, n: int) -> float:
    endpoint = f"tcp://127.0.0.1:{port}"
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.bind(endpoint)
    proc, go = run_publisher(endpoint, n, sock)
    decode = msgspec.json.decode
    go.set()
    _, payload = sock.recv_multipart()
    decode(payload)
    start = time.perf_counter()
    for _ in range(n - 1):
        _, payload = sock.recv_multipart()
        decode(payload)
    elapsed = time.perf_counter() - start
    proc.join()
    sock.close(linger=0)
    return (n - 1) / elapsed


def bench_monitor(port: int, n: int, journal_dir: str | None = None) -> tuple[float, int, dict]:
    endpoint = f"tcp://127.0.0.1:{port}"
    journal = None
    if journal_dir is None:
        hub = Hub(StateStore(CoreConfig(), time.time))
    else:
        journal = Journal(journal_dir, JournalSettings())
        hub = Hub(journal.restore(CoreConfig(), time.time))
        journal.attach(hub)
        journal.start()
    sup = CollectorSupervisor(Collector(hub, [Endpoint(endpoint)]))
    sup.start()
    stop = threading.Event()
    reads = [0]

    def reader() -> None:  # the dashboard/alerts' view: full metrics, 10 times a second
        while not stop.wait(0.1):
            hub.metrics()
            reads[0] += 1

    threading.Thread(target=reader, daemon=True).start()
    proc, go = run_publisher(endpoint, n)
    go.set()
    while hub.received == 0:
        time.sleep(0.0005)
    start = time.perf_counter()
    first = hub.received
    deadline = time.monotonic() + 300
    while hub.received < n and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    proc.join()
    stop.set()
    doc = hub.metrics()
    sup.stop()
    journal_info: dict = {}
    if journal is not None:
        status = journal.status()
        journal.stop()
        journal_info = {"journal_failing": status.failure}
    valid = sum(b.events.received for b in doc.bots.values())
    lost = n - valid + sum(b.events.lost for b in doc.bots.values())
    totals = msgspec.structs.asdict(doc.total)
    info = {"metric_reads": reads[0], **journal_info, **totals}
    return (doc.collector.received - first) / elapsed, lost, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--port", type=int, default=5599)
    parser.add_argument("--repeat", type=int, default=2, help="alternated runs of each mode (best is kept)")
    args = parser.parse_args()
    gc_policy.apply()  # the monitor's own policy (python -m app applies it at start-up)
    n = args.events
    print(
        f"ingest benchmark: {n} events, 4 bots, mix of mark/fill/order/latency/heartbeat; "
        f"{mp.cpu_count()} cores"
    )
    raw = bench_raw(args.port, n)
    print(f"  raw pyzmq receive+decode : {raw:>10,.0f} events/s")
    runs: dict[bool, list[tuple[float, int, dict]]] = {False: [], True: []}
    for r in range(args.repeat):  # alternated, so a noisy neighbour hurts both modes alike
        runs[False].append(bench_monitor(args.port + 1 + 2 * r, n))
        with tempfile.TemporaryDirectory() as tmp:
            runs[True].append(bench_monitor(args.port + 2 + 2 * r, n, journal_dir=tmp))
    rate = max(x[0] for x in runs[False])
    jrate = max(x[0] for x in runs[True])
    lost = sum(x[1] for x in runs[False])
    jlost = sum(x[1] for x in runs[True])
    every = lambda mode: ", ".join(f"{x[0]:,.0f}" for x in runs[mode])  # noqa: E731
    print(f"  monitor, journal off     : {rate:>10,.0f} events/s  best of [{every(False)}]")
    failing = "; ".join(x[2]["journal_failing"] for x in runs[True] if x[2]["journal_failing"]) or "no"
    print(f"  monitor, journal on      : {jrate:>10,.0f} events/s  best of [{every(True)}]")
    print(f"  journal failing          : {failing}")
    print(f"  ratio monitor/raw        : {rate / raw:10.2f} (journal off)")
    print(f"  ratio journal on/off     : {jrate / rate:10.2f}")
    print(f"  events lost              : {lost:10d} (off), {jlost} (on)")
    lost_all = lost + jlost
    print(
        f"  targets: journal on >= 100,000 events/s: {'met' if jrate >= 100_000 else 'NOT met'}; "
        f"on >= 0.8 x off: {'met' if jrate >= 0.8 * rate else 'NOT met'}; lost == 0: "
        f"{'yes' if lost_all == 0 else 'NO'}"
    )
    sys.exit(0 if lost_all == 0 else 1)


if __name__ == "__main__":
    main()
