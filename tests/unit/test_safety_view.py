"""What the page shows of the safety invariants: a stale mark on its position and on the equity
figures that include it, and the safety rules and fleet limits in the Rules table."""

from __future__ import annotations

from alerts import safety_catalog
from app.dashboard.alerts_sections import rules_rows
from app.dashboard.risk_tab import risk_cards
from app.dashboard.trading_tab import positions_table
from app.dashboard.view_input import ALL, ViewInput
from collectors.events import Fill, Mark
from core.config import CoreConfig
from core.store import StateStore
from tests.support.alerts import settings

T = 1_800_000_000.0


def _store(wall: float) -> StateStore:
    store = StateStore(CoreConfig(stale_after_s=1e9), clock=lambda: wall)
    store.apply(
        Fill(
            v=1,
            bot="b",
            seq=0,
            ts=T,
            fill_id="f",
            order_id="o",
            symbol="BTC-USD",
            side="buy",
            qty=1.0,
            price=100.0,
            fee=0.0,
        ),
        arrival=T,
    )
    store.apply(Mark(v=1, bot="b", seq=1, ts=T + 50, prices={"ETH-USD": 1.0}), arrival=T + 50)
    return store


def _cells(store: StateStore, limit: float | None = None) -> list:
    m = store.metrics()
    return positions_table({"b": store.state("b")}, False, None, dict(m.bots), limit)["rows"][0]


def test_a_position_at_a_stale_mark_shows_the_marks_age_and_the_equity_cards_say_so() -> None:
    fresh = _store(T + 55)  # 55 s since the mark: fresh under the default 60 s
    assert "stale" not in str(_cells(fresh))
    old = _store(T + 75)  # the bot is silent since its last event: the age grows with the wall clock
    pnl = _cells(old)[5]
    assert pnl == ["0.00 (stale: mark 1 min 15 s old)", "warn"]
    assert "stale" not in str(_cells(old, limit=80.0))  # the limit in force, not a constant
    m = old.metrics()
    inp = ViewInput(view=ALL, metrics=m, states={}, now=T + 75, stale_after_s=1e9, listen_info={})
    notes = {card[0]: card[3] for card in risk_cards(inp, dict(m.bots))}
    assert (
        notes["Equity"].startswith("1 stale mark inside") and notes["Unrealized P&L"] == "1 stale mark inside"
    )
    assert "stale" not in notes["Fees"]
    cards = {card[0]: card[1] for card in risk_cards(inp, dict(m.bots))}
    assert cards["All bots drawdown"] == "(none) 0.00%"  # the fleet's drawdown, per currency


def test_the_rules_table_lists_the_safety_rules_and_fleet_limits_with_their_values() -> None:
    store = _store(T + 75)
    cfg = settings(safety={"orders_open_after_stop_s": 45}, fleet={"min_daily_pnl": {"USD": -500}})
    rows = {r[0]: r for r in rules_rows(cfg, 10.0, store.metrics())}
    for rule in safety_catalog.SAFETY:
        assert rows[rule.title][3:5] == [rule.severity, "on"]
    assert (
        rows["Orders open after kill switch"][1] == "orders still open 45 s after the kill switch triggered"
    )
    assert rows["Stale mark"][5] == "b: 50"  # event time to the bot's newest event
    assert rows["All bots min daily P&L"][1:5] == [
        "all bots' total daily P&L < USD -500.00",
        "—",
        "critical",
        "on",
    ]
    assert rows["All bots max exposure"][4] == "off"


def test_the_form_saves_the_safety_numbers_and_fleet_limits_and_refuses_what_the_file_would() -> None:
    from app.dashboard.form_parse import parse
    from app.settings import SettingsError, validate

    out = parse(
        {"safety.grace_s": "5", "fleet.min_daily_pnl": "-500", "safety.trading_after_stop": False}, {}
    )
    assert sorted(out.changes) == [
        (("alerts", "fleet", "min_daily_pnl"), -500),
        (("alerts", "safety", "grace_s"), 5),
        (("alerts", "safety", "trading_after_stop"), False),
    ]
    assert (
        parse({"safety.grace_s": "2", "fleet.max_exposure": ""}, {}).changes == []
    )  # the defaults: no change
    bad = parse({"safety.max_orders_per_min": "0"}, {})
    reason = safety_catalog.SAFETY_LIMITS[3].range.reason
    assert bad.errors == {"safety.max_orders_per_min": reason} and bad.changes == []
    try:  # the settings file refuses the same value
        validate({"alerts": {"safety": {"max_orders_per_min": 0}}}, "settings.yaml")
    except SettingsError as err:
        assert err.key == "alerts.safety.max_orders_per_min"
    else:
        raise AssertionError("a file with max_orders_per_min 0 was accepted")
