"""A trading scene for the layout tests and the documentation's screenshots.

Three bots trade against a real ``python -m app`` process over real ZeroMQ: five open
positions (long and short, winning and losing), a few round trips, and three active
alerts -- two warnings (latency, errors) fired first, then one critical (a drawdown
breach), so the page must put the critical one first by severity, not by time.  The
bots never go stale during a test (``stale_after_s`` is long): what the page shows is
the data, not a side effect of the clock.

The page helpers measure what a trader sees: an element counts as visible when, scrolled
into view, its box is inside the viewport's width, not clipped by a scrolling ancestor
and not covered by another element (the sticky status bar, say).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, show_tab, wait_for
from tests.support.monitor_process import MonitorProcess

BOTS = ("alpha-bot", "beta-bot", "gamma-bot")
PHONE = (390, 844)
LAPTOP = (1440, 900)
#: Where :func:`screenshot` writes when DOCS_SCREENSHOTS is set (``DOCS_SCREENSHOTS=1 make test``
#: or the responsive tests alone regenerate the README's pictures).
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class Position:
    """One open position as the page must show it (texts as formatted by the dashboard)."""

    bot: str
    symbol: str
    side: str  # "long" / "short"
    qty: str
    unrealized: str  # signed, two decimals


@dataclass(frozen=True)
class Alert:
    bot: str
    severity: str  # "CRITICAL" / "WARNING", as the page writes it


POSITIONS = (
    Position("alpha-bot", "BTC-USD", "long", "0.5", "+500.00"),
    Position("alpha-bot", "ETH-USD", "short", "2", "-200.00"),
    Position("beta-bot", "SOL-USD", "long", "10", "+50.00"),
    Position("beta-bot", "BTC-USD", "short", "0.25", "-250.00"),
    Position("gamma-bot", "ETH-USD", "long", "3", "+300.00"),
)
ALERTS = (Alert("alpha-bot", "CRITICAL"), Alert("beta-bot", "WARNING"), Alert("gamma-bot", "WARNING"))
MARKS = {"BTC-USD": 61_000.0, "ETH-USD": 3_100.0, "SOL-USD": 155.0}
#: (bot, symbol, qty, entry, exit): closed long round trips, with the odd sizes bots trade
TRIPS = (
    ("alpha-bot", "SOL-USD", 15.302069, 142.4135, 142.255),
    ("beta-bot", "ETH-USD", 0.292652, 3_141.99, 3_150.48),
    ("beta-bot", "ETH-USD", 0.314445, 3_150.48, 3_143.38),
    ("gamma-bot", "SOL-USD", 7.23286, 136.7191, 137.2159),
)
FILLS = len(POSITIONS) + 2 * len(TRIPS)  # rows of the recent-fills table


class TradingScene:
    """The monitor and the three bots; ``start()`` publishes the scene, ``stop()`` ends it."""

    def __init__(self, tmp: Path) -> None:
        # the scene's three alerts stay three: alpha-bot's kill switch, armed through its drawdown,
        # would add "protection did not act", and a long test would see its marks age past a minute
        # (docs/alerts.md, Safety invariants)
        safety = "  safety: {protection_missed: false, mark_stale_after_s: 3600}\n"
        self.monitor = MonitorProcess(
            tmp, stale_after_s=600.0, extra_yaml="alerts:\n  tick_s: 0.2\n" + safety
        )
        self.bots: dict[str, BotPublisher] = {}

    def start(self) -> TradingScene:
        self.monitor.start()
        self.bots = {b: BotPublisher(b, self.monitor.zmq) for b in BOTS}
        self._accounts()
        self._trades()
        self._warnings()
        time.sleep(1.0)  # the warnings fire first: the critical alert is the newest
        self._drawdown_breach()
        return self

    def stop(self) -> None:
        for bot in self.bots.values():
            bot.close(linger_s=0.5)
        self.monitor.stop()

    def _accounts(self) -> None:
        for bot, equity in zip(BOTS, (10_000.0, 20_000.0, 15_000.0), strict=True):
            self.bots[bot].account(equity, currency="USD")
            self.bots[bot].health(apis={"binance": "up"}, circuit_breaker="closed", kill_switch="armed")

    def _trades(self) -> None:
        n = 0
        for bot, symbol, qty, entry, exit_ in TRIPS:
            pub = self.bots[bot]
            pub.fill(f"f{n}", f"o{n}", symbol, "buy", qty, entry, fee=0.3955)
            pub.fill(f"f{n + 1}", f"o{n + 1}", symbol, "sell", qty, exit_, fee=0.3954)
            n += 2
        entry = {"BTC-USD": 60_000.0, "ETH-USD": 3_000.0, "SOL-USD": 150.0}
        for p in POSITIONS:
            side = "buy" if p.side == "long" else "sell"
            self.bots[p.bot].fill(f"f{n}", f"o{n}", p.symbol, side, float(p.qty), entry[p.symbol])
            n += 1
        for pub in self.bots.values():
            pub.mark(MARKS)

    def _warnings(self) -> None:
        for _ in range(5):  # latency p95 above the default 500 ms
            self.bots["beta-bot"].latency("submit", 900.0)
        for i in range(25):  # more errors in 5 minutes than the default 20
            self.bots["gamma-bot"].error("exchange", f"order rejected: rate limit ({i})")

    def _drawdown_breach(self) -> None:
        self.bots["alpha-bot"].account(8_600.0, currency="USD")  # 14 % below its peak: over the 10 % limit


# ---- the page ----------------------------------------------------------------------------------
def set_viewport(dash_duo: Any, size: tuple[int, int]) -> None:
    """The page's viewport exactly ``size`` CSS pixels, as a phone (touch, mobile) below 600 px."""
    width, height = size
    dash_duo.driver.set_window_size(width, height)
    dash_duo.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def open_scene(dash_duo: Any, scene: TradingScene, size: tuple[int, int]) -> None:
    """Load the "All bots" view at ``size`` and wait until the whole scene is on the page."""
    set_viewport(dash_duo, size)
    open_page(dash_duo, scene.monitor)
    wait_for(dash_duo, lambda: _rows(dash_duo, "tb-positions") == len(POSITIONS), 10, "5 positions")
    wait_for(dash_duo, lambda: _rows(dash_duo, "atab-active") == len(ALERTS), 15, "3 active alerts")


def _rows(dash_duo: Any, table_id: str) -> int:
    """Rows drawn in a table's body, the "no rows" line not counted."""
    return dash_duo.driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('#' + arguments[0] + ' tbody tr'),"
        " function (tr) { return !tr.querySelector('td.empty'); }).length;",
        table_id,
    )


#: ``seen(element)``: scroll the page (only the page, only vertically: a trader does not scroll
#: table boxes sideways) to put the element in the middle of the viewport, then say why it is
#: not fully visible ("" when it is).  The sticky status bar can cover it, a table box can clip
#: it (a capped height, a too-wide table), a squeezed column can push it out of the viewport.
SEEN_JS = """
function seen(e) {
  if (!e) { return "missing"; }
  var r = e.getBoundingClientRect();
  window.scrollBy({top: r.top + r.height / 2 - window.innerHeight / 2, left: 0, behavior: "instant"});
  r = e.getBoundingClientRect();
  var w = window.innerWidth, h = window.innerHeight;
  if (r.width < 1 || r.height < 1) { return "not displayed"; }
  if (r.left < -0.5 || r.right > w + 0.5) { return "outside the width: " + r.left + ".." + r.right; }
  if (r.top < -0.5 || r.bottom > h + 0.5) { return "not on the screen: " + r.top + ".." + r.bottom; }
  for (var a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    var cs = getComputedStyle(a);
    if (cs.overflowX !== "visible" || cs.overflowY !== "visible") {
      var ar = a.getBoundingClientRect();
      if (r.left < ar.left - 0.5 || r.right > ar.right + 0.5 ||
          r.top < ar.top - 0.5 || r.bottom > ar.bottom + 0.5) {
        return "clipped by " + (a.id || a.className);
      }
    }
  }
  var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!hit || !(e === hit || e.contains(hit))) {
    return "covered by " + (hit ? (hit.id || hit.className || hit.tagName) : "nothing");
  }
  return "";
}
"""


def not_seen(dash_duo: Any, script: str, *args: Any) -> dict[str, str]:
    """{description: reason} of the elements that ``script`` returns as [[description, element]]
    and that are not fully visible (an empty dict: all are).  One script call: the frames
    redraw tables, an element found in one call may be gone in the next."""
    body = SEEN_JS + "var found = (function () {" + script + "}).apply(null, arguments);\n"
    body += (
        "var bad = {}; found.forEach(function (f) { var why = seen(f[1]); if (why) { bad[f[0]] = why; } });"
    )
    body += "return bad;"
    return dash_duo.driver.execute_script(body, *args)


def scroll_width(dash_duo: Any) -> tuple[int, int]:
    """(document width, viewport width): the page scrolls sideways when the first is larger."""
    return tuple(
        dash_duo.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    )


def too_wide(dash_duo: Any, width: int) -> list[str]:
    """The first elements that reach past ``width`` (for a failure message)."""
    return dash_duo.driver.execute_script(
        "var out = []; document.querySelectorAll('body *').forEach(function (e) {"
        "  var r = e.getBoundingClientRect();"
        "  if (r.width > 0 && r.right > arguments[0] + 0.5 && !e.closest('thead')) {"
        "    out.push(e.tagName + '#' + e.id + '.' + String(e.className).slice(0, 40) + ' ' + r.right); }"
        "}); return out.slice(0, 8);",
        width,
    )


def screenshot(dash_duo: Any, name: str) -> None:
    """docs/screenshots/<name>.png of the top of the page, only when DOCS_SCREENSHOTS is set."""
    if not os.environ.get("DOCS_SCREENSHOTS"):
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.execute_script("window.scrollTo({top: 0, left: 0, behavior: 'instant'});")
    time.sleep(0.3)  # one more frame: the bar's ages move
    dash_duo.driver.save_screenshot(str(SCREENSHOT_DIR / f"{name}.png"))


def tap(dash_duo: Any, element: Any) -> None:
    """A pointer click at the element's centre, scrolled there at once: the page scrolls smoothly
    (Bootstrap), and WebDriver would click where the element was mid-scroll."""
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element
    )
    element.click()


def tap_css(dash_duo: Any, css: str) -> dict[str, int]:
    """:func:`tap` the element ``css`` names, found again if a frame redrew it meanwhile;
    returns its size at the press."""
    for _ in range(5):
        try:
            element = dash_duo.find_element(css)
            size = element.size
            tap(dash_duo, element)
            return size
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css} was redrawn under every press")


def show(dash_duo: Any, label: str) -> None:
    """Show a tab from the top of the page (where its link is)."""
    dash_duo.driver.execute_script("window.scrollTo({top: 0, left: 0, behavior: 'instant'});")
    show_tab(dash_duo, label)
    dash_duo.driver.execute_script("window.scrollTo({top: 0, left: 0, behavior: 'instant'});")
