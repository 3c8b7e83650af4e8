"""The dashboard without a mouse and without eyes on the colours, in headless Chromium.

Keyboard: the Tab key reaches the tabs, the arrow keys (and Home / End, Enter, Space) switch
them, and the focus stays on the tab that was chosen.  Screen reader: a polite live region
says the connection state in words when it changes (LIVE -> STALE -> LIVE), and only then,
not with every frame.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import open_page, text_of, wait_for, wait_text
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STALE_AFTER_S = 3.0

_FOCUS = """
var a = document.activeElement;
return a ? [a.getAttribute('role') || a.tagName, a.textContent] : ['', ''];
"""

#: The shown tab and the element that is actually displayed inside the shown panel.
_SHOWN = """
var tab = document.querySelector('#tabs .nav-link.active');
var pane = document.querySelector('.tab-content > .tab-pane.active');
var probe = {'Trading': 'tb-positions', 'Risk': 'cards-risk', 'Health': 'kv-monitor',
             'Alerts': 'atab-active'};
var shown = Object.keys(probe).filter(function (k) {
  var e = document.getElementById(probe[k]);
  return e && pane && pane.contains(e) && e.getClientRects().length > 0;
});
return [tab ? tab.textContent : '', tab ? tab.getAttribute('aria-selected') : null, shown];
"""


def _focus(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(_FOCUS)


def _press(dash_duo, key: str) -> None:
    ActionChains(dash_duo.driver).send_keys(key).perform()


def _shown(dash_duo, label: str) -> None:
    """Wait until ``label`` is the selected tab, its panel is the one displayed, and it has the focus."""
    wait_for(
        dash_duo,
        lambda: dash_duo.driver.execute_script(_SHOWN) == [label, "true", [label]],
        3,
        f"{label} shown",
    )
    assert _focus(dash_duo) == ["tab", label], "the focus left the tab"


def test_tabs_are_reached_with_the_tab_key_and_switched_with_arrows_enter_and_space(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    monitor = monitor_process().start()
    with BotPublisher("kbd-bot", monitor.zmq) as bot:
        bot.account(10_000.0)
        open_page(dash_duo, monitor)
        dash_duo.driver.execute_script("document.activeElement.blur(); window.focus();")
        for _ in range(12):  # from the top of the page: the bot selector, then the tabs
            _press(dash_duo, Keys.TAB)
            if _focus(dash_duo)[0] == "tab":
                break
        assert _focus(dash_duo) == ["tab", "Trading"], "the Tab key does not reach the tabs"

        _press(dash_duo, Keys.ARROW_RIGHT)
        _shown(dash_duo, "Risk")
        _press(dash_duo, Keys.ARROW_RIGHT)
        _shown(dash_duo, "Health")
        _press(dash_duo, Keys.ARROW_RIGHT)
        _shown(dash_duo, "Alerts")
        _press(dash_duo, Keys.ARROW_RIGHT)  # wraps around
        _shown(dash_duo, "Trading")
        _press(dash_duo, Keys.END)
        _shown(dash_duo, "Alerts")
        _press(dash_duo, Keys.HOME)
        _shown(dash_duo, "Trading")
        _press(dash_duo, Keys.ARROW_LEFT)
        _shown(dash_duo, "Alerts")

        # Enter and Space show the focused tab (focus moved there by script, as a screen reader can)
        dash_duo.driver.execute_script(
            "Array.prototype.find.call(document.querySelectorAll('#tabs [role=tab]'),"
            " function (a) { return a.textContent === 'Risk'; }).focus();"
        )
        _press(dash_duo, Keys.ENTER)
        _shown(dash_duo, "Risk")
        dash_duo.driver.execute_script(
            "Array.prototype.find.call(document.querySelectorAll('#tabs [role=tab]'),"
            " function (a) { return a.textContent === 'Health'; }).focus();"
        )
        _press(dash_duo, Keys.SPACE)
        _shown(dash_duo, "Health")
        # one stop of the Tab key for the whole tab list: only the shown tab is in the tab order
        stops = dash_duo.driver.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll('#tabs [role=tab]'),"
            " function (a) { return [a.textContent, a.tabIndex]; });"
        )
        assert stops == [["Trading", -1], ["Risk", -1], ["Health", 0], ["Alerts", -1]]


def test_the_connection_state_is_announced_when_it_changes_and_only_then(
    dash_duo, monitor_process: Callable[..., MonitorProcess]
) -> None:
    monitor = monitor_process(stale_after_s=STALE_AFTER_S).start()
    with BotPublisher("sr-bot", monitor.zmq) as bot:
        bot.account(10_000.0)
        open_page(dash_duo, monitor)
        region = dash_duo.find_element("#conn-live")
        assert (region.get_attribute("role"), region.get_attribute("aria-live")) == ("status", "polite")
        wait_text(dash_duo, "conn-live", "LIVE", 5)
        # count every change of the region from now on
        dash_duo.driver.execute_script(
            "window.__said = [];"
            "new MutationObserver(function () { window.__said.push(document.getElementById('conn-live')"
            ".textContent); }).observe(document.getElementById('conn-live'),"
            " {childList: true, characterData: true, subtree: true});"
        )
        frames = dash_duo.driver.execute_script("return window.__monitor.frames;")
        for i in range(5):  # frames keep coming while the bot stays live: nothing to announce
            bot.account(10_000.0 + i)
            dash_duo.wait_for_contains_text("#status-body", f"10,00{i}.00", timeout=2)
        assert dash_duo.driver.execute_script("return window.__monitor.frames;") >= frames + 5
        assert dash_duo.driver.execute_script("return window.__said;") == []

        wait_text(dash_duo, "conn-live", "STALE", STALE_AFTER_S + 5)  # the bot fell silent
        assert "sr-bot" in text_of(dash_duo, "conn-live")
        wait_for(dash_duo, lambda: text_of(dash_duo, "conn-state") == "STALE", 2, "the bar says STALE")
        said = dash_duo.driver.execute_script("return window.__said;")
        assert len(said) == 1 and "STALE" in said[0], said

        bot.heartbeat()
        wait_text(dash_duo, "conn-live", "LIVE", 3)
        said = dash_duo.driver.execute_script("return window.__said;")
        assert len(said) == 2 and "LIVE" in said[1], said
