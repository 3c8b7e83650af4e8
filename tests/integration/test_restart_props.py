"""Restart with every number intact: journal + checkpoint as SIGKILL leaves them, then the rest of the stream.

For random streams (every topic, several bots, seq gaps and restarts, rejects), a random
crash point and a random checkpoint before it, the monitor's files are copied at the
moment of the crash exactly as a SIGKILL leaves them (what was committed; optionally a
torn record after it), restored into a fresh store in the same process, and fed the rest
of the stream; every value of /api/metrics and /api/state must equal the uninterrupted
run's.  Real files, the real journal writer thread.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.persistence import Journal
from tests.support.clock import FakeClock
from tests.support.durability import CONFIG, FAST_JOURNAL, crash_copy, documents, feed, new_hub, streams
from tests.support.waiting import wait_until


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), data=st.data())
def test_restore_plus_rest_of_stream_equals_uninterrupted_run(stream, data) -> None:
    crash = data.draw(st.integers(0, len(stream)), label="crash after batch")
    snap = data.draw(st.one_of(st.none(), st.integers(0, crash)), label="checkpoint after batch")
    torn = data.draw(st.booleans(), label="torn record at the tail")

    now = stream[-1][0] + 1.0  # both runs are read at the same wall-clock time
    clock = FakeClock()
    reference = new_hub(clock)
    feed(reference, clock, stream)
    clock.t = now
    expected = documents(reference)

    with tempfile.TemporaryDirectory() as tmp:
        live_dir, crash_dir = Path(tmp) / "live", Path(tmp) / "crashed"
        clock = FakeClock()
        journal = Journal(live_dir, FAST_JOURNAL, clock=clock)
        hub = new_hub(clock, journal.restore(CONFIG, clock))
        journal.attach(hub)
        journal.start()
        try:
            cut = crash if snap is None else snap
            feed(hub, clock, stream[:cut])
            if snap is not None:
                journal.checkpoint_now()
                # the checkpoint is written (renamed, old files pruned) before the copy: a copy taken
                # while it is being written would mix files of two moments, which no crash can leave
                wait_until(lambda: journal.status().snapshots == 1, timeout=10)
                feed(hub, clock, stream[cut:crash])
            crash_copy(journal, live_dir, crash_dir)
        finally:
            journal.stop()
        if torn:
            segment = max((crash_dir / "journal").glob("segment-*.log"))
            with segment.open("ab") as f:
                f.write(b"\x40\x00\x00\x00torn-write")

        clock = FakeClock()
        restored = Journal(crash_dir, FAST_JOURNAL, clock=clock)
        hub = new_hub(clock, restored.restore(CONFIG, clock))
        info = restored.restore_info
        assert info is not None and info.lost_bytes == (14 if torn else 0)
        feed(hub, clock, stream[crash:])
        clock.t = now
        assert documents(hub) == expected
