"""The dashboard's push thread shows the alert state without touching SQLite.

Real pieces: a Hub fed with real events, the real SQLite outbox, real webhook
deliveries to a local HTTP server, the real broadcaster and Alerts tab.  The
alert service publishes a snapshot after each write; the broadcaster's tick
must show it with the outbox closed (any SQLite call would then raise, and the
sections would be missing from the frame) and without rebuilding it.
"""

from __future__ import annotations

import json
from typing import Any

from alerts.service import AlertService
from app.dashboard.alerts_tab import AlertsTab
from app.dashboard.broadcaster import Broadcaster
from app.dashboard.config import DashboardSettings
from app.dashboard.view_input import ALL
from app.operator import Operator
from tests.support.alerts import FakeClock, Feed, make_service, settings, webhook_channel


class _NoSettings:
    """The tab's reconfiguration interface, unused by what is pushed: any call is a failure."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the push path called the settings owner ({name})")


class _CountingOutbox:
    """The outbox with a count of every call made through it."""

    def __init__(self, outbox: Any) -> None:
        self.inner, self.calls = outbox, 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.inner, name)


def _firing_service(httpserver, tmp_path, bots: list[str]) -> tuple[AlertService, Feed]:
    httpserver.expect_request("/hook").respond_with_data("ok")
    feed = Feed(FakeClock())
    cfg = settings(
        channels={"hook": webhook_channel(httpserver.url_for("/hook"))},
        routes={"critical": {"channels": ["hook"]}, "warning": {"channels": ["hook"]}},
        events={"stale": False},
    )
    svc = make_service(feed, cfg, tmp_path)
    for bot in bots:
        feed.health(bot=bot, kill_switch="triggered")
    svc.pump()
    return svc, feed


def _frame(broadcaster: Broadcaster) -> dict:
    slot = broadcaster.connect(ALL)
    assert slot is not None
    broadcaster.tick()
    raw = slot.take(timeout=0)
    assert raw is not None
    return json.loads(raw)["s"]


def test_the_push_thread_shows_alerts_with_the_outbox_closed(httpserver, tmp_path) -> None:
    svc, feed = _firing_service(httpserver, tmp_path, ["b1"])
    view = Operator(svc, feed.hub, _NoSettings(), timezone="UTC")  # type: ignore[arg-type]
    tab = AlertsTab(view, feed.hub.metrics)
    broadcaster = Broadcaster(
        feed.hub,
        DashboardSettings(),
        listen_info={"zmq": [], "http": ""},
        alerts_status=lambda: svc.snapshot().status,
        extra_sections=tab.sections,
    )
    counting = _CountingOutbox(svc.outbox)
    svc.snapshots.outbox = counting  # a rebuild of the snapshot would go through it
    svc.outbox.close()  # from here on, any SQLite call raises
    sections = _frame(broadcaster)
    assert counting.calls == 0
    (row,) = sections["at-active"]["rows"]
    assert [row[k] for k in ("bot", "rule", "status", "delivered")] == ["b1", "Kill switch", "firing", "hook"]
    (entry,) = sections["at-history"]["rows"]
    assert [entry[k] for k in ("rule", "kind", "what")] == ["Kill switch", "FIRING", "kill switch TRIGGERED"]
    assert entry["ch"] == [["hook: delivered", "pos"]]
    kv = {label: value for label, value, _cls in sections["kv-alerts"]}
    assert kv["Firing alerts"] == "1" and kv["Delivery"] == "ok"
    assert kv["Channel hook"].startswith("ok")


def test_the_outbox_is_read_once_per_change_whatever_the_number_of_alerts(httpserver, tmp_path) -> None:
    calls = {}
    for n in (1, 6):
        svc, _feed = _firing_service(httpserver, tmp_path / str(n), [f"b{i}" for i in range(n)])
        assert len(svc.snapshot().active) == n
        counting = _CountingOutbox(svc.outbox)
        svc.snapshots.outbox = counting
        svc.publish()  # nothing changed since the last publish: no query at all
        assert counting.calls == 1  # the change counter only
        alert_id = svc.snapshot().active[0].alert_id
        counting.calls = 0
        assert svc.ack(alert_id, "test")  # a write, then a publish that re-reads the outbox
        calls[n] = counting.calls
        assert svc.snapshot().active[0].acked_by == "test"
        svc.stop()
    assert calls[1] == calls[6] > 1


def test_a_published_snapshot_is_never_changed_by_later_writes(httpserver, tmp_path) -> None:
    svc, _feed = _firing_service(httpserver, tmp_path, ["b1"])
    before = svc.snapshot()
    assert svc.ack(before.active[0].alert_id, "test")
    after = svc.snapshot()
    assert after is not before
    assert before.active[0].acked_by is None and after.active[0].acked_by == "test"
    svc.stop()
