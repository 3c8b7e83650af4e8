"""A bot's view: the Alerts tab's sections and the firing count follow the bot selector.

Pure parts (narrowing a snapshot, a metrics document and the alert status to a view,
the view a page may ask for) and the broadcaster's frames of two views from one tick.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from alerts.catalog import MONITOR
from alerts.config import AlertsSettings
from alerts.read_model import ActiveAlert, AlertStatus, HistoryEntry
from alerts.snapshot import AlertSnapshot
from app.dashboard import view_of
from app.dashboard.alerts_sections import alert_status, metrics_of_view, snapshot_of_view
from app.dashboard.alerts_tab import AlertsTab
from app.dashboard.broadcaster import Broadcaster, alerts_for_view
from app.dashboard.config import DashboardSettings
from app.dashboard.view_input import ALL
from app.hub import Hub
from collectors.events import Heartbeat
from core.config import CoreConfig
from core.store import StateStore


def _entry(bot: str) -> HistoryEntry:
    return HistoryEntry(
        key=f"a:{bot}",
        alert_id="a",
        kind="alert",
        event="firing",
        state="FIRING",
        created_at=1.0,
        severity="critical",
        bot=bot,
        rule="kill_switch",
        title="Kill switch",
        summary="kill switch TRIGGERED",
        what="kill switch TRIGGERED",
        channels={},
    )


def _alert(i: int, bot: str, status: str = "firing") -> ActiveAlert:
    doc = {
        "alert_id": f"a{i}",
        "key": f"kill_switch|{bot}",
        "rule": "kill_switch",
        "bot": bot,
        "severity": "critical",
        "status": status,
        "since": 1.0,
        "summary": "kill switch TRIGGERED",
        "escalations": 0,
    }
    return ActiveAlert(**doc)


SNAP = AlertSnapshot(
    active=(
        _alert(1, "alpha"),
        _alert(2, "alpha"),
        _alert(3, "beta"),
        _alert(4, "beta", "pending"),
        _alert(5, MONITOR),
    ),
    history=tuple(_entry(b) for b in ("alpha", "beta", MONITOR)),
    status=AlertStatus(firing=4, firing_by_bot={"alpha": 2, "beta": 1, MONITOR: 1}),
)


def test_a_bots_view_keeps_its_alerts_and_the_monitors_own() -> None:
    part = snapshot_of_view(SNAP, "beta")
    assert [a.bot for a in part.active] == ["beta", "beta", MONITOR]
    assert [e.bot for e in part.history] == ["beta", MONITOR]
    assert snapshot_of_view(SNAP, ALL) is SNAP
    assert snapshot_of_view(SNAP, "gamma").active == (SNAP.active[-1],)  # a bot with no alert yet


def test_the_firing_count_is_narrowed_to_the_view() -> None:
    status = alert_status(SimpleNamespace(snapshot=lambda: SNAP))
    assert alerts_for_view(status, ALL).firing == 4
    assert alerts_for_view(status, "alpha").firing == 3
    assert alerts_for_view(status, "beta").firing == 2
    assert alerts_for_view(status, "gamma").firing == 1
    assert status.firing == 4  # the shared status is not changed by a view
    assert alerts_for_view(None, "beta") is None
    global_only = AlertStatus(firing=4)
    assert alerts_for_view(global_only, "beta") is global_only  # no breakdown: nothing to narrow


def test_the_read_model_counts_firing_alerts_per_bot() -> None:
    from alerts.read_model import firing_by_bot

    assert firing_by_bot(SNAP.active) == {"alpha": 2, "beta": 1, MONITOR: 1}  # pending is not firing


def test_the_rules_tables_current_values_are_the_views_bots() -> None:
    doc = _hub("alpha", "beta").metrics()
    assert list(metrics_of_view(doc, "beta").bots) == ["beta"]
    assert list(metrics_of_view(doc, "gamma").bots) == []
    assert metrics_of_view(doc, ALL) is doc and metrics_of_view(None, "beta") is None


@pytest.mark.parametrize(
    ("asked", "view"),
    [
        ("beta", "beta"),
        ("bot-1.eu_2", "bot-1.eu_2"),
        (None, ALL),
        ("", ALL),
        ("<img src=x onerror=alert(1)>", ALL),
        ("a" * 65, ALL),
        ("beta\n", ALL),
        ("../x y", ALL),
    ],
)
def test_a_page_may_ask_for_all_bots_or_one_valid_bot_id(asked: str | None, view: str) -> None:
    assert view_of(asked) == view


def _hub(*bots: str) -> Hub:
    hub = Hub(StateStore(CoreConfig(stale_after_s=600.0), clock=time.time))
    for bot in bots:
        hub.apply(Heartbeat(v=1, bot=bot, seq=0, ts=time.time()))
    return hub


def _frame(broadcaster: Broadcaster, slot: Any) -> dict:
    raw = slot.take(timeout=0)
    assert raw is not None
    return json.loads(raw)["s"]


def test_each_view_gets_its_own_alerts_firing_count_and_selector_entry() -> None:
    hub = _hub("alpha", "beta")
    service = SimpleNamespace(
        snapshot=lambda: SNAP, alert_settings=AlertsSettings, stale_after_s=600.0, timezone="UTC"
    )
    tab = AlertsTab(service, hub.metrics)  # type: ignore[arg-type]
    broadcaster = Broadcaster(
        hub,
        DashboardSettings(),
        listen_info={"zmq": [], "http": ""},
        alerts_status=lambda: alert_status(service),
        extra_sections=tab.sections,
    )
    slots = {v: broadcaster.connect(v) for v in (ALL, "beta", "gamma")}
    broadcaster.tick()
    frames = {v: _frame(broadcaster, s) for v, s in slots.items()}
    bots = {v: sorted({r["bot"] for r in f["at-active"]["rows"]}) for v, f in frames.items()}
    assert bots == {
        ALL: sorted(["alpha", "beta", MONITOR]),
        "beta": sorted(["beta", MONITOR]),
        "gamma": [MONITOR],
    }
    firing = {v: dict((k, t) for k, t, *_ in f["kv-alerts"])["Firing alerts"] for v, f in frames.items()}
    assert firing == {ALL: "4", "beta": "2", "gamma": "1"}
    rules = {v: json.dumps(f["at-rules"]) for v, f in frames.items()}
    assert "alpha:" in rules[ALL] and "alpha:" not in rules["beta"] and "beta:" in rules["beta"]
    assert frames[ALL]["bots"] == ["alpha", "beta"] and frames["beta"]["bots"] == ["alpha", "beta"]
    assert frames["gamma"]["bots"] == ["alpha", "beta", "gamma"]  # a chosen bot not seen yet stays listed
