"""The durability knobs do what settings.yaml says: commits fsync, retention bounds, both triggers fire.

Real files and the real journal writer thread; each knob is observed directly
(the ``os.fsync`` calls the writer makes, the files left in ``journal/``, the
checkpoints taken without being asked), so switching one off fails here.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from app import persistence
from app.persistence import Journal
from core.storage_settings import JournalSettings
from tests.support.clock import FakeClock
from tests.support.durability import CONFIG, committed, feed, new_hub, trading_stream
from tests.support.waiting import wait_until


class _Live:
    """A hub with its journal writer running on ``data`` with ``settings``."""

    def __init__(self, data: Path, settings: JournalSettings) -> None:
        self.clock = FakeClock()
        self.journal = Journal(data, settings, clock=self.clock)
        self.hub = new_hub(self.clock, self.journal.restore(CONFIG, self.clock))
        self.journal.attach(self.hub)
        self.journal.start()

    def feed(self, batches: list) -> None:
        feed(self.hub, self.clock, batches)


class _Fsyncs:
    """Every ``os.fsync`` the journal writer thread makes: (monotonic time, last batch written then)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int]] = []
        self.journal: Journal | None = None
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        self._real(fd)
        if threading.current_thread().name == "journal-writer" and self.journal is not None:
            self.calls.append((time.monotonic(), self.journal._written))


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> _Fsyncs:
    counter = _Fsyncs()
    monkeypatch.setattr(persistence.os, "fsync", counter)
    return counter


def test_every_commit_interval_ends_with_an_fsync(tmp_path: Path, fsyncs: _Fsyncs) -> None:
    settings = JournalSettings(commit_interval_s=0.2, snapshot_interval_s=3600.0)
    live = _Live(tmp_path, settings)
    fsyncs.journal = live.journal
    try:
        stream = trading_stream(60)
        started = time.monotonic()
        for batch in stream:  # a steady stream for about 1.2 s: the writer is never idle long
            live.feed([batch])
            time.sleep(0.02)
        wait_until(lambda: committed(live.journal), timeout=10)
        elapsed = time.monotonic() - started
        synced = [batch for _, batch in fsyncs.calls]
        assert synced and max(synced) == live.journal.recorded_batch  # what is reported committed was fsync'd
        during = [t for t, _ in fsyncs.calls if t <= started + elapsed]
        assert len(during) >= int(elapsed / settings.commit_interval_s) // 2  # about one per interval
        assert len(during) <= len(stream) + 2  # one per commit, not one per write
    finally:
        live.journal.stop()


def test_retention_keeps_the_data_directory_bounded_over_many_checkpoints(tmp_path: Path) -> None:
    live = _Live(tmp_path, JournalSettings(commit_interval_s=0.05, snapshot_interval_s=3600.0))
    journal_dir = tmp_path / "journal"
    sizes: list[int] = []
    try:
        stream = trading_stream(200)
        for k in range(10):
            live.feed(stream[k * 20 : (k + 1) * 20])
            live.journal.checkpoint_now()
            wait_until(lambda k=k: live.journal.status().snapshots == k + 1, timeout=10)
            snaps = sorted(journal_dir.glob("snapshot-*.ckpt"))
            segments = sorted(journal_dir.glob("segment-*.log"))
            assert len(snaps) == min(k + 1, 2), snaps
            if k >= 1:  # only the journal after the older checkpoint is kept
                older = int(snaps[0].stem.split("-")[1])
                assert all(int(s.stem.split("-")[1]) > older for s in segments), segments
            sizes.append(sum(p.stat().st_size for p in journal_dir.iterdir()))
        assert max(sizes[2:]) <= 1.5 * sizes[2]  # bounded: it does not grow with the run time
    finally:
        live.journal.stop()


def test_the_time_trigger_alone_takes_checkpoints(tmp_path: Path) -> None:
    live = _Live(
        tmp_path, JournalSettings(commit_interval_s=0.05, snapshot_interval_s=1.0, snapshot_journal_mb=1e6)
    )
    try:
        live.feed(trading_stream(3))
        wait_until(lambda: live.journal.status().snapshots >= 1, timeout=10)
        assert list((tmp_path / "journal").glob("snapshot-*.ckpt"))
    finally:
        live.journal.stop()


def test_the_size_trigger_alone_takes_checkpoints(tmp_path: Path) -> None:
    live = _Live(
        tmp_path, JournalSettings(commit_interval_s=0.05, snapshot_interval_s=1e9, snapshot_journal_mb=0.02)
    )
    try:
        stream = trading_stream(400)
        for k in range(4):  # about 40 KB of journal each: twice the 20 KB trigger
            live.feed(stream[k * 100 : (k + 1) * 100])
            wait_until(lambda: committed(live.journal), timeout=10)
        assert live.journal.status().snapshots >= 3
    finally:
        live.journal.stop()
