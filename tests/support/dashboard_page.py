"""Reading and driving the live dashboard in headless Chromium (dash_duo)."""

from __future__ import annotations

from selenium.webdriver.support.wait import WebDriverWait

from tests.support.monitor_process import MonitorProcess


def open_page(dash_duo, monitor: MonitorProcess, bot: str | None = None) -> None:
    """Load the page (server_url waits for the React entry point) and pick a bot."""
    dash_duo.server_url = monitor.url
    # First paint waits for the lazy Plotly bundle (seconds on a cold headless
    # Chromium): that is page start-up, not push latency, so it gets its own budget.
    wait_for(dash_duo, lambda: text_of(dash_duo, "conn-state") not in ("", "CONNECTING"), 10, "first frame")
    if bot is not None:
        select_bot(dash_duo, bot)


def select_bot(dash_duo, bot: str) -> None:
    dash_duo.wait_for_contains_text("#bot-select", "All bots", timeout=5)
    dash_duo.select_dcc_dropdown("#bot-select", value=bot)
    # textContent: on a phone the label is for screen readers only (the selector shows the bot)
    wait_text(dash_duo, "view-label", bot, 5, exact=True)


def show_tab(dash_duo, label: str) -> None:
    dash_duo.find_element(f"//a[normalize-space()='{label}']", attribute="XPATH").click()


def graph_points(dash_duo, graph_id: str) -> list[int]:
    """Points per trace as plotted by Plotly (the DOM graph, not the figure prop)."""
    return dash_duo.driver.execute_script(
        "var g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.map(function (t) { return (t.x || []).length; }) : [];",
        graph_id,
    )


def graph_last_y(dash_duo, graph_id: str, trace: int = 0) -> float | None:
    return dash_duo.driver.execute_script(
        "var g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "if (!g || !g.data || !g.data[arguments[1]]) { return null; }"
        "var y = g.data[arguments[1]].y; return y.length ? y[y.length - 1] : null;",
        graph_id,
        trace,
    )


def wait_for(dash_duo, predicate, timeout: float, what: str) -> None:
    """WebDriverWait on a condition the dash_duo helpers cannot express (chart data)."""
    WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.02).until(lambda _d: predicate(), what)


def text_of(dash_duo, element_id: str) -> str:
    """textContent read in one script call: immune to React replacing the node meanwhile."""
    return dash_duo.driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.textContent : '';", element_id
    )


def wait_text(dash_duo, element_id: str, expected: str, timeout: float, exact: bool = False) -> None:
    """Wait on an element the status bar re-renders every frame (textContent, one JS call)."""

    def ok() -> bool:
        got = text_of(dash_duo, element_id)
        return got == expected if exact else expected in got

    wait_for(dash_duo, ok, timeout, f"#{element_id} {'==' if exact else 'contains'} {expected!r}")


def severe_logs(dash_duo) -> list[dict]:
    return [e for e in dash_duo.get_logs() if e.get("level") == "SEVERE"]
