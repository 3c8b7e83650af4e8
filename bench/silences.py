"""Silences benchmark (prints figures; run: .venv/bin/python bench/silences.py).

1. Make: the time a silence takes to be made, written and fsync'd to the alert store
   (what a ``POST /api/silences`` waits for before it returns): 200 silences, p50/p99.
2. Gate: the cost the gate's silence check adds per notification with the most silences
   the monitor lists (1000), none matching: 1000 silences of other bots (the index reads
   none of them), and 1000 of any bot (``*``) for another severity (each one is read).
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts import notices
from alerts.config import AlertsSettings
from alerts.engine import Engine
from alerts.outbox import Outbox
from alerts.silencing import MAX_LISTED
from alerts.states import Alert, Notice


def _engine(data_dir: str) -> Engine:
    return Engine(
        Outbox(data_dir), AlertsSettings(), stale_after_s=30.0, dashboard_url="", dests_of=lambda c: [c]
    )


def make(engine: Engine, n: int = 200, *, any_bot: bool = False) -> list[float]:
    """Milliseconds per silence made (validated, written with an fsync, applied)."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        bot, rule, severity = ("*", "kill_switch", "info") if any_bot else (f"bench-{i}", "*", "*")
        made = engine.silence(bot, rule, severity, 3600.0, "bench", "api", time.time())
        out.append((time.perf_counter() - t0) * 1000)
        assert made.silence is not None, made.refused
    return out


def gate(engine: Engine, rounds: int = 2000) -> float:
    """Microseconds the gate spends per alert notification with MAX_LISTED silences, none matching."""
    alert = Alert("a1", "kill_switch|b1", "kill_switch", "b1", "critical", "firing", since=0.0)
    n = notices.of_alert(alert, Notice("a1", "firing", ("hook",)), {"bot": "b1", "rule": "kill_switch"})
    now = time.time()
    t0 = time.perf_counter()
    for _ in range(rounds):
        engine.gate([n], now)
    with_silences = (time.perf_counter() - t0) / rounds
    engine.silences = {}
    t0 = time.perf_counter()
    for _ in range(rounds):
        engine.gate([n], now)
    without = (time.perf_counter() - t0) / rounds
    return (with_silences - without) * 1e6


def main() -> None:
    logging.disable(logging.WARNING)  # one log line per silence made is the product's, not the figures
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(tmp)
        ms = sorted(make(engine))
        p99 = ms[int(len(ms) * 0.99) - 1]
        p50 = statistics.median(ms)
        print(f"make a silence (written + fsync): n={len(ms)} p50={p50:.2f} ms p99={p99:.2f} ms")
        make(engine, MAX_LISTED - len(engine.silences))  # up to the bound
        print(f"gate check, {MAX_LISTED} silences of other bots: {gate(engine):+.1f} us per notification")
        engine.outbox.close()
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(tmp)
        make(engine, MAX_LISTED, any_bot=True)
        cost = gate(engine)
        print(f"gate check, {MAX_LISTED} silences of any bot, none matching: {cost:+.1f} us per notification")
        engine.outbox.close()


if __name__ == "__main__":
    main()
