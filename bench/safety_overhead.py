"""What the safety facts cost on the write path: events/s of ``StateStore.apply_batch`` alone.

The store's write path (the part of ingest that the safety facts add to, core/safety.py),
without sockets or threads, so the figure moves only with the code: the event mix of
bench/ingest.py (marks, fills, new orders, latencies, heartbeats; 4 bots) applied in batches
of 512, best of ``--repeat`` runs.  ``--tree`` runs the same measurement against another
checkout of the product (a previous release, to compare), imported instead of this one.

    .venv/bin/python bench/safety_overhead.py [--events 300000] [--tree /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from bench.ingest import build_messages
    from collectors.events import decode
    from core.config import CoreConfig
    from core.store import StateStore

    events = [decode(topic, payload) for topic, payload in build_messages(args.events)]
    rates = []
    for _ in range(args.repeat):
        store = StateStore(CoreConfig(), clock=time.time)
        start = time.process_time()  # CPU time of this process: less moved by a busy machine
        for i in range(0, len(events), 512):
            store.apply_batch(events[i : i + 512], arrival=1_800_000_000.0)
        rates.append(len(events) / (time.process_time() - start))
    best = max(rates)
    print(f"tree {args.tree}: {len(events):,} events, apply_batch best {best:,.0f} events per CPU second")
    print("  runs: " + ", ".join(f"{r:,.0f}" for r in rates))


if __name__ == "__main__":
    main()
