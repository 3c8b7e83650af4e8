"""The data directory's guards, with real ``python -m app`` processes.

* One monitor per data directory: a second start exits 2 naming the holder's pid and
  touches nothing; once the holder is SIGKILLed, the kernel has released the lock.
* A data directory (or its journal) that group or others can write is refused, exit 2.
* A directory holding state of which nothing restores is refused untouched, exit 2,
  unless ``--accept-empty-state``: then its files go to the quarantine and the monitor
  starts empty, saying so on the Health tab's restore status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.durability import LiveJournal, crash_copy, trading_stream
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.ports import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _start_once(config: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m app`` on fresh ports, expected to refuse: it must exit by itself."""
    cmd = [sys.executable, "-m", "app", "--config", str(config), "--port", str(free_port())]
    cmd += ["--zmq", f"tcp://127.0.0.1:{free_port()}", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


def _files(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


def test_a_second_monitor_on_the_same_data_directory_exits_naming_the_holder(tmp_path: Path) -> None:
    holder = MonitorProcess(tmp_path).start()  # a first start on an empty directory just starts
    try:
        assert holder.proc is not None
        journal = tmp_path / "data" / "journal"
        before = sorted(p.name for p in journal.iterdir())
        second = _start_once(holder.config)
        assert second.returncode == 2, second.stderr
        assert f"in use by another monitor (pid {holder.proc.pid}" in second.stderr
        assert sorted(p.name for p in journal.iterdir()) == before  # the live journal untouched
        holder.kill()  # SIGKILL: nothing released by the process itself
        again = MonitorProcess(tmp_path).start()
        try:
            _, doc = get_json(again.url + "/api/metrics")
            assert doc["persistence"]["restore"] is not None
        finally:
            again.stop()
    finally:
        holder.stop()


@pytest.mark.parametrize("where", ["data", "data/journal"])
def test_a_data_directory_others_can_write_is_refused(tmp_path: Path, where: str) -> None:
    monitor = MonitorProcess(tmp_path)
    (tmp_path / "data" / "journal").mkdir(parents=True, mode=0o700)
    (tmp_path / "data").chmod(0o700)
    (tmp_path / where).chmod(0o777 if where == "data" else 0o720)
    refused = _start_once(monitor.config)
    assert refused.returncode == 2, refused.stderr
    assert f"{tmp_path / where} is writable by group or others" in refused.stderr
    assert not (tmp_path / "data" / "monitor.lock").exists()  # refused before anything was touched


def test_state_that_cannot_be_restored_is_refused_unless_starting_empty_is_accepted(tmp_path: Path) -> None:
    stream = trading_stream(12)
    live = LiveJournal(tmp_path / "live", FakeClock())
    for k, part in enumerate((stream[:6], stream[6:]), start=1):
        live.feed(part)
        live.journal.checkpoint_now()
        wait_until(lambda k=k: live.journal.status().snapshots == k, timeout=10)
    data = crash_copy(live.journal, tmp_path / "live", tmp_path / "data")
    live.stop()
    for snap in (data / "journal").glob("snapshot-*.ckpt"):  # both checkpoints rotten
        snap.write_bytes(snap.read_bytes()[:-7] + b"garbage")
    before = _files(data / "journal")

    monitor = MonitorProcess(tmp_path)
    refused = _start_once(monitor.config)
    assert refused.returncode == 2, refused.stderr
    assert "none of it can be restored" in refused.stderr and "--accept-empty-state" in refused.stderr
    assert all(Path(name).name in refused.stderr for name in before if "snapshot-" in name)
    assert _files(data / "journal") == before  # nothing moved, cut or deleted

    accepted = MonitorProcess(tmp_path, extra_args=("--accept-empty-state",)).start()
    try:
        _, doc = get_json(accepted.url + "/api/metrics")
        assert doc["bots"] == {}
        assert (
            "started with an empty state (--accept-empty-state)" in doc["persistence"]["restore"]["problems"]
        )
        quarantined = {n.split("-", 1)[1] for n in _files(data / "quarantine") if not n.endswith(".reason")}
        assert set(before) <= quarantined
    finally:
        accepted.stop()
