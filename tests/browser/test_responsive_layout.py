"""What a trader sees on a phone (390x844) and a laptop (1440x900), in headless Chromium.

A real monitor process, three bots over real ZeroMQ, five open positions and three active
alerts, one of them critical (tests/support/trading_scene.py).  Every figure the trader
must not miss is checked the way an eye would: scrolled into view, inside the screen's
width, not clipped by a table box and not covered by the sticky status bar; the page never
scrolls sideways.  ``DOCS_SCREENSHOTS=1`` also writes the README's screenshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dashboard_page import wait_for
from tests.support.trading_scene import (
    ALERTS,
    FILLS,
    LAPTOP,
    PHONE,
    POSITIONS,
    TRIPS,
    TradingScene,
    not_seen,
    open_scene,
    screenshot,
    scroll_width,
    show,
    tap,
    tap_css,
    too_wide,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"phone": PHONE, "laptop": LAPTOP}

#: [[label, text], ...] of every drawn row of a table (labels from the column headers).
_ROWS = """
var heads = Array.prototype.map.call(document.querySelectorAll('#' + arguments[0] + ' thead th'),
                                     function (th) { return th.textContent; });
return Array.prototype.map.call(document.querySelectorAll('#' + arguments[0] + ' tbody tr'), function (tr) {
  return Array.prototype.map.call(tr.children, function (td, i) { return [heads[i] || '', td.textContent]; });
});
"""

#: [[what, element], ...]: the cells of the columns whose header starts with one of arguments[1]
_CELLS = """
var prefixes = arguments[1], out = [];
var heads = Array.prototype.map.call(document.querySelectorAll('#' + arguments[0] + ' thead th'),
                                     function (th) { return th.textContent; });
document.querySelectorAll('#' + arguments[0] + ' tbody tr').forEach(function (tr, r) {
  Array.prototype.forEach.call(tr.children, function (td, i) {
    var head = heads[i] || '';
    if (prefixes.some(function (p) { return head.indexOf(p) === 0; })) {
      out.push(['row ' + r + ' ' + head + ': ' + td.textContent, td]);
    }
  });
});
return out;
"""

_STATUS = """
var daily = Array.prototype.find.call(document.querySelectorAll('#status-body .stat'), function (s) {
  return /daily p&l/i.test(s.querySelector('.stat-label').textContent);
});
var alerts = Array.prototype.find.call(document.querySelectorAll('#status-body .stat'), function (s) {
  return /^alerts/i.test(s.querySelector('.stat-label').textContent);
});
var byId = function (id) { return document.getElementById(id); };
return [['status bar', byId('status-bar')], ['state', byId('conn-state')],
        ['bot selector', byId('bot-select')], ['daily P&L', daily], ['alerts', alerts]];
"""


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[TradingScene]:
    s = TradingScene(tmp_path).start()
    yield s
    s.stop()


def _rows(dash_duo, table_id: str) -> list[dict[str, str]]:
    return [dict(row) for row in dash_duo.driver.execute_script(_ROWS, table_id)]


def _cells(dash_duo, table_id: str, *prefixes: str) -> dict[str, str]:
    """{cell: why it is not seen} for the cells of the columns named by ``prefixes``."""
    return not_seen(dash_duo, _CELLS, table_id, list(prefixes))


def _frames(dash_duo) -> int:
    return dash_duo.driver.execute_script("return window.__monitor.frames;")


def _column(row: dict[str, str], prefix: str) -> str:
    return next(text for label, text in row.items() if label.startswith(prefix))


def _no_sideways_scroll(dash_duo, width: int) -> None:
    doc, inner = scroll_width(dash_duo)
    # a phone zooms out to show content wider than the screen: the viewport then grows past it
    assert inner == width, (
        f"the page is wider than the screen: the phone shows {inner} px in {width}",
        too_wide(dash_duo, width),
    )
    assert doc <= width, (
        f"the page scrolls sideways: {doc} px on a {width} px screen",
        too_wide(dash_duo, width),
    )


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_positions_alerts_and_daily_pnl_fit_the_screen_and_the_critical_alert_comes_first(
    dash_duo, scene: TradingScene, device: str
) -> None:
    width, _height = SIZES[device]
    open_scene(dash_duo, scene, SIZES[device])
    _no_sideways_scroll(dash_duo, width)

    # the status bar: connection state in words, the bot selector, the daily P&L, the firing count
    assert not_seen(dash_duo, _STATUS) == {}
    assert (
        dash_duo.driver.execute_script("return document.getElementById('conn-state').textContent") == "LIVE"
    )
    if device == "phone":
        bar = dash_duo.driver.execute_script("return document.getElementById('status-bar').offsetHeight;")
        assert bar <= 100, f"the status bar takes {bar} px of an 844 px screen"

    # every open position: symbol, side, qty and unrealized P&L, each visible
    rows = _rows(dash_duo, "tb-positions")
    assert len(rows) == len(POSITIONS)
    for p in POSITIONS:
        row = next(r for r in rows if _column(r, "Bot") == p.bot and _column(r, "Symbol") == p.symbol)
        assert (_column(row, "Side"), _column(row, "Qty")) == (p.side, p.qty)
        assert _column(row, "Unrealized P&L").startswith(p.unrealized)
    assert _cells(dash_duo, "tb-positions", "Symbol", "Side", "Qty", "Unrealized P&L") == {}
    # the round trips show every column, P&L and result included (no clipping table box)
    assert len(_rows(dash_duo, "tb-trips")) == len(TRIPS)
    assert _cells(dash_duo, "tb-trips", "") == {}
    _no_sideways_scroll(dash_duo, width)
    screenshot(dash_duo, f"{device}-trading")
    # the other tabs fit too (the charts, first drawn on a hidden tab, included)
    for tab, probe in (
        ("Risk", "#cards-risk div"),
        ("Risk", "#ch-equity .main-svg"),
        ("Health", "#kv-monitor div"),
    ):
        show(dash_duo, tab)
        dash_duo.wait_for_element(probe, timeout=5)
        _no_sideways_scroll(dash_duo, width)

    show(dash_duo, "Alerts")
    rows = _rows(dash_duo, "atab-active")
    assert len(rows) == len(ALERTS)
    assert _column(rows[0], "Severity") == "CRITICAL", "the critical alert is not the first active alert"
    assert sorted((_column(r, "Bot"), _column(r, "Severity")) for r in rows) == sorted(
        (a.bot, a.severity) for a in ALERTS
    )
    for row in rows:  # the fact, in words
        assert _column(row, "What").strip()
    # severity, bot, what crossed what, and the Acknowledge button of every alert are seen
    assert _cells(dash_duo, "atab-active", "Severity", "Bot", "What") == {}
    buttons = not_seen(
        dash_duo,
        "return Array.prototype.map.call(document.querySelectorAll('#atab-active tbody button'),"
        " function (b, i) { return ['button ' + i, b]; });",
    )
    assert buttons == {}
    _no_sideways_scroll(dash_duo, width)
    screenshot(dash_duo, f"{device}-alerts")

    # the critical alert's Acknowledge, pressed as a finger would: a pointer click at its centre
    row_id = dash_duo.driver.execute_script("return document.querySelector('#atab-active tbody tr').id;")
    size = tap_css(dash_duo, f"#{row_id} button")
    if device == "phone":
        assert size["width"] >= 44 and size["height"] >= 44, f"Acknowledge is {size} on a phone"
    wait_for(
        dash_duo,
        lambda: (
            "acknowledged"
            in dash_duo.driver.execute_script(
                "var r = document.getElementById(arguments[0]); return r ? r.textContent : '';", row_id
            )
        ),
        10,
        "the critical alert shows acknowledged",
    )


#: What the phone's bar shows, read in one call (the bar is redrawn with every frame).
_BAR = """
var shown = function (e) { return !!e && e.getClientRects().length > 0; };
var stats = document.querySelectorAll('#status-body .stat:not(.stat-key)');
var details = Array.prototype.filter.call(stats, shown);
return {text: shown(document.getElementById('conn-text')),
        details: details.map(function (s) { return s.querySelector('.stat-label').textContent; }),
        expanded: document.getElementById('status-toggle').getAttribute('aria-expanded')};
"""


def _bar(dash_duo) -> dict:
    return dash_duo.driver.execute_script(_BAR)


def test_phone_status_bar_is_compact_and_shows_the_rest_on_demand(dash_duo, scene: TradingScene) -> None:
    open_scene(dash_duo, scene, PHONE)
    toggle = dash_duo.find_element("#status-toggle")  # made once: it keeps its focus across frames
    assert toggle.size["height"] >= 44 and toggle.size["width"] >= 44
    assert _bar(dash_duo) == {"text": False, "details": [], "expanded": "false"}

    tap(dash_duo, toggle)
    wait_for(dash_duo, lambda: _bar(dash_duo)["expanded"] == "true", 2, "the bar opens")
    bar = _bar(dash_duo)
    assert bar["text"] and any("equity" in label.lower() for label in bar["details"]), bar
    frames = _frames(dash_duo)
    scene.bots["alpha-bot"].heartbeat()
    wait_for(dash_duo, lambda: _frames(dash_duo) > frames, 5, "a frame")
    assert _bar(dash_duo) == bar  # the next frames keep it open
    _no_sideways_scroll(dash_duo, PHONE[0])

    tap(dash_duo, toggle)
    wait_for(
        dash_duo, lambda: _bar(dash_duo) == {"text": False, "details": [], "expanded": "false"}, 2, "folded"
    )


def _more(dash_duo) -> list[str]:
    """[text, aria-expanded] of the fills table's button, read in one call."""
    return dash_duo.driver.execute_script(
        "var b = document.querySelector('#tb-fills .table-more');"
        "return b ? [b.textContent, b.getAttribute('aria-expanded')] : [];"
    )


def test_long_tables_say_how_many_rows_more_and_keep_them_shown(dash_duo, scene: TradingScene) -> None:
    open_scene(dash_duo, scene, PHONE)
    wait_for(dash_duo, lambda: len(_rows(dash_duo, "tb-fills")) == 5, 5, "the first 5 fills")
    assert _more(dash_duo) == [f"Show {FILLS - 5} more", "false"]
    assert not_seen(dash_duo, "return [['more', document.querySelector('#tb-fills .table-more')]];") == {}
    tap_css(dash_duo, "#tb-fills .table-more")
    wait_for(dash_duo, lambda: len(_rows(dash_duo, "tb-fills")) == FILLS, 2, "every fill")
    assert _more(dash_duo) == ["Show fewer", "true"]

    scene.bots["alpha-bot"].fill("f-new", "o-new", "BTC-USD", "buy", 0.1, 61_000.0)
    wait_for(dash_duo, lambda: len(_rows(dash_duo, "tb-fills")) == FILLS + 1, 5, "the new fill, expanded")

    tap_css(dash_duo, "#tb-fills .table-more")
    wait_for(dash_duo, lambda: len(_rows(dash_duo, "tb-fills")) == 5, 2, "folded again")
    assert _more(dash_duo) == [f"Show {FILLS + 1 - 5} more", "false"]
