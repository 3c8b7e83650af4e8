"""The dead man's switch: the monitor pings an outside URL, and keeps pinging when it fails."""

from __future__ import annotations

import time

from alerts.service import AlertService
from app.hub import Hub
from core.config import CoreConfig
from core.storage_settings import StorageSettings
from core.store import StateStore
from tests.support.alerts import settings
from tests.support.waiting import wait_until


def test_watchdog_pings_the_configured_url_repeatedly(httpserver, tmp_path) -> None:
    httpserver.expect_request("/ping/abc").respond_with_data("OK")
    cfg = settings(watchdog={"url": httpserver.url_for("/ping/abc"), "interval_s": 0.05, "timeout_s": 2})
    service = AlertService(
        Hub(StateStore(CoreConfig(), time.time)),
        cfg,
        StorageSettings(data_dir=str(tmp_path)),
        dashboard_url="http://x",
        stale_after_s=10.0,
    )
    service.start()
    try:
        wait_until(lambda: len(httpserver.log) >= 3, timeout=10)
    finally:
        service.stop()
    assert all(req.path == "/ping/abc" and req.method == "GET" for req, _ in httpserver.log)


def test_watchdog_survives_a_failing_endpoint(httpserver, tmp_path, caplog) -> None:
    httpserver.expect_request("/ping").respond_with_data("down", status=500)
    cfg = settings(watchdog={"url": httpserver.url_for("/ping") + "?token=s3cret", "interval_s": 0.05})
    service = AlertService(
        Hub(StateStore(CoreConfig(), time.time)),
        cfg,
        StorageSettings(data_dir=str(tmp_path)),
        dashboard_url="http://x",
        stale_after_s=10.0,
    )
    service.start()
    try:
        wait_until(lambda: len(httpserver.log) >= 3, timeout=10)  # it keeps trying after failures
    finally:
        service.stop()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("alerts")]
    assert any("event=watchdog_ping_failed host=localhost error=HTTPError" in m for m in ours)
    assert not any("s3cret" in m for m in ours)  # the URL may hold a secret: only the host is logged
