"""One presenter of figures: the page and the alert texts word each figure the same way.

A drawdown that reads ``12.40%`` on the page and ``12.4 %`` in the alert about it makes a
trader wonder which is right; here every unit an alert can show is compared with the
page's formatter of the same figure.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from alerts import messages
from app.dashboard import fmt
from core import present

FRACTIONS = [0.0, 0.1, 0.124, 0.1234, 0.5, 1.0, -0.0001]
SECONDS = [0.0, 0.4, 9.95, 12.7, 60.0, 81.0, 300.0, 3600.0, 7380.0, 90000.0]


@pytest.mark.parametrize("x", FRACTIONS)
def test_a_drawdown_reads_the_same_on_the_page_and_in_an_alert(x: float) -> None:
    assert messages.shown(x, "pct") == fmt.drawdown(x) == fmt.pct(x)


@pytest.mark.parametrize("s", SECONDS)
def test_a_duration_reads_the_same_on_the_page_and_in_an_alert(s: float) -> None:
    assert messages.duration(s) == fmt.age(s) == present.duration(s)
    assert messages.shown(s, "s") == fmt.age(s)


@pytest.mark.parametrize("x", [0.4, 12.34, 99.96, 812.4, 12_345.0])
def test_a_latency_reads_the_same_on_the_page_and_in_an_alert(x: float) -> None:
    assert messages.shown(x, "ms") == fmt.ms(x)


@pytest.mark.parametrize("x", [-612.4, 0.0, 1_234_567.891])
def test_money_reads_the_same_with_its_currency(x: float) -> None:
    assert messages.shown(x, "money", "USD") == f"{fmt.money(x)} USD" == present.amount(x, "USD")
    assert messages.shown(x, "money") == fmt.money(x)


def test_a_time_in_a_message_is_written_as_the_page_writes_a_time_not_of_today() -> None:
    ts = 1_700_000_095.0  # 14 Nov 2023 22:14:55 UTC
    assert messages.utc(ts) == present.when(ts, UTC) == "14 Nov 2023 22:14:55 UTC"
    assert present.when(ts, ZoneInfo("UTC"), now=ts + 60) == "22:14:55 UTC"  # today: the time alone
    assert present.when(ts, ZoneInfo("Europe/Berlin"), now=ts) == "23:14:55 CET"


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), 1e31, "12", True])
def test_every_presenter_function_is_total(bad: object) -> None:
    for unit in ("pct", "ms", "money", "count", "s", "x", "num", ""):
        assert present.value(bad, unit, "USD") == present.NA  # type: ignore[arg-type]


def test_a_notification_carrying_the_monitors_zone_writes_its_times_in_it() -> None:
    since = 1_700_000_095.0  # 14 Nov 2023 22:14:55 UTC
    p = {"kind": "firing", "rule": "stale", "fired_at": since, "now": since + 60, "alert_id": 1}
    assert "firing since 14 Nov 2023 22:14:55 UTC (for 1 min 00 s)" in messages.detail_lines(p)
    berlin = messages.detail_lines(p | {"timezone": "Europe/Berlin"})
    assert "firing since 14 Nov 2023 23:14:55 CET (for 1 min 00 s)" in berlin
    assert messages.detail_lines(p | {"timezone": "../../etc/passwd"}) == messages.detail_lines(p)
