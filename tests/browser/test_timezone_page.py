"""Times on the page in ``metrics.timezone``, with the zone shown: headless Chromium, a real monitor.

The monitor runs with ``metrics.timezone: America/New_York``.  A fill of a moment ago
must read as New York's wall clock with its abbreviation (EST or EDT, whichever holds
at that instant), a fill of three days ago with its date too, and never as UTC; the
charts' time axis is on the same clock and says which.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, show_tab, text_of, wait_for
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_LAST_X = """
var g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!g || !g.data || !g.data[0] || !g.data[0].x.length) { return null; }
var x = g.data[0].x; return [x[x.length - 1], g.layout.xaxis.title.text];
"""


def new_york(ts: float, now: float) -> str:
    """What a trader in New York reads for ``ts`` (the wall clock, the zone, the date if not today)."""
    at = datetime.fromtimestamp(ts, NEW_YORK)
    text = f"{at:%H:%M:%S} {at.tzname()}"
    if at.date() == datetime.fromtimestamp(now, NEW_YORK).date():
        return text
    return f"{at.day} {MONTHS[at.month - 1]} {text}"


def fills_text(dash_duo) -> str:
    return text_of(dash_duo, "tb-fills")


def test_table_times_and_chart_axis_are_in_the_configured_zone(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    monitor = monitor_process(extra_yaml=f"metrics:\n  timezone: {ZONE}\n").start()
    now = time.time()
    recent, old = now - 5.0, now - 3 * 86400.0 - 4321.0
    with BotPublisher("ny-bot", monitor.zmq) as bot:
        bot.fill("f-old", "o-old", "ETH-USD", "buy", 1.0, 3000.0, fee=0.5, ts=old)
        bot.fill("f-new", "o-new", "ETH-USD", "sell", 1.0, 3010.0, fee=0.5, ts=recent)
        bot.account(10_000.0, currency="USD", ts=recent)
        open_page(dash_duo, monitor)
        want_recent, want_old = new_york(recent, time.time()), new_york(old, time.time())
        assert want_old.split()[0].isdigit() and want_old.split()[1] in MONTHS  # the old one has its date
        wait_for(dash_duo, lambda: want_recent in fills_text(dash_duo), 5, f"fill at {want_recent}")
        table = fills_text(dash_duo)
        assert want_old in table, (want_old, table)
        assert "UTC" not in table, table
        utc = datetime.fromtimestamp(recent, ZoneInfo("UTC")).strftime("%H:%M:%S")
        assert utc not in table or utc == want_recent[:8], table  # the UTC clock is not what is shown
        dash_duo.wait_for_contains_text("#status-body", "10,000.00 USD", timeout=2)

        # the charts: x is New York's wall clock (ms), and the axis says so
        show_tab(dash_duo, "Risk")
        wait_for(dash_duo, lambda: dash_duo.driver.execute_script(_LAST_X, "ch-equity"), 5, "equity point")
        last_x, axis = dash_duo.driver.execute_script(_LAST_X, "ch-equity")
        offset = datetime.fromtimestamp(recent, NEW_YORK).utcoffset().total_seconds()
        assert axis == ZONE
        assert last_x == pytest.approx((recent + offset) * 1000, abs=1)
