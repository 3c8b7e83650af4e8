"""Child process of the crash test: a Hub + AlertService on a data dir, with one webhook channel.

``python -m tests.support.alert_crash_child DATA_DIR URL N``: N bots report a triggered
kill switch (again and again, as live bots would); the service runs its real
threads on the real clock until the parent kills it (SIGKILL) or it is told to
stop with SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import msgspec

from alerts.config import AlertsSettings
from alerts.service import AlertService
from app.hub import Hub
from collectors.events import Health
from core.config import CoreConfig
from core.storage_settings import StorageSettings
from core.store import StateStore


def main(data_dir: str, url: str, n: int) -> None:
    cfg = msgspec.convert(
        {
            "channels": {"hook": {"type": "webhook", "urls": [url], "timeout_s": 2}},
            "routes": {"critical": {"channels": ["hook"]}},
            "events": {"stale": False},
            "delivery": {"failover_after_s": 3600},
        },
        AlertsSettings,
    )
    hub = Hub(StateStore(CoreConfig(), clock=time.time))
    svc = AlertService(
        hub, cfg, StorageSettings(data_dir=data_dir), dashboard_url="http://dash.test", stale_after_s=3600
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    svc.start()
    seq = 0
    while not stop.is_set():
        seq += 1
        for i in range(n):
            hub.apply(Health(v=1, bot=f"bot{i}", seq=seq, ts=time.time(), kill_switch="triggered"))
        print("tick", flush=True)
        stop.wait(0.1)
    svc.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
