"""What a monitor's recovery costs the bot: ``BotPublisher.send()`` latency, idle and during a replay.

One process is the bot (a ``BotPublisher`` sending at a steady pace, as a trading bot
does), another the monitor (an XSUB draining everything, which asks for the bot's
whole buffer of 100,000 events when told).  Measured in one run:
  1. idle:   send() durations with nothing to replay;
  2. replay: send() durations while the bot's replay thread re-sends the 100,000 events
             at its bounded rate (``replay_rate``).
Prints p50/p99 of both and their ratio (the target: the replay p99 within 2x the idle one);
``--repeat`` alternates the two phases that many times (one fresh buffer each) and also
prints the median ratio, which a machine shared with other work needs; ``--interleave N``
instead replays the 100,000 events as N requests, each right after an idle window of the
same length, so both figures come from the same moments of a busy machine.

    .venv/bin/python bench/replay_publisher.py [--events 100000] [--pace-us 500] [--rate 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.publisher import REPLAY_RATE, BotPublisher
from collectors.recovery import encode_request

T0 = 1_800_000_000.0


def _monitor(endpoint: str, conn) -> None:
    """The monitor's side: drain everything; ask for a replay when the bot's process says so."""
    sock = zmq.Context.instance().socket(zmq.XSUB)
    sock.setsockopt(zmq.RCVHWM, 2_000_000)
    sock.bind(endpoint)
    sock.send(b"\x01")
    received = 0
    while True:
        if conn.poll(0):
            cmd = conn.recv()
            if cmd == "stop":
                conn.send(received)
                return
            bot, first, last, run = cmd
            sock.send_multipart(encode_request(bot, first, last, run))
        if sock.poll(10):
            while True:
                try:
                    sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                received += 1


def _timed_sends(pub: BotPublisher, n: int, pace_s: float, until=None) -> list[float]:
    """Durations (µs) of ``n`` paced send() calls, or as many as happen before ``until()``."""
    out: list[float] = []
    nxt = time.perf_counter()
    i = 0
    while (until is None and i < n) or (until is not None and not until()):
        nxt += pace_s
        t = time.perf_counter_ns()
        pub.fill(f"f{i}", f"o{i}", "BTC", "buy" if i % 2 else "sell", 0.01, 64000.0 + i % 7, ts=T0 + i)
        out.append((time.perf_counter_ns() - t) / 1000)
        i += 1
        pause = nxt - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return out


def _p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=1000)[int(q * 1000) - 1]


def _round(pub: BotPublisher, parent, args: argparse.Namespace) -> tuple[list[float], list[float], float]:
    """One idle phase, then one replay of the whole buffer: (idle µs, during µs, replay seconds)."""
    for i in range(args.events):  # the buffer a long outage leaves
        pub.heartbeat(ts=T0 + i)
    pace = args.pace_us / 1e6
    idle = _timed_sends(pub, args.idle_sends, pace)
    start = pub.events_replayed
    parent.send(("replay-bench", pub.seq - args.events, pub.seq - 1, pub.run))
    wait_start = time.monotonic()
    while pub.events_replayed == start and time.monotonic() - wait_start < 10:
        time.sleep(0.001)
    began = time.monotonic()
    during = _timed_sends(pub, 0, pace, until=lambda: pub.events_replayed - start >= args.events)
    return idle, during, time.monotonic() - began


def _interleaved(
    pub: BotPublisher, parent, args: argparse.Namespace
) -> tuple[list[float], list[float], float]:
    """Idle windows and replay windows alternated: (idle µs, during µs, total replay seconds)."""
    for i in range(args.events):
        pub.heartbeat(ts=T0 + i)
    pace = args.pace_us / 1e6
    first = pub.seq - args.events
    size = args.events // args.interleave
    idle: list[float] = []
    during: list[float] = []
    took = 0.0
    for k in range(args.interleave):
        start = pub.events_replayed
        parent.send(("replay-bench", first + k * size, first + (k + 1) * size - 1, pub.run))
        while pub.events_replayed == start:
            time.sleep(0.0005)
        began = time.monotonic()
        during += _timed_sends(pub, 0, pace, until=lambda s=start: pub.events_replayed - s >= size)
        window = time.monotonic() - began
        took += window
        idle += _timed_sends(pub, max(1, int(window / pace)), pace)
    return idle, during, took


def _line(name: str, samples: list[float]) -> str:
    p50, p99 = _p(samples, 0.5), _p(samples, 0.99)
    return f"send() {name}: p50 {p50:7.1f} µs  p99 {p99:7.1f} µs  ({len(samples)} sends)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000, help="events in the bot's buffer, all replayed")
    ap.add_argument("--pace-us", type=float, default=500.0, help="the bot's own send interval (µs)")
    ap.add_argument("--rate", type=float, default=REPLAY_RATE, help="replay_rate of the publisher")
    ap.add_argument("--idle-sends", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--interleave", type=int, default=0, help="replay in N requests between idle windows")
    args = ap.parse_args()
    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_monitor, args=(endpoint, child), daemon=True)
    proc.start()
    pub = BotPublisher("replay-bench", endpoint, connect_timeout=10, replay_rate=args.rate)
    ratios = []
    try:
        for _ in range(args.repeat):
            measure = _interleaved if args.interleave else _round
            idle, during, took = measure(pub, parent, args)
            ratios.append(_p(during, 0.99) / _p(idle, 0.99))
            print(f"replay of {args.events:,} events at replay_rate={args.rate:,.0f}/s took {took:.2f} s")
            print(_line("idle  ", idle))
            print(_line("replay", during))
            print(f"p99 ratio replay/idle: {ratios[-1]:.2f} (target <= 2)", flush=True)
    finally:
        pub.close(0)
        parent.send("stop")
        parent.recv()
        proc.join(5)
    if args.repeat > 1:
        print(f"median p99 ratio over {args.repeat} rounds: {statistics.median(ratios):.2f}")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    raise SystemExit(main())
