"""Forget a bot from the Health tab of a real monitor, in headless Chromium, and restart the monitor.

The command goes the way a trader's click goes (a same-origin Dash POST with
the page's CSRF token, through the web guard); the bot leaves the state, its
open alert is closed as forgotten by the operator, and after a restart on the
same journal the bot stays forgotten.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from collectors.publisher import BotPublisher
from tests.support.alerts_tab import click
from tests.support.dashboard_page import open_page, show_tab
from tests.support.http import get_json
from tests.support.monitor_process import MonitorProcess
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _bots(monitor: MonitorProcess) -> set[str]:
    return set(get_json(monitor.url + "/api/metrics")[1]["bots"])


def _alert_docs(data_dir: Path, bot: str) -> list[dict]:
    with sqlite3.connect(data_dir / "alerts.sqlite3") as db:
        docs = [json.loads(d) for (d,) in db.execute("SELECT doc FROM alerts")]
    return [d for d in docs if d.get("bot") == bot]


def test_forget_bot_from_the_health_tab_closes_its_alert_and_survives_a_restart(
    dash_duo, tmp_path: Path
) -> None:
    monitor = MonitorProcess(tmp_path, extra_yaml="alerts:\n  events:\n    stale: false\n").start()
    try:
        with BotPublisher("doomed", monitor.zmq) as doomed, BotPublisher("kept", monitor.zmq) as kept:
            doomed.health(kill_switch="triggered")  # a critical alert fires at once
            kept.health(kill_switch="armed")
            wait_until(lambda: _bots(monitor) == {"doomed", "kept"}, timeout=20)
            wait_until(lambda: any(d["status"] == "firing" for d in _alert_docs(tmp_path / "data", "doomed")))
        open_page(dash_duo, monitor, "doomed")
        show_tab(dash_duo, "Health")
        dash_duo.wait_for_element("#forget-bot", timeout=5)
        click(dash_duo, "#forget-bot")
        dash_duo.wait_for_contains_text(
            "#forget-bot-result", "doomed forgotten; 1 alert(s) closed", timeout=5
        )
        wait_until(lambda: _bots(monitor) == {"kept"}, timeout=5)
        (doc,) = _alert_docs(tmp_path / "data", "doomed")
        assert (doc["status"], doc["resolved_because"]) == ("resolved", "forgotten")
        monitor.stop()
        monitor.start()
        assert _bots(monitor) == {"kept"}  # the journal replayed the forget
        assert [d["status"] for d in _alert_docs(tmp_path / "data", "doomed")] == ["resolved"]
    finally:
        monitor.stop()
