"""Journal faults: a torn tail, a corrupt checkpoint, no restorable state, an unknown version, a full disk.

Nothing unreadable is ever deleted: it goes to ``<data_dir>/quarantine/`` with its reason.

Real files in a temp directory and the real journal writer thread.  The full disk is tested
twice: through the journal's injectable file opener (``tests.support.durability.FailingDisk``:
every write and flush raises ENOSPC while it is set), which runs everywhere, and on a real
4 MB tmpfs filled up to ENOSPC, which needs the right to mount (root) and is skipped without it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.persistence import DurabilityError, EmptyStateRefused, Journal
from app.restore import QUARANTINE_KEEP, Quarantine
from core.checkpoint import FORMAT_VERSION
from tests.support.clock import FakeClock
from tests.support.durability import (
    CONFIG,
    FAST_JOURNAL,
    FailingDisk,
    LiveJournal,
    committed,
    crash_copy,
    documents,
    feed,
    new_hub,
    restore,
    streams,
    trading_stream,
)
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
STREAM = st.shared(streams(max_batches=16).filter(lambda s: len(s) >= 6), key="stream")


def reference(batches) -> dict:
    clock = FakeClock()
    hub = new_hub(clock)
    feed(hub, clock, batches)
    clock.t = 1_800_000_000.0
    return documents(hub)


def read_at(hub, clock: FakeClock) -> dict:
    clock.t = 1_800_000_000.0
    return documents(hub)


def segments(data: Path) -> list[Path]:
    return sorted((data / "journal").glob("segment-*.log"))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=STREAM)
def test_a_torn_tail_is_cut_at_the_last_good_record_and_reported(stream, tmp_path_factory) -> None:
    tmp = tmp_path_factory.mktemp("torn")
    live = LiveJournal(tmp / "live", FakeClock())
    live.feed(stream)
    crashed = crash_copy(live.journal, tmp / "live", tmp / "crashed")
    live.stop()
    last = segments(crashed)[-1]
    size = last.stat().st_size
    with last.open("r+b") as f:  # power loss in the middle of the last record
        f.truncate(size - 3)

    clock = FakeClock()
    hub, journal = restore(crashed, clock)
    info = journal.restore_info
    assert info is not None and info.lost_bytes > 0
    assert any("cut off" in p for p in info.problems), info.problems
    assert read_at(hub, clock) == reference(stream[:-1])  # everything but the torn batch
    tails = list((crashed / "quarantine").glob(f"*-{last.name}.tail"))
    assert len(tails) == 1 and tails[0].stat().st_size == info.lost_bytes  # the cut bytes, kept
    assert "torn or corrupt journal tail" in tails[0].with_name(tails[0].name + ".reason").read_text()
    again = Journal(crashed, FAST_JOURNAL, clock=FakeClock())
    again.restore(CONFIG, FakeClock())
    assert again.restore_info is not None and again.restore_info.problems == []  # the file was repaired


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=STREAM)
def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one_plus_the_journal(
    stream, tmp_path_factory
) -> None:
    tmp = tmp_path_factory.mktemp("corrupt")
    third = len(stream) // 3
    live = LiveJournal(tmp / "live", FakeClock())
    for k, part in enumerate((stream[:third], stream[third : 2 * third]), start=1):
        live.feed(part)
        live.journal.checkpoint_now()
        wait_until(lambda k=k: live.journal.status().snapshots == k, timeout=10)
    live.feed(stream[2 * third :])
    crashed = crash_copy(live.journal, tmp / "live", tmp / "crashed")
    live.stop()
    snaps = sorted((crashed / "journal").glob("snapshot-*.ckpt"))
    assert len(snaps) == 2
    data = bytearray(snaps[-1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # bit rot in the newest checkpoint
    snaps[-1].write_bytes(bytes(data))

    clock = FakeClock()
    hub, journal = restore(crashed, clock)
    info = journal.restore_info
    assert info is not None and info.snapshot == snaps[0].name
    assert any(snaps[-1].name in p and "quarantine" in p for p in info.problems), info.problems
    assert read_at(hub, clock) == reference(stream)
    kept = list((crashed / "quarantine").glob(f"*-{snaps[-1].name}"))
    assert len(kept) == 1 and kept[0].read_bytes() == bytes(data)  # the evidence, byte for byte


def _two_checkpoints(tmp: Path, stream) -> Path:
    """A data directory after two checkpoints: the journal before the older one is gone (retention)."""
    live = LiveJournal(tmp / "live", FakeClock())
    half = len(stream) // 2
    for k, part in enumerate((stream[:half], stream[half:]), start=1):
        live.feed(part)
        live.journal.checkpoint_now()
        wait_until(lambda k=k: live.journal.status().snapshots == k, timeout=10)
    crashed = crash_copy(live.journal, tmp / "live", tmp / "crashed")
    live.stop()
    return crashed


def _rot(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _files(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


def test_no_restorable_state_is_refused_untouched_unless_starting_empty_is_accepted(tmp_path: Path) -> None:
    crashed = _two_checkpoints(tmp_path, trading_stream(12))
    snaps = sorted((crashed / "journal").glob("snapshot-*.ckpt"))
    assert len(snaps) == 2 and not (crashed / "journal" / "segment-0000000000000001.log").exists()
    for snap in snaps:
        _rot(snap)
    before = _files(crashed)
    with pytest.raises(EmptyStateRefused, match="--accept-empty-state") as refused:
        Journal(crashed, FAST_JOURNAL).restore(CONFIG, FakeClock())
    assert all(snap.name in str(refused.value) for snap in snaps)
    assert _files(crashed) == before  # nothing moved, cut or deleted

    journal = Journal(crashed, FAST_JOURNAL)
    store = journal.restore(CONFIG, FakeClock(), accept_empty=True)
    assert store.bots == {} and journal.restore_info is not None
    assert "started with an empty state (--accept-empty-state)" in journal.restore_info.problems
    kept = {name.split("-", 1)[1] for name in _files(crashed / "quarantine") if not name.endswith(".reason")}
    assert kept == {p.rsplit("/", 1)[1] for p in before}  # every file of the journal, kept aside


def test_a_first_start_and_a_journal_from_batch_one_need_no_checkpoint(tmp_path: Path) -> None:
    Journal(tmp_path / "empty", FAST_JOURNAL).restore(CONFIG, FakeClock())  # a first start: just starts
    stream = trading_stream(6)
    live = LiveJournal(tmp_path / "live", FakeClock())
    live.feed(stream[:3])
    live.journal.checkpoint_now()
    wait_until(lambda: live.journal.status().snapshots == 1, timeout=10)
    live.feed(stream[3:])
    crashed = crash_copy(live.journal, tmp_path / "live", tmp_path / "crashed")
    live.stop()
    _rot(next((crashed / "journal").glob("snapshot-*.ckpt")))
    clock = FakeClock()
    hub, _ = restore(crashed, clock)  # the journal still starts at batch 1: it is the whole state
    assert read_at(hub, clock) == reference(stream)


def test_the_quarantine_keeps_the_newest_files_only(tmp_path: Path) -> None:
    clock = FakeClock()
    quarantine = Quarantine(tmp_path, clock)
    for i in range(QUARANTINE_KEEP + 3):
        victim = tmp_path / f"segment-{i:016d}.log"
        victim.write_bytes(b"x" * 10)
        clock.advance(1.0)
        quarantine.move(victim, f"test {i}")
    kept = sorted(p.name for p in (tmp_path / "quarantine").iterdir() if not p.name.endswith(".reason"))
    assert len(kept) == QUARANTINE_KEEP and kept[0].endswith(f"segment-{3:016d}.log")
    assert len(list((tmp_path / "quarantine").glob("*.reason"))) == QUARANTINE_KEEP


@pytest.mark.parametrize("kind", ["snapshot", "segment"])
def test_an_unknown_format_version_stops_start_up_with_a_clear_message(tmp_path: Path, kind: str) -> None:
    live = LiveJournal(tmp_path / "data", FakeClock())
    live.stop()  # a graceful stop leaves a checkpoint and an empty segment after it
    target = next((tmp_path / "data" / "journal").glob(f"{kind}-*"))
    data = bytearray(target.read_bytes())
    data[8:10] = (FORMAT_VERSION + 98).to_bytes(2, "little")  # the version after the magic
    target.write_bytes(bytes(data))

    with pytest.raises(DurabilityError, match=f"format version {FORMAT_VERSION + 98} is not supported"):
        Journal(tmp_path / "data", FAST_JOURNAL).restore(CONFIG, FakeClock())

    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(f"storage:\n  data_dir: {tmp_path / 'data'}\nlogging:\n  level: WARNING\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--config",
            str(settings_file),
            "--port",
            "1",
            "--zmq",
            "tcp://127.0.0.1:1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot restore the monitor's state" in proc.stderr
    assert f"format version {FORMAT_VERSION + 98} is not supported" in proc.stderr
    assert target.read_bytes() == bytes(data)  # nothing was overwritten


def test_a_full_disk_keeps_ingest_in_memory_reports_failing_then_resumes(tmp_path: Path) -> None:
    stream = trading_stream(30)
    first, during, after = stream[:10], stream[10:20], stream[20:]
    disk = FailingDisk()
    live = LiveJournal(tmp_path / "live", FakeClock(), opener=disk)
    live.feed(first)
    wait_until(lambda: committed(live.journal), timeout=10)

    disk.full = True
    live.feed(during)
    wait_until(lambda: live.journal.status().state == "failing", timeout=10)
    failure = live.journal.status().failure
    assert failure is not None and "No space left" in failure
    assert read_at(live.hub, live.clock) == reference(first + during)  # ingest went on in memory

    disk.full = False
    wait_until(lambda: live.journal.status().state == "ok", timeout=10)  # a fresh checkpoint, then resume
    assert live.journal.status().snapshots >= 1
    live.feed(after)
    crashed = crash_copy(live.journal, tmp_path / "live", tmp_path / "crashed")
    live.stop()

    clock = FakeClock()
    hub, journal = restore(crashed, clock)
    assert journal.restore_info is not None and journal.restore_info.problems == []
    assert read_at(hub, clock) == reference(stream)  # the hole in the journal did not matter


def test_a_real_full_tmpfs_fails_the_journal_then_it_resumes_when_space_returns(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            "cannot mount a tmpfs here (needs root); the injected ENOSPC test above covers the behaviour"
        )
    live = None
    try:
        stream = trading_stream(30)
        live = LiveJournal(small, FakeClock())
        live.feed(stream[:10])
        wait_until(lambda: committed(live.journal), timeout=10)
        filler = _fill_up(small / "filler")

        live.feed(stream[10:20])
        wait_until(lambda: live.journal.status().state == "failing", timeout=10)
        assert "No space left" in (live.journal.status().failure or "")
        assert read_at(live.hub, live.clock) == reference(stream[:20])  # ingest went on in memory

        filler.unlink()
        wait_until(lambda: live.journal.status().state == "ok", timeout=10)
        live.feed(stream[20:])
        crashed = crash_copy(live.journal, small, tmp_path / "crashed")
        clock = FakeClock()
        hub, journal = restore(crashed, clock)
        assert journal.restore_info is not None and journal.restore_info.problems == []
        assert read_at(hub, clock) == reference(stream)
    finally:
        if live is not None:
            live.stop()
        subprocess.run(["umount", str(small)], check=False)


def _fill_up(path: Path) -> Path:
    """Write ``path`` until the file system is full (ENOSPC)."""
    chunk = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, chunk)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return path


def test_a_file_the_journal_does_not_write_is_moved_aside_not_read(tmp_path: Path) -> None:
    stream = trading_stream(6)
    live = LiveJournal(tmp_path / "live", FakeClock())
    live.feed(stream)
    crashed = crash_copy(live.journal, tmp_path / "live", tmp_path / "crashed")
    live.stop()
    stray = crashed / "journal" / "segment-copy.log"
    stray.write_bytes(b"left here by hand")
    clock = FakeClock()
    hub, journal = restore(crashed, clock)
    assert read_at(hub, clock) == reference(stream)
    assert journal.restore_info is not None
    assert any("segment-copy.log is not a file of the journal" in p for p in journal.restore_info.problems)
    [kept] = (crashed / "quarantine").glob("*-segment-copy.log")
    assert kept.read_bytes() == b"left here by hand" and not stray.exists()
