"""A position valued at a stale mark shows the mark's age on its card, on a phone and a laptop.

A real monitor, one bot over real ZeroMQ: a BTC-USD position whose last price is two minutes
older than the bot's newest event (an ETH-USD mark), in headless Chromium at 390x844 and
1440x900.  The Unrealized P&L of that position says "stale" with the age, fully in view; the
Risk tab's equity figure says a stale mark is inside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, wait_for
from tests.support.monitor_process import MonitorProcess
from tests.support.trading_scene import LAPTOP, PHONE, not_seen, set_viewport, show

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: [[what, cell], ...]: the Unrealized P&L cell of every position row (labels from the headers).
_PNL = """
var heads = Array.prototype.map.call(document.querySelectorAll('#tb-positions thead th'),
                                     function (th) { return th.textContent; });
var out = [];
document.querySelectorAll('#tb-positions tbody tr').forEach(function (tr) {
  Array.prototype.forEach.call(tr.children, function (td, i) {
    if ((heads[i] || '').indexOf('Unrealized') === 0) { out.push([tr.children[0].textContent, td]); }
  });
});
return out;
"""


def _pnl_text(dash_duo) -> dict[str, str]:
    cells = dash_duo.driver.execute_script(_PNL)
    return {sym: cell.text for sym, cell in cells}


def test_a_stale_mark_shows_its_age_on_the_position_card_at_both_sizes(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    monitor = monitor_process(stale_after_s=600.0).start()
    now = time.time()
    with BotPublisher("mark-bot", monitor.zmq) as pub:
        pub.fill("f1", "o1", "BTC-USD", "buy", 0.5, 60_000.0, ts=now - 120)
        pub.fill("f2", "o2", "ETH-USD", "buy", 1.0, 3_000.0, ts=now)
        for size in (PHONE, LAPTOP):
            set_viewport(dash_duo, size)
            open_page(dash_duo, monitor, "mark-bot")
            wait_for(dash_duo, lambda: "stale: mark" in _pnl_text(dash_duo).get("BTC-USD", ""), 10, "stale")
            texts = _pnl_text(dash_duo)
            assert "min" in texts["BTC-USD"] and texts["BTC-USD"].endswith("old)"), texts
            assert "stale" not in texts["ETH-USD"], texts
            assert not_seen(dash_duo, _PNL) == {}, size  # in view, not clipped, not under the bar
            show(dash_duo, "Risk")
            dash_duo.wait_for_contains_text("#cards-risk", "1 stale mark inside", timeout=5)
            show(dash_duo, "Trading")
