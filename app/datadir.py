"""The data directory's guards at start-up: only the monitor's user may write it, one monitor holds it (edge).

Both run before anything in the directory is read:

* :func:`check_private` refuses a data directory (or its ``journal/``) that
  group or others can write, as :mod:`app.settings` refuses a secrets file
  others can read: whoever can write the directory decides the state the
  monitor restores (and the CURVE keys it trusts).
* :class:`DataDirLock` takes an exclusive ``flock`` on ``<data_dir>/monitor.lock``
  (which holds the pid of its holder).  A second monitor on the same directory
  stops before it touches the live journal; the kernel releases the lock when
  the holder dies, SIGKILL included, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = "monitor.lock"


class DataDirError(Exception):
    """The data directory cannot be used: the message names the path and the reason."""


def check_private(data_dir: Path) -> None:
    """Refuse ``data_dir`` and ``data_dir/journal`` when group or others can write them."""
    for path in (data_dir, data_dir / "journal"):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue  # created by the monitor, owner-only
        if mode & 0o022:
            raise DataDirError(
                f"{path} is writable by group or others (mode {mode & 0o777:o}): whoever can write it "
                f"decides the state the monitor restores; run chmod go-w {path}"
            )


def prepare(data_dir: Path) -> None:
    """Create the data directory owner-only on a first start; then check it (:func:`check_private`)."""
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
    check_private(data_dir)


class DataDirLock:
    """An exclusive lock on the data directory, held for the life of the process."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`DataDirError` naming the holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise DataDirError(
                f"{self.path.parent} is in use by another monitor (pid {holder}, lock {self.path}); "
                "one monitor per data directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next monitor in (the kernel does the same when the process dies)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
