"""Crash test: SIGKILL the monitor with notifications pending on a dead channel, restart, recover.

Every pending notification must arrive once the channel is back, and the
restart must not re-announce alerts that were already recorded as firing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.alerts import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
N_BOTS = 5


def _spawn(data_dir: Path, url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.alert_crash_child", str(data_dir), url, str(N_BOTS)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _rows(data_dir: Path) -> list[dict]:
    path = data_dir / "alerts.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM notifications")]
        except sqlite3.OperationalError:
            return []


@pytest.mark.slow
def test_sigkill_with_pending_notifications_then_recovery(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    child = _spawn(data_dir, url)  # nothing listens on the port: every send fails (connection refused)
    try:
        wait_until(
            lambda: len(_rows(data_dir)) == N_BOTS and all(r["attempts"] >= 2 for r in _rows(data_dir)),
            timeout=30,
        )
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    before = _rows(data_dir)
    assert len(before) == N_BOTS and all(r["status"] == "pending" for r in before)
    in_flight = sum(1 for r in before if r["lease_until"] is not None)

    server = HTTPServer(host="127.0.0.1", port=port)
    server.expect_request("/hook").respond_with_data("ok")
    server.start()
    child = _spawn(data_dir, url)
    try:
        wait_until(
            lambda: len(server.log) >= N_BOTS and all(r["status"] == "sent" for r in _rows(data_dir)),
            timeout=30,
        )
        child.send_signal(signal.SIGTERM)
        child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
        server.stop()
    keys = [req.headers["Idempotency-Key"] for req, _ in server.log]
    assert set(keys) == {r["idem"] for r in before}  # every pending notification arrived
    assert len(keys) - len(set(keys)) <= in_flight  # duplicates at most the rows in flight
    assert len(_rows(data_dir)) == N_BOTS  # the restart re-announced nothing (states survived)
