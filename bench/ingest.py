"""Sustained ingest benchmark: real ZeroMQ TCP into the state store, metrics kept current.

Measured in one run, on the same machine, with the same publisher process:
  1. raw:     a bare pyzmq SUB loop that receives and JSON-decodes each message (the ceiling);
  2. monitor: the product's collector -> validation -> hub -> store, while a reader thread
              computes the full /api/metrics document every 100 ms (metrics current).
Prints events/s for both, their ratio, and events lost (must be 0).

    .venv/bin/python bench/ingest.py [--events 600000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path

import msgspec
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.config import CoreConfig
from app.core.store import StateStore
from app.hub import Hub
from collectors.zmq_collector import Collector, CollectorSupervisor, Endpoint

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


def bench_monitor(port: int, n: int) -> tuple[float, int, dict]:
    endpoint = f"tcp://127.0.0.1:{port}"
    hub = Hub(StateStore(CoreConfig(), time.time))
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
    valid = sum(b.events.received for b in doc.bots.values())
    lost = n - valid + sum(b.events.lost for b in doc.bots.values())
    totals = msgspec.structs.asdict(doc.total)
    return (doc.collector.received - first) / elapsed, lost, {"metric_reads": reads[0], **totals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--port", type=int, default=5599)
    args = parser.parse_args()
    n = args.events
    print(
        f"ingest benchmark: {n} events, 4 bots, mix of mark/fill/order/latency/heartbeat; "
        f"{mp.cpu_count()} cores"
    )
    raw = bench_raw(args.port, n)
    print(f"  raw pyzmq receive+decode : {raw:>10,.0f} events/s")
    rate, lost, info = bench_monitor(args.port + 1, n)
    print(
        f"  monitor (validate+store) : {rate:>10,.0f} events/s  (metrics read {info['metric_reads']}x "
        "during the run)"
    )
    print(f"  ratio monitor/raw        : {rate / raw:10.2f}")
    print(f"  events lost              : {lost:10d}")
    print(
        f"  target >= 100,000 events/s: {'met' if rate >= 100_000 else 'NOT met'}; lost == 0: "
        f"{'yes' if lost == 0 else 'NO'}"
    )
    sys.exit(0 if lost == 0 else 1)


if __name__ == "__main__":
    main()
