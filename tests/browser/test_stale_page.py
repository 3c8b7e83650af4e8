"""What the page shows of silent bots, in headless Chromium, fed by a real monitor.

Two bots fall silent a few seconds apart.  While only the first is stale, the
"All bots" bar names it with its age and stays a warning, but the totals the
other bot keeps current are not marked old.  Once both are stale, every value
that comes from the bots is dimmed and marked with the age of the *newest* data
behind it, and the Health tab says which bot is stale.  Ages are read from the
same rendered frame (one script call), so the comparison does not race the next frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, show_tab, text_of, wait_for, wait_text
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STALE_AFTER_S = 3.0
#: Status-bar values that come from the bots' data (the alert count is the monitor's own).
BOT_VALUES = {"Equity", "Daily P&L", "Worst drawdown", "Kill switch", "Circuit breaker"}

_READ_BAR = """
var stats = [];
document.querySelectorAll('#status-body .stat').forEach(function (s) {
  stats.push([s.querySelector('.stat-label').textContent, s.className,
              s.querySelector('.stat-age').textContent]);
});
var t = document.getElementById('conn-text');
return {text: t ? t.textContent : '', stats: stats};
"""

_READ_KV = """
var rows = {};
document.querySelectorAll('#' + arguments[0] + ' .kv').forEach(function (d) {
  var v = d.querySelector('.kv-value');
  rows[d.querySelector('.kv-label').textContent] = [v.textContent, v.className];
});
return rows;
"""


def _ages(text: str) -> dict[str, str]:
    """``2 of 2 bots stale: a, 6.1 s; b, 3.2 s · newest data 3.2 s old`` -> {bot: age text}."""
    m = re.search(r"bots? stale: (.*?)(?: · |$)", text)
    return dict(part.rsplit(", ", 1) for part in m.group(1).split("; ")) if m else {}


def _seconds(age: str) -> float:
    return float(age.split()[0])


def _bar(dash_duo) -> dict:
    return dash_duo.driver.execute_script(_READ_BAR)


def _kv(dash_duo, element_id: str) -> dict[str, list[str]]:
    return dash_duo.driver.execute_script(_READ_KV, element_id)


def test_silent_bots_are_named_and_dim_the_status_bar_only_when_all_are_stale(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    monitor = monitor_process(stale_after_s=STALE_AFTER_S).start()
    with BotPublisher("old-bot", monitor.zmq) as old, BotPublisher("new-bot", monitor.zmq) as new:
        old.account(10_000.0)
        old.health(kill_switch="armed", circuit_breaker="closed")
        open_page(dash_duo, monitor)  # the "All bots" view
        # the second bot speaks last, 2 s or more after the first: their ages differ by that much
        wait_for(dash_duo, lambda: _last_age(dash_duo) >= 2.0, STALE_AFTER_S + 5, "old-bot quiet for 2 s")
        new.account(5_000.0)
        new.health(kill_switch="armed", circuit_breaker="closed")
        # old-bot stale, new-bot live: named with its age, a warning, no total marked old
        wait_for(dash_duo, lambda: "1 of 2 bots stale: old-bot" in _bar(dash_duo)["text"], 5, "one stale")
        bar = _bar(dash_duo)
        assert list(_ages(bar["text"])) == ["old-bot"], bar["text"]
        assert text_of(dash_duo, "conn-state") == "STALE"
        assert [s for s in bar["stats"] if "stale" in s[1].split() or s[2]] == [], bar["stats"]
        # both stale: everything from the bots is marked, with the age of the newest data
        wait_for(dash_duo, lambda: len(_ages(_bar(dash_duo)["text"])) == 2, STALE_AFTER_S + 5, "both stale")
        bar = _bar(dash_duo)
        ages = _ages(bar["text"])
        assert _seconds(ages["old-bot"]) >= _seconds(ages["new-bot"]) + 1.5, ages
        shown = {label: (cls.split(), note) for label, cls, note in bar["stats"]}
        assert set(shown) >= BOT_VALUES, shown
        for label in BOT_VALUES:
            classes, note = shown[label]
            assert "stale" in classes, label
            assert note == f"{ages['new-bot']} old", (label, note, ages)  # the newest data, not the oldest
        if "Alerts" in shown:
            assert "stale" not in shown["Alerts"][0]  # the monitor's own count is current

        show_tab(dash_duo, "Health")
        label = f"old-bot · Stale (> {STALE_AFTER_S:.1f} s)"
        dash_duo.wait_for_contains_text("#kv-bot-health", label, timeout=2)
        rows = _kv(dash_duo, "kv-bot-health")
        for bot in ("old-bot", "new-bot"):
            value, cls = rows[f"{bot} · Stale (> {STALE_AFTER_S:.1f} s)"]
            assert value == "yes" and "neg" in cls.split(), (bot, value, cls)

        old.heartbeat()
        new.heartbeat()
        wait_text(dash_duo, "conn-state", "LIVE", 2, exact=True)
        wait_for(
            dash_duo,
            lambda: _kv(dash_duo, "kv-bot-health").get(label, [""])[0] == "no",
            2,
            "Health says not stale",
        )
        bar = _bar(dash_duo)
        assert [s for s in bar["stats"] if "stale" in s[1].split() or s[2]] == []


def _last_age(dash_duo) -> float:
    """Age of the last event the bar reports (``live · last event 2.1 s ago``), 0 before any."""
    m = re.search(r"last event ([\d.]+) s ago", _bar(dash_duo)["text"])
    return float(m.group(1)) if m else 0.0
