"""The garbage collector's policy for the monitor, a long-running process that ingests fast.

CPython's default starts a young-generation pass every 700 container allocations,
a setting made for short scripts.  At 100,000 events/s the monitor allocates
millions of short-lived objects a second (decoded events, batches, journal
records), and each pass also ages whatever the in-flight batches still hold,
which then makes the passes over the older generations, and with them over the
whole state (open orders, sample rings, windows), frequent.  bench/ingest.py
measured that as about a fifth of ingest's CPU time.  A young generation of
50,000 objects makes passes rare while what waits for one stays a few MB; the
older generations keep their default ratios to it.
"""

from __future__ import annotations

import gc

#: (young, middle, old) thresholds of :func:`gc.set_threshold`.
THRESHOLDS = (50_000, 20, 10)


def apply() -> None:
    """Set the monitor's thresholds (once, at start-up, before the state is restored)."""
    gc.set_threshold(*THRESHOLDS)
