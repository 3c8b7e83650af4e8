"""Dashboard logic without a browser: formatting, sections, chart deltas, slots, frames."""

from __future__ import annotations

import json
import math
import time

import msgspec
import pytest

from alerts.read_model import AlertStatus, ChannelStatus
from app.dashboard import fmt
from app.dashboard.broadcaster import Broadcaster, ClientSlot
from app.dashboard.charts import LatencyTracker, LineTracker, base_layout
from app.dashboard.config import DashboardSettings
from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput
from app.hub import Hub
from collectors.events import Account, Fill, Health, Mark
from core.config import CoreConfig
from core.store import StateStore

XSS = "<img src=x onerror=alert(1)>"


# ---- formatting ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        (fmt.money, 1234567.891, "1,234,567.89"),
        (fmt.money, None, "n/a"),
        (fmt.money, math.nan, "n/a"),
        (fmt.money, math.inf, "n/a"),
        (fmt.signed, 1234.5, "+1,234.50"),
        (fmt.signed, -12.0, "-12.00"),
        (fmt.signed, -0.001, "0.00"),
        (fmt.signed, None, "n/a"),
        (fmt.pct, 0.0123, "1.23%"),
        (fmt.pct, None, "n/a"),
        (fmt.qty, 0.00012, "0.00012"),
        (fmt.qty, 1500.0, "1,500"),
        (fmt.qty, -2.5, "-2.5"),
        (fmt.price, 64123.456, "64,123.46"),
        (fmt.price, 0.123456, "0.123456"),
        (fmt.age, 0.44, "0.4 s"),
        (fmt.age, 125, "2 min 05 s"),
        (fmt.age, 7380, "2 h 03 min"),
        (fmt.nbytes, 150 * 1024 * 1024, "150.0 MB"),
        (fmt.integer, 1234567, "1,234,567"),
        (fmt.ratio, math.nan, "n/a"),
    ],
)
def test_numbers_are_formatted_as_a_trader_reads_them(fn, value, text) -> None:
    assert fn(value) == text


def test_signed_percent_and_tone() -> None:
    assert fmt.pct(0.05, sign=True) == "+5.00%"
    tones = (fmt.tone(1.0), fmt.tone(-1.0), fmt.tone(0.0), fmt.tone(None))
    assert tones == ("pos", "neg", "neutral", "neutral")


# ---- settings --------------------------------------------------------------------
def test_push_interval_is_validated_to_50_100_ms() -> None:
    assert msgspec.convert({"push_interval_ms": 50}, DashboardSettings).push_interval_ms == 50
    for bad in (49, 101):
        with pytest.raises(msgspec.ValidationError, match="push_interval_ms"):
            msgspec.convert({"push_interval_ms": bad}, DashboardSettings)
    with pytest.raises(msgspec.ValidationError, match="unknown"):
        msgspec.convert({"push_interval": 60}, DashboardSettings)


# ---- sections ----------------------------------------------------------------------
def hub_with(*events, clock=None) -> Hub:
    hub = Hub(StateStore(CoreConfig(stale_after_s=5.0), clock=clock or time.time))
    for ev in events:
        hub.apply(ev)
    return hub


def ev(cls, bot="b1", seq=0, ts=None, **kw):
    return cls(v=1, bot=bot, seq=seq, ts=ts if ts is not None else time.time(), **kw)


def sections_for(hub: Hub, view: str = "b1", **kw) -> dict:
    metrics = hub.metrics()
    states = {b: hub.state(b) for b in (metrics.bots if view == ALL else [view]) if hub.state(b)}
    inp = ViewInput(
        view=view,
        metrics=metrics,
        states=states,
        now=hub.clock(),
        stale_after_s=5.0,
        listen_info={"zmq": ["bind tcp://127.0.0.1:5556"], "http": "http://127.0.0.1:8050"},
        **kw,
    )
    return build_sections(inp, Rates())


def test_sections_keep_bot_strings_as_plain_strings() -> None:
    hub = hub_with(
        ev(Fill, fill_id="f", order_id="o", symbol=XSS, side="buy", qty=1.0, price=10.0, fee=0.0),
        ev(Mark, seq=1, prices={XSS: 11.0}),
    )
    s = sections_for(hub)
    row = s["tb-positions"]["rows"][0]
    assert row[0] == XSS and row[1] == ["long", "pos"]
    assert row[5] == ["+1.00", "pos"] and row[6] == ["+10.00%", "pos"]
    assert s["tb-fills"]["rows"][0][1] == XSS


def test_status_bar_live_then_stale_with_age() -> None:
    now = [1000.0]
    hub = hub_with(clock=lambda: now[0])
    hub.apply(ev(Account, ts=1000.0, equity=10500.0))
    hub.apply(ev(Health, seq=1, ts=1000.0, kill_switch="triggered", circuit_breaker="closed"))
    live = sections_for(hub)["status"]
    assert live["conn"] == "live" and not live["warn"]
    assert ["Equity", "10,500.00", "neutral", ""] in live["items"]
    assert ["Kill switch", "triggered", "neg", ""] in live["items"]
    now[0] = 1012.0
    stale = sections_for(hub)["status"]
    assert stale["conn"] == "stale" and stale["warn"]
    assert "b1 (last event 12 s ago)" in stale["text"]
    assert all(item[3] == "12 s old" for item in stale["items"])


def test_waiting_status_says_where_the_monitor_listens() -> None:
    status = sections_for(hub_with(), view=ALL)["status"]
    assert status["conn"] == "waiting"
    assert "bind tcp://127.0.0.1:5556" in status["text"] and "http://127.0.0.1:8050" in status["text"]


def test_alerts_shown_only_when_the_engine_exists() -> None:
    hub = hub_with(ev(Account, equity=1.0))
    assert sections_for(hub)["kv-alerts"] == [["Alerting", "not configured", "muted"]]
    assert not any(i[0] == "Alerts" for i in sections_for(hub)["status"]["items"])
    alerts = AlertStatus(
        firing=2, channels={"slack": ChannelStatus(ok=False, last_error="HTTP 500", pending=3)}
    )
    s = sections_for(hub, alerts=alerts)
    assert ["Alerts", "2 firing", "neg", ""] in s["status"]["items"]
    assert any("HTTP 500" in row[1] for row in s["kv-alerts"])
    assert not s["status"]["warn"]


def test_failing_alert_delivery_turns_the_bar_into_a_red_banner() -> None:
    hub = hub_with(ev(Account, equity=1.0))
    alerts = AlertStatus(firing=1, delivery_failing=True)
    status = sections_for(hub, alerts=alerts)["status"]
    assert status["warn"] and status["conn"] == "live"
    assert status["text"].startswith("ALERT DELIVERY FAILING")
    assert ["Alerts", "1 firing · delivery failing", "neg", ""] in status["items"]


def test_risk_cards_cover_every_metric_and_never_say_nan() -> None:
    cards = sections_for(hub_with(ev(Account, equity=10000.0)))["cards-risk"]
    labels = [c[0] for c in cards]
    for needed in (
        "Equity",
        "Daily P&L",
        "Realized P&L",
        "Unrealized P&L",
        "Fees",
        "Drawdown",
        "Max drawdown",
        "Exposure gross",
        "Exposure net",
        "Leverage",
        "Sharpe",
        "Win rate",
        "Profit factor",
        "Expectancy",
        "Closed trades",
    ):
        assert needed in labels
    assert "NaN" not in json.dumps(cards) and "nan" not in json.dumps(cards)
    assert dict((c[0], c[1]) for c in cards)["Win rate"] == "n/a"


# ---- charts ------------------------------------------------------------------------
def test_line_tracker_sends_figure_then_only_new_points() -> None:
    t = LineTracker(base_layout("Equity", "equity"), max_points=3)
    first = t.delta({"b1": [[1.0, 10.0], [2.0, 11.0]]})
    assert first["fig"]["data"][0]["y"] == [10.0, 11.0]
    assert t.delta({"b1": [[1.0, 10.0], [2.0, 11.0]]}) is None
    ext = t.delta({"b1": [[1.0, 10.0], [2.0, 11.0], [3.0, 12.0], [4.0, 13.0]]})["ext"]
    assert ext == [{"x": [[3000.0, 4000.0]], "y": [[12.0, 13.0]]}, [0], 3]
    assert "fig" in t.delta({"b1": [[4.0, 13.0]], "b2": [[4.0, 1.0]]})  # a new bot: new figure
    assert t.figure({"b1": [[float(i), 1.0] for i in range(10)]})["data"][0]["x"] == [7000.0, 8000.0, 9000.0]


def test_latency_tracker_aggregates_avg_and_max() -> None:
    t = LatencyTracker(base_layout("Latency", "ms"), max_points=100)
    assert "fig" in t.delta([[1.2, 4.0], [1.5, 8.0]])
    ext = t.delta([[1.2, 4.0], [1.5, 8.0], [2.1, 10.0], [2.2, 30.0]])["ext"]
    assert ext[0]["y"] == [[20.0], [30.0]] and ext[1] == [0, 1]
    fig = t.figure([[1.2, 4.0], [1.5, 8.0], [2.1, 10.0]])
    assert fig["data"][0]["y"] == [6.0, 10.0] and fig["data"][1]["y"] == [8.0, 10.0]


# ---- slots and frames ------------------------------------------------------------------
def test_slow_client_slot_is_bounded_and_newest_full_snapshot_wins() -> None:
    slot = ClientSlot(ALL, maxlen=2)
    slot.offer("d0", lambda: "FULL0")
    assert slot.take(0) == "FULL0"  # first frame after connect is a full snapshot
    slot.offer("d1", lambda: "FULL1")
    slot.offer("d2", lambda: "FULL2")
    slot.offer("d3", lambda: "FULL3")  # queue full: d1, d2 dropped, replaced by a snapshot
    assert [slot.take(0), slot.take(0)] == ["FULL3", None]
    assert slot.dropped == 2
    slot.request_full()
    slot.offer(None, lambda: "FULL4")  # even without a change, a requested snapshot is sent
    assert slot.take(0) == "FULL4"


def test_broadcaster_sends_full_snapshot_then_only_changed_sections() -> None:
    hub = hub_with(ev(Account, equity=10000.0))
    b = Broadcaster(hub, DashboardSettings(), listen_info={})
    slot = b.connect("b1")
    b.tick()
    full = json.loads(slot.take(0))
    assert full["full"] and {"status", "tb-fills", "cards-risk", "ch-equity"} <= set(full["s"])
    assert "fig" in full["s"]["ch-equity"]
    hub.apply(ev(Account, seq=1, equity=10100.0))
    b.tick()
    delta = json.loads(slot.take(0))
    assert not delta["full"] and delta["base"] == full["seq"] and delta["seq"] == full["seq"] + 1
    assert "tb-positions" not in delta["s"] and "tb-fills" not in delta["s"]
    assert "ext" in delta["s"]["ch-equity"] and "cards-risk" in delta["s"]
    assert slot.take(0) is None
    second = b.connect("b1")  # a page joining later gets a full snapshot of the same stream
    b.tick()
    assert json.loads(second.take(0))["full"]
    assert b.connect("b1") is not None and b.clients == 3


def test_broadcaster_refuses_pages_beyond_max_clients() -> None:
    b = Broadcaster(hub_with(), DashboardSettings(max_clients=1), listen_info={})
    assert b.connect(ALL) is not None
    assert b.connect(ALL) is None
