"""A real full filesystem: the journal's critical alert still reaches the channel and the page.

The data directory of a real ``python -m app`` is a 2 MB tmpfs, shared by the
journal and ``alerts.sqlite3`` as in production.  A bot publishes over ZeroMQ;
the test fills the filesystem to the last byte.  The journal fails, and the
critical ``journal_failing`` alert must reach a local HTTP webhook and
``/api/alerts`` although the alert store cannot write it either (it says it is
failing, once).  Then the filler is deleted: the journal resumes, the alert store
writes back what it held and says so, the alert resolves, and the FIRING was
sent exactly once.

Needs root (``mount -t tmpfs``); skipped with the reason otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug import Request, Response

from collectors.publisher import BotPublisher
from tests.support.waiting import wait_until

RULE = "journal_failing"


@pytest.fixture
def tmpfs() -> Iterator:
    """``mount(dir)``: a 2 MB tmpfs there, unmounted at teardown (after the test stopped its monitor)."""
    mounted: list[Path] = []

    def mount(path: Path) -> Path:
        if os.geteuid() != 0:
            pytest.skip("a real full filesystem needs root to mount a tmpfs")
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


class _Receiver:
    """The webhook receiver: every request's alert body and idempotency key."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.got.append((request.headers["Idempotency-Key"], json.loads(request.get_data())["alert"]))
        return Response("ok")

    def kinds(self, rule: str) -> list[str]:
        with self._lock:
            return [b["kind"] for _, b in self.got if b["rule"] == rule]


class _Bot:
    """Publishes a heartbeat-sized account event every 20 ms: the journal always has something to write."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="full-disk-bot", daemon=True)

    def _run(self) -> None:
        with BotPublisher("b1", self.endpoint, connect_timeout=30) as pub:
            while not self._stop.is_set():
                pub.account(100_000.0)
                self._stop.wait(0.02)

    def __enter__(self) -> _Bot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _fill(directory: Path) -> Path:
    """Write until the filesystem refuses one more byte."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def _journal(mon) -> str:
    return _get(mon.url + "/api/metrics")["persistence"]["journal"]["state"]


def _alerts(mon) -> dict:
    return _get(mon.url + "/api/alerts")


@pytest.mark.slow
def test_full_disk_the_journal_alert_still_arrives_and_both_stores_recover(
    tmpfs, httpserver, monitor_process
):
    rec = _Receiver()
    httpserver.expect_request("/hook").respond_with_handler(rec)
    mon = monitor_process(
        extra_yaml=(
            "alerts:\n"
            f"  channels:\n    hook:\n      type: webhook\n      urls: ['{httpserver.url_for('/hook')}']\n"
            "  routes:\n"
            "    critical: {channels: [hook]}\n"
            "    warning: {channels: []}\n"
            "    info: {channels: []}\n"
        )
    )
    data = tmpfs(mon.config.parent / "data")
    mon.start()
    try:
        with _Bot(mon.zmq):
            wait_until(lambda: "b1" in _get(mon.url + "/api/metrics")["bots"], timeout=30)
            filler = _fill(data)
            wait_until(lambda: rec.kinds(RULE) == ["firing"], timeout=30)  # through memory
            wait_until(lambda: not _alerts(mon)["status"]["store"]["ok"], timeout=30)
            page = _alerts(mon)
            assert [a["rule"] for a in page["active"]] == [RULE]
            assert "full" in page["status"]["store"]["error"]
            assert _journal(mon) == "failing"

            filler.unlink()
            wait_until(lambda: _journal(mon) == "ok", timeout=30)
            wait_until(lambda: _alerts(mon)["status"]["store"]["ok"], timeout=30)
            wait_until(lambda: rec.kinds(RULE) == ["firing", "resolved"], timeout=30)
            assert _alerts(mon)["active"] == []
    finally:
        mon.stop()
    log = mon.log.read_text()
    assert log.count("event=alert_store_failing") == 1  # said once, not per evaluation
    assert log.count("event=alert_store_resumed") == 1
    assert "event=journal_resumed" in log
    keys = [k for k, b in rec.got if b["rule"] == RULE]
    assert len(keys) == len(set(keys)) == 2  # the FIRING sent once (not again after the write-back)
