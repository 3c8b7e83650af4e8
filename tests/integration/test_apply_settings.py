"""Run-time reconfiguration has one owner: ``Monitor.apply_settings`` validates, writes, applies.

A real monitor (not started: no thread runs, the test drives it on a fake clock)
over a real settings file; a real webhook receiver.  What is checked is what
the change does: the new latency limit fires, the new channel receives it, the
new stale threshold marks the bot stale and raises the stale alert.  A refused
change writes nothing and applies nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runtime import Monitor
from app.settings import load_settings
from collectors.events import Latency
from tests.support.alerts import bodies
from tests.support.clock import FakeClock
from tests.support.ports import free_port

SETTINGS = """\
# settings of the reconfiguration tests
collector:
  endpoints:
    - {{url: "tcp://127.0.0.1:{port}", mode: bind}}
  stale_after_s: 600     # no stale bot until a change says otherwise
alerts:
  thresholds:
    max_latency_ms: 500
  routes:
    critical: {{channels: []}}
    warning: {{channels: []}}
storage:
  data_dir: {data}
"""


@pytest.fixture
def monitor(tmp_path: Path) -> Monitor:
    path = tmp_path / "settings.yaml"
    path.write_text(SETTINGS.format(port=free_port(), data=tmp_path / "data"))
    mon = Monitor(load_settings(path), clock=FakeClock())
    yield mon
    mon.stop()


def _latencies(mon: Monitor, ms: float, n: int = 20, bot: str = "b1") -> None:
    for seq in range(1, n + 1):
        mon.hub.apply(Latency(v=1, bot=bot, seq=seq, ts=mon.clock(), op="submit", ms=ms))


def _firing(mon: Monitor) -> set[tuple[str, str]]:
    return {(a.bot, a.rule) for a in mon.alerts.active() if a.status == "firing"}


def test_a_saved_change_applies_threshold_channel_and_stale_limit(monitor: Monitor, httpserver) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    _latencies(monitor, 300.0)
    monitor.alerts.pump()
    assert _firing(monitor) == set()  # 300 ms is under the 500 ms limit in force
    applied = monitor.apply_settings(
        [
            (("collector", "stale_after_s"), 5.0),
            (("alerts", "thresholds", "max_latency_ms"), 250),
            (("alerts", "channels", "hook"), {"type": "webhook", "urls": [httpserver.url_for("/hook")]}),
            (("alerts", "routes", "warning"), {"channels": ["hook"]}),
        ],
        {},
    )
    assert applied.saved, applied.message
    assert applied.message.startswith("Saved to settings.yaml")
    on_disk = load_settings(monitor.settings.source)
    assert on_disk.collector.stale_after_s == 5.0
    assert on_disk.alerts.thresholds.max_latency_ms == 250
    monitor.alerts.pump()
    assert _firing(monitor) == {("b1", "max_latency_ms")}
    assert [(b["alert"]["rule"], b["alert"]["kind"]) for b in bodies(httpserver)] == [
        ("max_latency_ms", "firing")
    ]
    assert monitor.hub.stale_after_s == 5.0
    monitor.clock.advance(6.0)
    monitor.alerts.pump()
    assert ("b1", "stale") in _firing(monitor)


def test_a_refused_change_writes_and_applies_nothing(monitor: Monitor) -> None:
    path = Path(monitor.settings.source)
    before = path.read_bytes()
    applied = monitor.apply_settings([(("collector", "stale_after_s"), -1)], {})
    assert not applied.saved
    assert applied.key == "collector.stale_after_s" and applied.reason
    assert applied.message.startswith("Not saved: collector.stale_after_s")
    assert path.read_bytes() == before
    assert monitor.hub.stale_after_s == 600
    assert monitor.alerts.engine.stale_after_s == 600
