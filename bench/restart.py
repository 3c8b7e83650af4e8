"""Restart benchmark: a monitor holding 24 h of 4 bots at 100 events/s is killed and started again.

1. A child process builds the state through the real hub and journal: per bot, events
   spread over 24 hours of event time, enough that every memory bound of the store is
   reached (latency and error rings full, equity curve thinned, a day of Sharpe buckets,
   open orders at their cap); the store's state is bounded, so this is the state of any
   longer run.  It checkpoints, then journals the tail a checkpoint interval leaves
   (``--tail-s`` seconds at 4 x 100 events/s), waits until it is committed and is killed
   with SIGKILL.
2. ``python -m app`` is started on that data directory; the figure is the time from
   launching it until /api/metrics answers with the state restored (it restores before
   it serves), plus the restore's own duration and the data directory's size.

    .venv/bin/python bench/restart.py [--tail-s 300] [--per-bot 260000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.hub import Hub  # noqa: E402
from app.persistence import Journal  # noqa: E402
from collectors.events import Error, Fill, Latency, Mark, Order  # noqa: E402
from core.config import CoreConfig  # noqa: E402
from core.storage_settings import JournalSettings  # noqa: E402

BOTS = 4
RATE = 100  # events/s per bot


def events_for(bot: str, n: int, t0: float, span: float) -> list:
    """``n`` events of one bot over ``span`` seconds: latencies and errors fill their rings."""
    out: list = []
    step = span / n
    for i in range(n):
        ts, kind = t0 + i * step, i % 20
        env = {"v": 1, "bot": bot, "seq": i, "ts": ts}
        if kind < 8:
            out.append(Latency(**env, op=("submit", "cancel", "amend")[i % 3], ms=float(i % 97)))
        elif kind < 16:
            out.append(Error(**env, component="feed", message="timeout", severity="error"))
        elif kind < 17:
            side = "buy" if (i // 20) % 2 == 0 else "sell"
            out.append(
                Fill(
                    **env,
                    fill_id=f"f{i}",
                    order_id=f"o{i}",
                    symbol="BTC",
                    side=side,
                    qty=0.5,
                    price=100.0 + i % 89 * 0.1,
                    fee=0.01,
                )
            )
        elif kind < 18:
            out.append(Mark(**env, prices={"BTC": 100.0 + i % 83 * 0.1, "ETH": 10.0 + i % 7}))
        else:
            out.append(
                Order(
                    **env,
                    order_id=f"o{i}",
                    symbol="BTC",
                    side="buy",
                    type="limit",
                    qty=1.0,
                    price=99.0,
                    status="new",
                    filled_qty=0.0,
                )
            )
    return out


def interleave(per_bot: list[list], batch: int) -> list[list]:
    merged = sorted((e for evs in per_bot for e in evs), key=lambda e: e.ts)
    return [merged[i : i + batch] for i in range(0, len(merged), batch)]


def build(data_dir: str, per_bot: int, tail_s: float, ready: mp.Event) -> None:
    """Child: build the state with the journal on, checkpoint, journal the tail, then wait to be killed."""
    now = time.time()
    settings = JournalSettings()  # the defaults: size-triggered checkpoints happen during the build
    journal = Journal(data_dir, settings)
    hub = Hub(journal.restore(CoreConfig(), time.time))
    journal.attach(hub)
    journal.start()
    start = now - 86400
    body_end = now - tail_s
    body = [events_for(f"bot-{b}", per_bot, start, body_end - start) for b in range(BOTS)]
    t = time.perf_counter()
    for items in interleave(body, 1000):
        hub.apply_batch(items, received=len(items))
    print(f"  built {BOTS * per_bot:,} events in {time.perf_counter() - t:.1f} s", flush=True)
    done = journal.status().snapshots
    journal.checkpoint_now()
    while journal.status().snapshots <= done:
        time.sleep(0.05)
    status = journal.status()
    print(
        f"  checkpoint: ingest paused {status.last_snapshot_pause_ms:.1f} ms while it was taken", flush=True
    )
    tail_n = int(tail_s * RATE)
    tail = []
    for b in range(BOTS):
        evs = events_for(f"bot-{b}", tail_n, body_end, tail_s)
        tail.append([msgspec_replace_seq(e, per_bot + k) for k, e in enumerate(evs)])
    for items in interleave(tail, 40):  # 0.1 s of 4 bots at 100 events/s per batch
        hub.apply_batch(items, received=len(items))
    while journal.status().uncommitted or journal.status().queued:
        time.sleep(0.05)
    print(f"  journal tail: {BOTS * tail_n:,} events committed; {hub.received:,} received in all", flush=True)
    ready.set()
    time.sleep(3600)  # killed with SIGKILL by the parent


def msgspec_replace_seq(event, seq: int):
    import msgspec

    return msgspec.structs.replace(event, seq=seq)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def restart(data_dir: Path) -> tuple[float, dict]:
    """Launch ``python -m app`` on the data directory; time until /api/metrics answers."""
    port, zport = free_port(), free_port()
    cfg = data_dir.parent / "settings.yaml"
    cfg.write_text(f"storage:\n  data_dir: {data_dir}\nlogging:\n  level: WARNING\n")
    cmd = [
        sys.executable,
        "-m",
        "app",
        "--config",
        str(cfg),
        "--port",
        str(port),
        "--zmq",
        f"tcp://127.0.0.1:{zport}",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/metrics", timeout=5) as r:
                    doc = json.loads(r.read())
                    return time.perf_counter() - started, doc
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"monitor exited with {proc.returncode}") from None
                time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-bot", type=int, default=260_000, help="events per bot over the 24 h")
    parser.add_argument("--tail-s", type=float, default=300.0, help="journal tail after the checkpoint (s)")
    args = parser.parse_args()
    print(f"restart benchmark: 4 bots, 24 h, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        spawn = mp.get_context("spawn")
        ready = spawn.Event()
        child = spawn.Process(target=build, args=(str(data), args.per_bot, args.tail_s, ready))
        child.start()
        if not ready.wait(900):
            child.kill()
            raise SystemExit("the build did not finish")
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        size = dir_size(data)
        elapsed, doc = restart(data)
        info = doc["persistence"]["restore"]
        bots = doc["bots"]
        verdict = "met" if elapsed <= 5 else "NOT met"
        print(f"  data directory after the kill : {size / 1e6:10.1f} MB")
        print(f"  restart to restored + serving : {elapsed:10.2f} s  (target <= 5 s: {verdict})")
        print(
            f"  of which the restore          : {info['duration_s']:10.2f} s  (checkpoint {info['snapshot']},"
        )
        print(f"                                  {info['journal_events']:,} journal events replayed)")
        print(
            f"  bots restored                 : {len(bots)}; events received {doc['collector']['received']:,}"
        )
        print(
            f"  data directory after restart  : {dir_size(data) / 1e6:10.1f} MB (final checkpoint on SIGTERM)"
        )


if __name__ == "__main__":
    main()
