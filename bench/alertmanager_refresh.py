"""The cost of the state re-sends to Alertmanager (prints figures).

Run: .venv/bin/python bench/alertmanager_refresh.py

1. The engine's share: ``StateRefresh.notices`` at every evaluation with N firing alerts routed
   to an Alertmanager channel (two peers), on a tick where nothing is due and on the tick where
   every alert is due (median of 50 calls each).
2. The channel's share: building the JSON body of one POST of 50 alerts (``render``), median of
   200 builds.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.channels.alertmanager import AlertmanagerChannel
from alerts.config import AlertsSettings
from alerts.notices import alert_payload
from alerts.rows import Row
from alerts.state_refresh import StateRefresh
from alerts.states import FIRING, Alert

CFG = msgspec.convert(
    {"channels": {"am": {"type": "alertmanager", "urls": ["http://am1:9093", "http://am2:9093"]}}},
    AlertsSettings,
)


def _alerts(n: int) -> list[Alert]:
    return [
        Alert(f"a{i}", f"kill_switch|b{i}", "kill_switch", f"b{i}", "critical", FIRING, 0.0, fired_at=0.0)
        for i in range(n)
    ]


def _median_ms(call, times: int) -> float:
    runs = []
    for _ in range(times):
        t0 = time.perf_counter()
        call()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def engine_share(n: int) -> tuple[float, float]:
    alerts = [replace(a, notified=("am",)) for a in _alerts(n)]
    refresh = StateRefresh(lambda since: [])
    refresh.notices(CFG, alerts, [], 0.0)  # every alert sent once: nothing due for 60 s
    quiet = _median_ms(lambda: refresh.notices(CFG, alerts, [], 1.0), 50)
    due = []
    for k in range(50):
        r = StateRefresh(lambda since: [])
        t0 = time.perf_counter()
        r.notices(CFG, alerts, [], 100.0 + k)
        due.append((time.perf_counter() - t0) * 1000)
    return quiet, statistics.median(due)


def channel_share() -> float:
    channel = AlertmanagerChannel("am", CFG.channels["am"], "http://monitor.lan:8050")
    rows = [
        Row(i, f"a{i}:refresh:1:am:0", a.alert_id, "am", "0", "refresh", 0, p, 0.0, 0)
        for i, a in enumerate(_alerts(50))
        if (p := {**alert_payload(a, "refresh", 1.0, "http://monitor.lan:8050"), "monitor": "m"})
    ]
    return _median_ms(lambda: channel.render(rows), 200)


def main() -> None:
    for n in (100, 1000, 5000):
        quiet, due = engine_share(n)
        head = f"engine, {n:>5} firing alerts:"
        print(f"{head} {quiet:7.2f} ms per evaluation (none due), {due:7.2f} ms (all due)")
    print(f"channel: one POST body of 50 alerts built in {channel_share():.2f} ms")


if __name__ == "__main__":
    main()
