"""No value can break the page: total formatters, sections built one by one, keep-alive frames.

A single event with an absurd ``ts`` once made a formatter raise on every tick,
which froze every page while it still said LIVE.  Now every formatter answers
``n/a`` to anything it cannot show, a section that fails to build becomes an
error marker while the others keep updating, and a quiet server still sends a
frame per ``refresh_s`` so the page's watchdog can tell it from a dead one.
"""

from __future__ import annotations

import json
import math
import time
from zoneinfo import ZoneInfo

import pytest

import app.dashboard.sections as view_module
from app.dashboard import fmt
from app.dashboard.broadcaster import ViewStream
from app.dashboard.config import DashboardSettings
from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput
from app.hub import Hub
from collectors.events import Account, Error, Fill, Latency, Mark, Order
from core.config import CoreConfig
from core.store import StateStore

UTC = ZoneInfo("UTC")


def when(ts: object) -> str:
    return fmt.when(ts, UTC, 1.7e9)  # type: ignore[arg-type]


FORMATTERS = [
    fmt.money, fmt.signed, fmt.pct, fmt.ratio, fmt.integer, fmt.qty, fmt.price,
    fmt.ms, fmt.age, fmt.nbytes, when, fmt.rate,
]  # fmt: skip


class Weird:
    """A value whose every conversion raises."""

    def __format__(self, spec: str) -> str:
        raise RuntimeError("no")

    def __float__(self) -> float:
        raise RuntimeError("no")


HOSTILE = [
    None,
    math.nan,
    math.inf,
    -math.inf,
    -1e300,
    1e300,
    1e31,
    10**400,
    "12",
    b"1",
    [],
    {},
    True,
    Weird(),
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("formatter", FORMATTERS, ids=lambda f: f.__name__)
def test_every_formatter_answers_n_a_to_what_it_cannot_show(formatter, value: object) -> None:
    assert formatter(value) == fmt.NA


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_tone_is_neutral_for_what_it_cannot_judge(value: object) -> None:
    assert fmt.tone(value) == "neutral"


@pytest.mark.parametrize("ts", [-1e300, -1.0, 1e12, 1.7e12])
def test_a_time_of_day_outside_any_plausible_range_is_n_a(ts: float) -> None:
    assert fmt.when(ts, UTC, 1.7e9) == fmt.NA


def test_the_formatters_still_format_ordinary_values() -> None:
    assert (fmt.money(12345.678), fmt.signed(-12.0), fmt.when(1_700_000_000.25, UTC, 1.7e9)) == (
        "12,345.68",
        "-12.00",
        "22:13:20 UTC",
    )
    assert (fmt.age(3725), fmt.ms(12.34), fmt.price(0.000123)) == ("1 h 02 min", "12.3 ms", "0.00012300")


def _hub(*events) -> Hub:
    hub = Hub(StateStore(CoreConfig(stale_after_s=5.0), clock=time.time))
    for event in events:
        hub.apply(event)
    return hub


def _input(hub: Hub, view: str = ALL) -> ViewInput:
    metrics = hub.metrics()
    return ViewInput(
        view=view,
        metrics=metrics,
        states={b: s for b in metrics.bots if (s := hub.state(b)) is not None},
        now=hub.clock(),
        stale_after_s=5.0,
        listen_info={"zmq": ["bind tcp://127.0.0.1:5556"], "http": "http://127.0.0.1:8050"},
    )


def test_events_with_absurd_values_that_bypassed_the_contract_build_every_section() -> None:
    """Structs built directly skip the decoder's bounds: the page must still show them as n/a."""
    env = {"v": 1, "bot": "x"}
    hub = _hub(
        Account(**env, seq=0, ts=-1e300, equity=1e300),
        Fill(
            **env,
            seq=1,
            ts=1e300,
            fill_id="f",
            order_id="o",
            symbol="S",
            side="buy",
            qty=1e300,
            price=1e300,
            fee=1e300,
        ),
        Mark(**env, seq=2, ts=math.nan, prices={"S": math.inf}),
        Order(
            **env,
            seq=3,
            ts=-1e300,
            order_id="o",
            symbol="S",
            side="buy",
            type="limit",
            qty=1e300,
            price=1e300,
            status="new",
            filled_qty=0.0,
        ),
        Latency(**env, seq=4, ts=1e300, op="submit", ms=1e300),
        Error(**env, seq=5, ts=-1e300, component="c", message="m", severity="critical"),
    )
    failed: list[str] = []
    sections = build_sections(_input(hub), Rates(), lambda key, exc: failed.append(key))
    assert failed == [], failed
    assert not [k for k, v in sections.items() if isinstance(v, dict) and "error" in v]
    assert "n/a" in json.dumps(sections)


def test_a_failing_section_becomes_an_error_marker_and_the_others_are_built(monkeypatch) -> None:
    def broken(*args: object) -> dict:
        raise KeyError("boom")

    monkeypatch.setattr(view_module, "positions_table", broken)
    hub = _hub(Account(v=1, bot="b1", seq=0, ts=time.time(), equity=10_000.0))
    failed: list[tuple[str, type]] = []
    sections = build_sections(_input(hub), Rates(), lambda key, exc: failed.append((key, type(exc))))
    assert failed == [("tb-positions", KeyError)]
    assert sections["tb-positions"] == {
        "error": "this section could not be built (KeyError); see the monitor's log"
    }
    assert sections["status"]["conn"] == "live" and sections["bots"] == ["b1"]
    assert sections["tb-fills"]["rows"] == [] and sections["kv-today"]
    assert sections.keys() == build_sections(_input(hub), Rates()).keys()  # every section, the failed one too


def test_the_error_marker_goes_out_in_a_frame_and_the_section_comes_back_when_it_builds(monkeypatch) -> None:
    hub = _hub(Account(v=1, bot="b1", seq=0, ts=time.time(), equity=10_000.0))
    stream = ViewStream(ALL, DashboardSettings())
    original = view_module.status_section
    monkeypatch.setattr(view_module, "status_section", lambda *a: 1 / 0)
    delta, _ = stream.tick(_input(hub))
    frame = json.loads(delta)
    assert "ZeroDivisionError" in frame["s"]["status"]["error"] and "tb-positions" in frame["s"]
    monkeypatch.setattr(view_module, "status_section", original)
    delta, _ = stream.tick(_input(hub))
    assert json.loads(delta)["s"]["status"]["conn"] == "live"


def test_a_quiet_view_still_sends_a_frame_every_half_refresh(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("app.dashboard.broadcaster.time.monotonic", lambda: now[0])
    hub = _hub()
    settings = DashboardSettings(refresh_s=1.0)
    stream = ViewStream(ALL, settings)
    inp = _input(hub)
    first, _ = stream.tick(inp)
    assert first is not None
    now[0] += 0.1
    assert stream.tick(inp)[0] is None  # nothing changed, a frame went out just now
    now[0] += 0.4
    keepalive = json.loads(stream.tick(inp)[0])
    assert keepalive["s"] == {} and keepalive["base"] == json.loads(first)["seq"]
    now[0] += 0.1
    assert stream.tick(inp)[0] is None
