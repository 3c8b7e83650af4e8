"""Step definitions of tests/bdd/features/dashboard.feature (pytest-bdd, headless Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from pytest_bdd import given, scenarios, then, when

from collectors.publisher import BotPublisher
from tests.support.dashboard_page import (
    graph_last_y,
    graph_points,
    open_page,
    select_bot,
    show_tab,
    wait_for,
    wait_text,
)
from tests.support.monitor_process import MonitorProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]
scenarios("dashboard.feature")

STALE_AFTER_S = 3.0
_bots = count()


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitorProcess]:
    mon = MonitorProcess(tmp_path_factory.mktemp("dash-bdd"), stale_after_s=STALE_AFTER_S).start()
    yield mon
    mon.stop()


class Trading:
    """A bot publishing over ZeroMQ and a page showing it."""

    def __init__(self, pub: BotPublisher, bot: str) -> None:
        self.pub, self.bot = pub, bot
        self.points_before: list[int] = []
        self.equities = [10_000.0, 10_050.0, 10_020.0, 10_110.5]


@pytest.fixture
def trading(dash_duo, monitor: MonitorProcess) -> Iterator[Trading]:
    bot = f"bdd-bot-{next(_bots)}"
    open_page(dash_duo, monitor)
    with BotPublisher(bot, monitor.zmq) as pub:
        yield Trading(pub, bot)


@given("trading has begun")
def trading_has_begun(dash_duo, trading: Trading) -> None:
    trading.pub.account(9_990.0)
    trading.pub.fill("f1", "o1", "BTC-USD", "buy", 0.1, 64_000.0, fee=0.5)
    select_bot(dash_duo, trading.bot)
    trading.pub.heartbeat()
    wait_text(dash_duo, "conn-state", "LIVE", 1, exact=True)
    show_tab(dash_duo, "Risk")
    wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-equity") == 9_990.0, 1, "initial equity point")
    trading.points_before = graph_points(dash_duo, "ch-equity")


@when("metrics arrive")
def metrics_arrive(trading: Trading) -> None:
    for equity in trading.equities:
        trading.pub.account(equity)


@then("the equity curve line chart updates accordingly")
def equity_curve_updates(dash_duo, trading: Trading) -> None:
    wait_for(dash_duo, lambda: graph_last_y(dash_duo, "ch-equity") == trading.equities[-1], 1, "last equity")
    ys = dash_duo.driver.execute_script(
        "return document.querySelector('#ch-equity .js-plotly-plot').data[0].y;"
    )
    assert ys[-len(trading.equities) :] == trading.equities
    assert graph_points(dash_duo, "ch-equity")[0] == trading.points_before[0] + len(trading.equities)
    dash_duo.wait_for_contains_text("#cards-risk", "10,110.50", timeout=1)


@when("the bot stays silent for longer than the stale threshold")
def bot_goes_quiet() -> None:
    """Nothing to do: silence is the action; the next step waits for its effect."""


@then("the status bar warns that the data is stale and shows its age")
def stale_warning(dash_duo, trading: Trading) -> None:
    wait_text(dash_duo, "conn-state", "STALE", STALE_AFTER_S + 3, exact=True)
    dash_duo.wait_for_class_to_equal("#status-bar", "status-bar warn warn-stale", timeout=1)
    wait_text(dash_duo, "conn-text", f"{trading.bot} (last event", 1)
    dash_duo.wait_for_contains_text("#stat-0 .stat-age", "s old", timeout=1)


@when("the bot sends an event")
def bot_sends(trading: Trading) -> None:
    trading.pub.heartbeat()


@then("the status bar shows the bot live again")
def live_again(dash_duo) -> None:
    wait_text(dash_duo, "conn-state", "LIVE", 1, exact=True)
    dash_duo.wait_for_class_to_equal("#status-bar", "status-bar", timeout=1)
