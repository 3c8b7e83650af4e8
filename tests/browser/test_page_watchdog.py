"""The page's own watchdog, in headless Chromium against a real monitor process.

A server that hangs (SIGSTOP) keeps its TCP connections open, so the WebSocket
never closes and only the missing frames tell the page.  The server sends a
frame at least once per ``refresh_s``; after 3 x ``refresh_s`` without one the
status bar must leave LIVE and say since when the page has not been updating,
and come back to LIVE once the process runs again (SIGCONT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, text_of, wait_for, wait_text
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REFRESH_S = 0.5
WATCHDOG_S = 3 * REFRESH_S

_READ_BAR = """
var bar = document.getElementById('status-bar'), t = document.getElementById('conn-text');
return {cls: bar ? bar.className : '', state: (document.getElementById('conn-state') || {}).textContent || '',
        text: t ? t.textContent : '', said: (document.getElementById('conn-live') || {}).textContent || '',
        lastFrameAt: window.__monitor.lastFrameAt, now: Date.now()};
"""


def _bar(dash_duo) -> dict:
    return dash_duo.driver.execute_script(_READ_BAR)


def test_a_stopped_server_takes_the_page_out_of_live_and_a_resumed_one_brings_it_back(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    # the bot stays fresh however long the test takes: only the page's watchdog can leave LIVE
    monitor = monitor_process(stale_after_s=600.0, refresh_s=REFRESH_S).start()
    with BotPublisher("wd-bot", monitor.zmq) as bot:
        bot.account(10_000.0)
        open_page(dash_duo, monitor)
        wait_text(dash_duo, "conn-state", "LIVE", 10, exact=True)

        monitor.pause()
        try:
            stopped_at = time.monotonic()
            wait_text(dash_duo, "conn-state", "NOT UPDATING", WATCHDOG_S + 5, exact=True)
            noticed_after = time.monotonic() - stopped_at
            bar = _bar(dash_duo)
            assert "warn-frozen" in bar["cls"].split(), bar
            assert bar["text"].startswith("NOT UPDATING since "), bar
            # the page's own time is in the monitor's zone (metrics.timezone, UTC here), named
            since = datetime.fromtimestamp(bar["lastFrameAt"] / 1000, UTC).strftime("%H:%M:%S UTC")
            assert bar["text"].startswith(f"NOT UPDATING since {since} "), bar
            assert "no data from the monitor for" in bar["text"], bar
            assert bar["said"].startswith("Connection NOT UPDATING"), bar  # the live region, once
            # it left LIVE because the frames stopped, not before: at least 3 x refresh_s of silence
            assert bar["now"] - bar["lastFrameAt"] > WATCHDOG_S * 1000, bar
            print(f"page left LIVE {noticed_after:.2f} s after SIGSTOP (watchdog {WATCHDOG_S} s)")
            # and it stays out of LIVE while the server is stopped, the count moving on
            first = bar["text"]
            wait_for(dash_duo, lambda: _bar(dash_duo)["text"] != first, 5, "the silence count moves")
            assert text_of(dash_duo, "conn-state") == "NOT UPDATING"
        finally:
            monitor.resume()
        wait_text(dash_duo, "conn-state", "LIVE", 15, exact=True)
        bar = _bar(dash_duo)
        assert "warn-frozen" not in bar["cls"].split() and not bar["text"].startswith("NOT UPDATING"), bar
