""" "All bots means all bots": one stale bot is named with its age, the live totals are not marked old."""

from __future__ import annotations

from app.dashboard.health_tab import Rates
from app.dashboard.sections import build_sections
from app.dashboard.view_input import ALL, ViewInput
from app.hub import Hub
from collectors.events import Account, Health, Heartbeat
from core.config import CoreConfig
from core.store import StateStore

T0 = 1_800_000_000.0
STALE_AFTER_S = 10.0


class Wall:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def three_bots(wall: Wall) -> Hub:
    """alpha, beta and gamma report; beta then falls silent for 81 s while the others go on."""
    hub = Hub(StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=wall))
    for seq, (bot, equity) in enumerate((("alpha", 10_000.0), ("beta", 5_000.0), ("gamma", 2_500.0))):
        hub.apply(Account(v=1, bot=bot, seq=0, ts=T0 + seq, equity=equity))
        hub.apply(Health(v=1, bot=bot, seq=1, ts=T0 + seq, kill_switch="armed", circuit_breaker="closed"))
    wall.t = T0 + 81.0
    hub.apply(Heartbeat(v=1, bot="alpha", seq=2, ts=wall.t))
    hub.apply(Heartbeat(v=1, bot="gamma", seq=2, ts=wall.t))
    wall.t += 0.4
    return hub


def sections(hub: Hub, view: str = ALL) -> dict:
    metrics = hub.metrics()
    bots = list(metrics.bots) if view == ALL else [view]
    inp = ViewInput(
        view=view,
        metrics=metrics,
        states={b: st for b in bots if (st := hub.state(b)) is not None},
        now=hub.clock(),
        stale_after_s=STALE_AFTER_S,
        listen_info={},
    )
    return build_sections(inp, Rates())


def items(status: dict) -> dict[str, list[str]]:
    return {label: [text, cls, note] for label, text, cls, note in status["items"]}


def test_one_stale_bot_of_three_is_named_with_its_age_and_the_totals_are_not_marked_old() -> None:
    status = sections(three_bots(Wall()))["status"]
    assert status["warn"] and status["conn"] == "stale"  # still unmistakable
    assert status["stale_bots"] == "1 of 3 bots stale: beta, 1 min 21 s"
    assert status["text"].startswith("1 of 3 bots stale: beta, 1 min 21 s · 2 live, last event 0.4 s ago")
    shown = items(status)
    assert shown["Equity"] == ["17,500.00", "neutral", ""]  # the total of all three, current
    for label in ("Equity", "Daily P&L", "Worst drawdown", "Kill switch", "Circuit breaker"):
        assert shown[label][2] == "", (label, shown[label])  # no stale bot's age on a live figure


def test_risk_cards_of_all_bots_are_not_marked_old_by_one_stale_bot() -> None:
    cards = sections(three_bots(Wall()))["cards-risk"]
    assert [c for c in cards if "old" in c[3]] == []


def test_all_bots_stale_marks_every_figure_with_the_age_of_the_newest_data() -> None:
    wall = Wall()
    hub = three_bots(wall)
    wall.t += 30.0  # alpha and gamma now 30.4 s quiet, beta 111.4 s
    status = sections(hub)["status"]
    assert status["stale_bots"] == "3 of 3 bots stale: beta, 1 min 51 s; alpha, 30 s; gamma, 30 s"
    assert status["text"].endswith("newest data 30 s old")
    shown = items(status)
    for label in ("Equity", "Daily P&L", "Worst drawdown", "Kill switch", "Circuit breaker"):
        assert shown[label][2] == "30 s old", (label, shown[label])
    cards = sections(hub)["cards-risk"]
    assert all(c[3].startswith("30 s old") for c in cards), cards


def test_a_figure_from_the_stale_bot_alone_carries_its_age() -> None:
    """The kill switch of beta alone is triggered: that figure is beta's, and as old as beta's data."""
    wall = Wall()
    hub = Hub(StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=wall))
    hub.apply(Health(v=1, bot="alpha", seq=0, ts=T0, kill_switch="armed"))
    hub.apply(Health(v=1, bot="beta", seq=0, ts=T0, kill_switch="triggered"))
    wall.t = T0 + 20.0
    hub.apply(Heartbeat(v=1, bot="alpha", seq=1, ts=wall.t))
    shown = items(sections(hub)["status"])
    assert shown["Kill switch"] == ["beta: triggered", "neg", "20 s old"]
    assert shown["Circuit breaker"][2] == ""


def test_the_view_of_the_stale_bot_marks_everything_and_a_live_bots_view_nothing() -> None:
    hub = three_bots(Wall())
    beta = sections(hub, "beta")["status"]
    assert beta["warn"] and beta["conn"] == "stale"
    assert beta["text"] == "STALE: beta (last event 1 min 21 s ago)"
    assert beta["stale_bots"] == "beta stale, 1 min 21 s"
    assert {note for _, _, _, note in beta["items"]} == {"1 min 21 s old"}
    alpha = sections(hub, "alpha")["status"]
    assert not alpha["warn"] and alpha["conn"] == "live" and alpha["stale_bots"] == ""
    assert {note for _, _, _, note in alpha["items"]} == {""}


def test_a_single_bot_all_stale_in_the_all_view_marks_everything() -> None:
    wall = Wall()
    hub = Hub(StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=wall))
    hub.apply(Account(v=1, bot="solo", seq=0, ts=T0, equity=1_000.0))
    wall.t = T0 + 12.0
    status = sections(hub)["status"]
    assert status["warn"] and status["stale_bots"] == "1 of 1 bot stale: solo, 12 s"
    assert {note for _, _, _, note in status["items"]} == {"12 s old"}
