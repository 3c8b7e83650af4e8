"""Restoring the store at start-up, keeping every unreadable file as evidence (edge: files).

The newest checkpoint that decodes, then every journal record after it, in
order, through the store's own write path (:func:`restore`).  A file that
cannot be read is never deleted: it is moved to ``<data_dir>/quarantine/``
with a ``.reason`` note beside it (:class:`Quarantine`), and the reason goes
to the log and to ``persistence.restore.problems`` (the Health tab).  What is
moved:

* a checkpoint that does not decode (bit rot, a torn write, a refused name);
* a journal segment whose header does not read, and every segment after a gap;
* a file in ``journal/`` whose name is not one the journal writes;
* the bytes after the last good record of a segment (a torn tail), copied out
  before the segment is cut there.

A data directory that holds state but from which none can be restored (no
checkpoint decodes and the journal does not start at batch 1) is refused
(:class:`EmptyStateRefused`, naming the files) unless the operator accepts to
start empty; then the files go to the quarantine and the monitor starts empty.
A file of an unknown format version stops start-up (:class:`DurabilityError`):
the monitor never guesses.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.logline import line
from core import checkpoint
from core.config import CoreConfig
from core.store import StateStore

log = logging.getLogger(__name__)

#: The quarantine keeps the newest this many files (each a checkpoint, a segment or a torn tail,
#: so bounded like the journal directory); older ones are removed, oldest first, and logged.
QUARANTINE_KEEP = 10


class DurabilityError(Exception):
    """The data directory cannot be used safely (unknown format version, no state): start-up stops."""


class EmptyStateRefused(DurabilityError):
    """The directory holds state but none of it restores: starting empty needs the operator's word."""


def _number(path: Path) -> int:
    return int(path.stem.split("-", 1)[1])


class Quarantine:
    """``<data_dir>/quarantine/``: unreadable files moved aside with their reason, the newest kept."""

    def __init__(self, data_dir: Path, clock: Callable[[], float]) -> None:
        self.dir = data_dir / "quarantine"
        self._clock = clock

    def move(self, path: Path, reason: str) -> str:
        """Move ``path`` into the quarantine; return its name there."""
        dest = self._destination(path.name)
        os.replace(path, dest)
        self._note(dest, reason)
        return dest.name

    def keep_tail(self, path: Path, offset: int, reason: str) -> str:
        """Copy the bytes of ``path`` from ``offset`` into the quarantine (before they are cut off)."""
        dest = self._destination(path.name + ".tail")
        with path.open("rb") as src, dest.open("wb") as out:
            src.seek(offset)
            out.write(src.read())
            out.flush()
            os.fsync(out.fileno())
        self._note(dest, reason)
        return dest.name

    def _destination(self, name: str) -> Path:
        self.dir.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        dest, n = self.dir / f"{stamp}-{name}", 1
        while dest.exists():
            dest, n = self.dir / f"{stamp}.{n}-{name}", n + 1
        return dest

    def _note(self, dest: Path, reason: str) -> None:
        dest.with_name(dest.name + ".reason").write_text(reason + "\n")
        log.warning(line("state_file_quarantined", file=str(dest), reason=reason))
        self._bound()

    def _bound(self) -> None:
        """Keep the newest :data:`QUARANTINE_KEEP` files (their names start with the time they came)."""
        kept = sorted(p for p in self.dir.iterdir() if p.is_file() and not p.name.endswith(".reason"))
        for old in kept[:-QUARANTINE_KEEP]:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".reason").unlink(missing_ok=True)
            log.warning(line("quarantine_pruned", file=str(old), keep=QUARANTINE_KEEP))


@dataclass
class Restored:
    """What :func:`restore` found: the store and how it got there."""

    store: StateStore
    snapshot: str | None = None
    base: int = 0  # the checkpoint's last batch
    batches: int = 0
    events: int = 0
    lost_bytes: int = 0
    problems: list[str] = field(default_factory=list)


def restore(
    journal_dir: Path,
    config: CoreConfig,
    clock: Callable[[], float],
    *,
    accept_empty: bool,
    now: Callable[[], float],
) -> Restored:
    """The store as the files in ``journal_dir`` left it; see the module doc for every fault."""
    quarantine = Quarantine(journal_dir.parent, now)
    strays = _strays(journal_dir, quarantine)
    snaps = sorted(journal_dir.glob("snapshot-*.ckpt"), reverse=True)
    bad: list[tuple[Path, str]] = []
    result: Restored | None = None
    for path in snaps:
        try:
            store = checkpoint.decode_state(path.read_bytes(), config, clock)
        except checkpoint.UnsupportedFormat as exc:
            raise DurabilityError(f"{path}: {exc}") from None
        except (checkpoint.CorruptData, OSError) as exc:
            bad.append((path, str(exc)))
            continue
        result = Restored(store, snapshot=path.name, base=_number(path))
        break
    if result is None:
        result = _empty(journal_dir, bad, config, clock, accept_empty=accept_empty, quarantine=quarantine)
    for path, reason in bad:
        moved = quarantine.move(path, f"checkpoint unusable: {reason}")
        result.problems.append(f"checkpoint {path.name} unusable ({reason}); moved to quarantine/{moved}")
    _Replay(journal_dir, result, quarantine).run()
    result.problems[:0] = strays
    return result


_KNOWN = re.compile(r"(snapshot-\d{16}\.ckpt|segment-\d{16}\.log|.*\.tmp)")


def _strays(journal_dir: Path, quarantine: Quarantine) -> list[str]:
    """Move aside what is not a file of the journal (a misnamed segment, a copy left by hand)."""
    problems = []
    for path in sorted(journal_dir.iterdir()):
        if path.is_file() and not _KNOWN.fullmatch(path.name):
            moved = quarantine.move(path, "not a file of the journal (unknown name)")
            problems.append(f"{path.name} is not a file of the journal; moved to quarantine/{moved}")
    return problems


def _empty(
    journal_dir: Path,
    bad: list[tuple[Path, str]],
    config: CoreConfig,
    clock: Callable[[], float],
    *,
    accept_empty: bool,
    quarantine: Quarantine,
) -> Restored:
    """No checkpoint decodes: the journal from batch 1, or nothing (refused unless accepted)."""
    result = Restored(StateStore(config, clock))
    segments = sorted(journal_dir.glob("segment-*.log"))
    if segments and _number(segments[0]) == 1 and _header_reads(segments[0]):
        return result  # the whole journal is there: replaying it is the state
    held = [p for p, _ in bad] + [s for s in segments if s.stat().st_size > 0]
    if not held:
        return result  # a first start (or only empty segments): nothing to lose
    names = ", ".join(str(p) for p in held)
    if not accept_empty:
        raise EmptyStateRefused(
            f"the data directory holds state but none of it can be restored (no checkpoint decodes "
            f"and the journal does not start at batch 1): {names}. Nothing was changed. Start with "
            "--accept-empty-state to move these files to the quarantine and start empty"
        )
    for seg in segments:
        moved = quarantine.move(
            seg, "started empty (--accept-empty-state): the journal did not start at batch 1"
        )
        result.problems.append(f"journal segment {seg.name} not replayable; moved to quarantine/{moved}")
    result.problems.append("started with an empty state (--accept-empty-state)")
    return result


def _header_reads(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(checkpoint.JOURNAL_HEADER_SIZE)
    try:
        checkpoint.check_journal_header(head)
    except checkpoint.UnsupportedFormat as exc:
        raise DurabilityError(f"{path}: {exc}") from None
    except checkpoint.CorruptData:
        return False
    return True


class _Replay:
    """Apply the journal after the checkpoint, moving what cannot be applied to the quarantine."""

    def __init__(self, journal_dir: Path, result: Restored, quarantine: Quarantine) -> None:
        self.dir, self.result, self.quarantine = journal_dir, result, quarantine
        self.expected = result.base + 1
        self.broken = False

    def run(self) -> None:
        segments = sorted(self.dir.glob("segment-*.log"))
        for i, path in enumerate(segments):
            if not self.broken and i + 1 < len(segments) and _number(segments[i + 1]) <= self.expected:
                continue  # wholly before the checkpoint: kept only for a fallback
            if not self.broken and _number(path) > self.expected:
                self._problem(
                    f"journal has no batches {self.expected}..{_number(path) - 1}; replay stopped there"
                )
                self.broken = True
            if self.broken:
                self._move(path, "after a gap in the journal")
                continue
            self._segment(path)
        self.result.batches = self.expected - 1 - self.result.base

    def _problem(self, text: str) -> None:
        self.result.problems.append(text)

    def _move(self, path: Path, reason: str) -> None:
        if path.stat().st_size == 0:
            path.unlink()  # created, never written: holds nothing
            return
        moved = self.quarantine.move(path, f"journal segment {reason}")
        self._problem(f"journal segment {path.name} {reason}; moved to quarantine/{moved}")

    def _segment(self, path: Path) -> None:
        """Replay one segment from batch ``expected``; a torn tail or a gap ends the replay."""
        data = path.read_bytes()
        if len(data) < checkpoint.JOURNAL_HEADER_SIZE or not _header_reads(path):
            self.result.lost_bytes += len(data)
            self.broken = bool(data)
            self._move(path, f"unreadable ({len(data)} bytes, no valid header)")
            return
        good_end, store = checkpoint.JOURNAL_HEADER_SIZE, self.result.store
        for number, end, payload in checkpoint.iter_records(data, good_end):
            if number > self.expected:
                self._problem(f"journal segment {path.name} skips from batch {self.expected} to {number}")
                self.broken = True
                break
            if number == self.expected:
                arrival, received, items = checkpoint.decode_record(payload)
                store.apply_batch(items, arrival, received)
                self.result.events += len(items)
                self.expected += 1
            good_end = end
        cut = len(data) - good_end
        if cut:
            reason = f"{cut} bytes after the last good record (batch {self.expected - 1})"
            moved = self.quarantine.keep_tail(path, good_end, f"torn or corrupt journal tail: {reason}")
            self._problem(f"journal segment {path.name}: {reason} cut off; kept as quarantine/{moved}")
            os.truncate(path, good_end)
            self.result.lost_bytes += cut
            self.broken = True
