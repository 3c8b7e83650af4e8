"""The state journal and checkpoints: the monitor's state survives a restart (edge: files, a thread).

Layout of ``<storage.data_dir>/journal/``:

* ``segment-<first batch>.log``: the journal, append-only.  A header (magic,
  format version), then one framed record per applied batch (length, CRC32,
  batch number, msgpack payload; :mod:`core.checkpoint`).  Batch numbers
  are consecutive across segments; a new segment starts after each checkpoint.
* ``snapshot-<last batch>.ckpt``: a checkpoint of the whole store, written
  atomically (temp file, fsync, rename, fsync of the directory).

Writing: the hub hands every applied batch to :meth:`Journal.record` under its
lock; that only appends to a bounded queue (the collector never waits on the
disk).  The ``journal-writer`` thread encodes, writes and commits (fsync) at
least every ``commit_interval_s``, sooner when it is idle, and takes a
checkpoint every ``snapshot_interval_s`` or ``snapshot_journal_mb``.  If the
queue overflows or the disk fails (ENOSPC...), the journal is marked failing,
ingest and alerts go on in memory, and once a second the writer tries a fresh
checkpoint: when it succeeds, the hole no longer matters and journaling
resumes.  The newest two checkpoints are kept with the journal since the older
one, so the directory stays bounded (docs/architecture.md, Durability).

Restoring is :mod:`app.restore` (the newest checkpoint that decodes, then the
journal after it; unreadable files moved to the quarantine, never deleted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from app.restore import DurabilityError, EmptyStateRefused, restore
from common.logline import line
from core import checkpoint
from core.config import CoreConfig
from core.monitor_documents import JournalStatus, RestoreInfo
from core.store import StateStore

if TYPE_CHECKING:
    from app.hub import Hub
    from core.storage_settings import JournalSettings

log = logging.getLogger(__name__)

__all__ = ["DurabilityError", "EmptyStateRefused", "Journal", "Opener"]

Opener = Callable[[Path, str], IO[bytes]]
_STOP = object()
_CHECKPOINT = object()
_RETRY_S = 1.0
_IDLE_COMMIT_GAP_S = 0.1
#: After waking for a batch the writer lets more accumulate this long: fewer wake-ups, fewer
#: hand-offs of the interpreter lock with the collector thread, which is what ingest pays for.
_COALESCE_S = 0.02


def _open(path: Path, mode: str) -> IO[bytes]:
    return open(path, mode)


def _number(path: Path) -> int:
    return int(path.stem.split("-", 1)[1])


def _segment_name(first: int) -> str:
    return f"segment-{first:016d}.log"


def _snapshot_name(last: int) -> str:
    return f"snapshot-{last:016d}.ckpt"


class Journal:
    """Journal + checkpoints of one store; also the hub's :class:`app.hub.Recorder`."""

    def __init__(
        self,
        data_dir: str | Path,
        settings: JournalSettings,
        *,
        clock: Callable[[], float] = time.time,
        opener: Opener = _open,
    ) -> None:
        self.dir = Path(data_dir) / "journal"
        self.settings = settings
        self._clock = clock
        self._open = opener
        self._queue: queue.Queue[Any] = queue.Queue()  # bounded in events, see record()
        self._enqueued_events = 0  # written only by record() (under the hub's lock)
        self._dequeued_events = 0  # written only by the writer thread
        self._number = 0  # last batch number handed out (under the hub's lock)
        self._written = 0  # last batch number written to the current segment
        self._committed = 0  # last batch number known durable
        self._failing: str | None = None  # why the journal is failing (what status() reports)
        self._dropping = False  # batches are not queued: the next checkpoint will cover them
        self._file: IO[bytes] | None = None
        self._unsynced_since: float | None = None
        self._last_commit = 0.0
        self._last_commit_at: float | None = None
        self._journal_bytes = 0  # since the last checkpoint
        self._last_snapshot = time.monotonic()
        self._snapshots = 0
        self._last_snapshot_at: float | None = None
        self._last_pause_ms: float | None = None
        self._data_bytes = 0
        self._hub: Hub | None = None
        self._thread: threading.Thread | None = None
        self._checkpoint_first = False
        self.restore_info: RestoreInfo | None = None

    # ---- restore (start-up, before any thread or socket) -----------------------
    def restore(
        self, config: CoreConfig, clock: Callable[[], float], *, accept_empty: bool = False
    ) -> StateStore:
        """The store as the files left it: newest good checkpoint + the journal after it (app.restore)."""
        started = time.perf_counter()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)  # the monitor's own files: nobody else writes here
        found = restore(self.dir, config, clock, accept_empty=accept_empty, now=self._clock)
        self._number = self._written = self._committed = found.base + found.batches
        for problem in found.problems:
            log.warning(line("state_restore_problem", problem=problem))
        self._checkpoint_first = bool(found.problems)  # re-anchor the chain at once after any loss
        self.restore_info = RestoreInfo(
            at=self._clock(),
            snapshot=found.snapshot,
            snapshot_batch=found.base,
            journal_batches=found.batches,
            journal_events=found.events,
            duration_s=time.perf_counter() - started,
            lost_bytes=found.lost_bytes,
            problems=found.problems,
        )
        log.info(
            line(
                "state_restored",
                checkpoint=found.snapshot or "none",
                journal_batches=found.batches,
                journal_events=found.events,
                lost_bytes=found.lost_bytes,
                took_s=round(self.restore_info.duration_s, 3),
            )
        )
        self._data_bytes = self._dir_bytes()
        return found.store

    # ---- the hub's recorder (under the hub's lock: never blocks) --------------
    def record(self, arrival: float, received: int, items: list) -> None:
        self._number += 1
        if self._dropping:
            return  # dropped; the next checkpoint covers it
        if self._enqueued_events - self._dequeued_events > self.settings.queue_events:
            self._fail(f"journal queue full ({self.settings.queue_events} events): the disk is too slow")
            return
        self._enqueued_events += len(items)
        self._queue.put_nowait((self._number, arrival, received, items))

    # ---- the writer thread ------------------------------------------------------
    def attach(self, hub: Hub) -> None:
        """Journal every batch the hub applies from now on."""
        self._hub = hub
        hub.set_recorder(self)

    def start(self) -> None:
        self._open_segment(self._number + 1)
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    @property
    def recorded_batch(self) -> int:
        """Number of the newest batch handed to the journal (durable once ``committed_batch`` reaches it)."""
        return self._number

    def checkpoint_now(self) -> None:
        """Ask the writer for a checkpoint after what is already queued (operators, tests)."""
        self._queue.put_nowait(_CHECKPOINT)

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything queued, commit, take a final checkpoint (graceful stop)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        if self._checkpoint_first:
            self._checkpoint()
        while True:
            try:
                item = self._get(timeout=self._wait_s())
            except queue.Empty:
                item = None
            if item is _STOP:
                self._final()
                return
            try:
                self._step(item)
            except OSError as exc:
                self._fail(f"cannot write the journal: {exc.strerror or exc}")
            except Exception as exc:  # never die silently: say so, and keep trying
                log.exception("journal writer")
                self._fail(f"journal writer error: {type(exc).__name__}: {exc}")
            if type(item) is tuple and not self._dropping:
                time.sleep(_COALESCE_S)  # pacing, not waiting for anything: see _COALESCE_S

    def _wait_s(self) -> float:
        if self._dropping:
            return _RETRY_S
        if self._unsynced_since is None:
            return 0.25
        return max(0.0, self._last_commit + _IDLE_COMMIT_GAP_S - time.monotonic())

    def _step(self, item: Any) -> None:
        if item is _CHECKPOINT:
            self._checkpoint()
            return
        if self._dropping:
            if item is None:
                self._checkpoint()  # the retry: a fresh checkpoint makes the hole harmless
            return
        if item is not None:
            self._write_all(item)
        now = time.monotonic()
        if self._unsynced_since is not None:
            hard = now - self._unsynced_since >= self.settings.commit_interval_s
            idle = self._queue.empty() and now - self._last_commit >= _IDLE_COMMIT_GAP_S
            if hard or idle:
                self._commit()
        due = now - self._last_snapshot >= self.settings.snapshot_interval_s and self._journal_bytes > 0
        if due or self._journal_bytes >= self.settings.snapshot_journal_mb * 1e6:
            self._checkpoint()

    def _write_all(self, first: tuple[int, float, int, list]) -> None:
        """Write ``first`` and every batch queued behind it, in one write call."""
        frames = [self._frame(first)]
        while True:
            try:
                item = self._get(timeout=None)
            except queue.Empty:
                break
            if type(item) is not tuple:  # a checkpoint or the stop: handled by the main loop
                self._requeue_front(item)
                break
            frames.append(self._frame(item))
        self._append(b"".join(frames))

    def _write(self, item: tuple[int, float, int, list]) -> None:
        self._append(self._frame(item))

    def _frame(self, item: tuple[int, float, int, list]) -> bytes:
        number, arrival, received, items = item
        if number <= self._written:
            return b""  # already inside a checkpoint
        self._written = number
        return checkpoint.encode_record(number, arrival, received, items)

    def _append(self, data: bytes) -> None:
        if not data:
            return
        assert self._file is not None
        self._file.write(data)
        self._journal_bytes += len(data)
        self._data_bytes += len(data)
        if self._unsynced_since is None:
            self._unsynced_since = time.monotonic()

    def _commit(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._committed = self._written
        self._unsynced_since = None
        self._last_commit = time.monotonic()
        self._last_commit_at = self._clock()

    def _checkpoint(self) -> None:
        """Write a checkpoint of the state now, start a new segment after it, drop what it covers."""
        hub = self._hub
        if hub is None:
            return
        started = time.perf_counter()
        number, state, resumed = hub.under_lock(self._capture)
        self._last_pause_ms = (time.perf_counter() - started) * 1000
        data = checkpoint.encode_captured(state)  # outside the lock: ingest goes on meanwhile
        if resumed:  # after a failure: what was queued is covered by the checkpoint
            self._drain_through(number)
            self._close_segment(sync=False)
        else:
            self._write_through(number)
            self._commit()
            self._close_segment(sync=False)
        self._write_snapshot(number, data)
        self._written = self._committed = number
        self._open_segment(number + 1)
        self._prune()
        self._journal_bytes = 0
        self._last_snapshot = time.monotonic()
        self._last_snapshot_at = self._clock()
        self._snapshots += 1
        if resumed:
            self._failing = None
            log.warning(line("journal_resumed", checkpoint_batch=number))

    def _capture(self, store: StateStore) -> tuple[int, dict[str, Any], bool]:
        """Under the hub's lock: a copy of the state and the batch number it contains; resume recording."""
        data = checkpoint.capture_state(store)
        resumed = self._dropping
        self._dropping = False  # from the next batch on, the journal continues this checkpoint
        return self._number, data, resumed

    def _write_through(self, number: int) -> None:
        """Write the queued batches up to ``number`` (all are queued: recorded before the capture)."""
        while self._written < number:
            item = self._get(timeout=5.0)
            if item is _STOP:  # keep the stop for the main loop
                self._queue.put(_STOP)
                raise OSError("stopped during a checkpoint")
            if item is not _CHECKPOINT:
                self._write(item)

    def _drain_through(self, number: int) -> None:
        while True:
            try:
                item = self._get(timeout=None)
            except queue.Empty:
                return
            if item is _STOP or item is _CHECKPOINT or item[0] > number:
                self._requeue_front(item)
                return

    def _get(self, timeout: float | None) -> Any:
        """The next queued item (``timeout`` None: do not wait); counts the events taken out."""
        item = self._queue.get_nowait() if timeout is None else self._queue.get(timeout=timeout)
        if type(item) is tuple:
            self._dequeued_events += len(item[3])
        return item

    def _requeue_front(self, item: Any) -> None:
        if type(item) is tuple:
            self._dequeued_events -= len(item[3])
        with self._queue.mutex:
            self._queue.queue.appendleft(item)
            self._queue.unfinished_tasks += 1
            self._queue.not_empty.notify()

    def _write_snapshot(self, number: int, data: bytes) -> None:
        final = self.dir / _snapshot_name(number)
        tmp = final.with_suffix(".tmp")
        with self._open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        self._sync_dir()

    def _open_segment(self, first: int) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._file = self._open(self.dir / _segment_name(first), "wb")
        self._file.write(checkpoint.journal_header())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._sync_dir()

    def _close_segment(self, sync: bool) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            if sync:
                f.flush()
                os.fsync(f.fileno())
        finally:
            with contextlib.suppress(OSError):  # a failed disk: best effort, the checkpoint decides
                f.close()

    def _prune(self) -> None:
        """Keep the newest two checkpoints and the journal after the older one (the size bound)."""
        snaps = sorted(self.dir.glob("snapshot-*.ckpt"), reverse=True)
        for old in snaps[2:]:
            old.unlink(missing_ok=True)
        for tmp in self.dir.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        if len(snaps) >= 2:
            keep_after = _number(snaps[1])
            for seg in self.dir.glob("segment-*.log"):
                if _number(seg) <= keep_after:
                    seg.unlink(missing_ok=True)
        self._data_bytes = self._dir_bytes()

    def _sync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _dir_bytes(self) -> int:
        total = 0
        for path in self.dir.iterdir():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    def _fail(self, reason: str) -> None:
        if self._failing is None:
            log.critical(
                "journal failing: %s; the state goes on in memory, retrying every %.0f s", reason, _RETRY_S
            )
        self._failing = reason
        self._dropping = True
        self._unsynced_since = None
        if threading.current_thread() is self._thread:
            self._close_segment(sync=False)
            self._drain_all()

    def _drain_all(self) -> None:
        while True:
            try:
                item = self._get(timeout=None)
            except queue.Empty:
                return
            if item is _STOP:
                self._requeue_front(item)
                return

    def _final(self) -> None:
        """Graceful stop: everything queued is written and a checkpoint makes the next start quick."""
        try:
            if not self._dropping:
                self._drain_queue_to_file()
                self._commit()
            self._checkpoint()
            self._commit()
        except OSError as exc:
            log.error(line("journal_final_write_failed", error=exc.strerror or str(exc)))
        finally:
            self._close_segment(sync=False)

    def _drain_queue_to_file(self) -> None:
        while True:
            try:
                item = self._get(timeout=None)
            except queue.Empty:
                return
            if item is not _STOP and item is not _CHECKPOINT:
                self._write(item)

    # ---- status -----------------------------------------------------------------
    def status(self) -> JournalStatus:
        return JournalStatus(
            state="failing" if self._failing is not None else "ok",
            failure=self._failing,
            committed_batch=self._committed,
            uncommitted=self._number - self._committed,
            last_commit_at=self._last_commit_at,
            queued=self._queue.qsize(),
            snapshots=self._snapshots,
            last_snapshot_at=self._last_snapshot_at,
            last_snapshot_pause_ms=self._last_pause_ms,
            data_bytes=self._data_bytes,
        )
