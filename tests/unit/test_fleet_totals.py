"""The "All bots" totals per currency, and the fleet-wide limits on them, against the reference model.

Three bots in two currencies (two in USD, one in EUR), each a random stream of fills, marks and
account events; the totals of each currency must equal the sums of the reference bots of
tests/support/oracle.py (written from docs/metrics.md, not from the store), and the fleet limits
fire on those totals, one alert per currency.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import settings as hsettings

from alerts.rules import RuleSet
from collectors.events import Account
from core.config import BotSettings, CoreConfig
from core.store import StateStore
from tests.support.alerts import settings
from tests.support.oracle import PROPS, bot_steps, make_events, reference

START = 10_000.0
CURRENCIES = {"u1": "USD", "u2": "USD", "e1": "EUR"}


def _store(streams: dict[str, list]) -> tuple[StateStore, dict]:
    """The store fed with every bot's events (each account event naming its bot's currency), and the refs."""
    cfg = CoreConfig(bots={b: BotSettings(starting_equity=START) for b in CURRENCIES})
    events = {
        bot: make_events(
            bot, [(c, {**kw, "currency": CURRENCIES[bot]} if c is Account else kw) for c, kw in s]
        )
        for bot, s in streams.items()
    }
    last = max(ev.ts for evs in events.values() for ev in evs)
    store = StateStore(cfg, clock=lambda: last)
    for evs in events.values():
        for ev in evs:
            store.apply(ev)
    return store, {bot: reference(evs, START) for bot, evs in events.items()}


def _expected(refs: dict) -> dict[str, dict]:
    """Sums per currency the obvious way: equity, sum of peaks, their drawdown, daily P&L, exposure."""
    out: dict[str, dict] = {}
    for bot, ref in refs.items():
        t = out.setdefault(CURRENCIES[bot], {"equity": 0.0, "peak": 0.0, "daily": 0.0, "gross": 0.0})
        t["equity"] += ref.equity()
        t["peak"] += max(e for _, e in ref.curve())
        t["daily"] += ref.daily_pnl()
        t["gross"] += ref.exposure_gross()
    for t in out.values():
        t["drawdown"] = max(0.0, (t["peak"] - t["equity"]) / t["peak"])
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@hsettings(PROPS, max_examples=60)  # three bots per example: fewer examples, as many events
@given(
    u1=bot_steps(account=True, max_n=15),
    u2=bot_steps(account=True, max_n=15),
    e1=bot_steps(account=True, max_n=15),
)
def test_totals_per_currency_equal_the_reference(u1, u2, e1) -> None:
    store, refs = _store({"u1": u1, "u2": u2, "e1": e1})
    assume(all(e > 0 for ref in refs.values() for _, e in ref.curve()))
    fleet = store.metrics().fleet
    want = _expected(refs)
    assert set(fleet) == set(want) == {"USD", "EUR"}
    for cur, t in want.items():
        got = fleet[cur]
        assert sorted(got.bots) == sorted(b for b, c in CURRENCIES.items() if c == cur)
        assert _close(got.equity, t["equity"]) and _close(got.peak_equity, t["peak"])
        assert _close(got.daily_pnl, t["daily"]) and _close(got.exposure_gross, t["gross"])
        assert abs(got.drawdown - t["drawdown"]) <= 1e-9
    # the limits fire on exactly the currencies whose totals cross them
    limits = {"min_daily_pnl": {"USD": 0.0, "EUR": 0.0}, "max_exposure": 1.0, "max_drawdown": 0.05}
    rules = RuleSet(settings(events={"stale": False}, fleet=limits), stale_after_s=1e9)
    active = rules.evaluate(store.metrics(), 0.0).active
    fired = {(o.rule, dict(o.labels)["currency"]) for o in active.values() if o.rule.startswith("fleet_")}
    expected = {("fleet_min_daily_pnl", c) for c, t in want.items() if t["daily"] < 0.0}
    expected |= {("fleet_max_exposure", c) for c, t in want.items() if t["gross"] > 1.0}
    expected |= {("fleet_max_drawdown", c) for c, t in want.items() if t["drawdown"] > 0.05}
    assert fired == expected


def test_a_currency_without_a_limit_of_its_own_has_none() -> None:
    steps = [
        (Account, {"ts": 1_800_000_000.0, "equity": 9_000.0}),
        (Account, {"ts": 1_800_000_001.0, "equity": 8_000.0}),
    ]
    store, _ = _store({"u1": steps, "e1": steps})
    rules = RuleSet(
        settings(events={"stale": False}, fleet={"max_drawdown": {"USD": 0.05}}), stale_after_s=1e9
    )
    active = rules.evaluate(store.metrics(), 0.0).active
    assert [o.summary for o in active.values() if o.rule.startswith("fleet_")] == [
        "USD total drawdown 11.11% > limit 5.00%"
    ]
