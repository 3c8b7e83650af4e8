"""The safety invariants: the pure core's facts and the rules' words, on hand-made and random streams.

Each invariant has a stream that breaks it (the rule fires at the event that broke it, naming the
culprit) and legal ones that never fire: exits after a kill switch, a kill switch re-armed, a bot
restart, orders cancelled in time.  The property test compares the rules with the reference model
of tests/support/safety_oracle.py on random streams.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from alerts.rules import RuleSet
from collectors.events import Fill, Health, Mark, Order, Snapshot, SnapshotPosition
from core.config import CoreConfig
from core.store import StateStore
from tests.support.alerts import settings
from tests.support.oracle import PROPS
from tests.support.safety_oracle import Limits, judge

T = 1_800_000_000.0
SAFETY_RULES = {
    "trading_after_stop",
    "orders_open_after_kill",
    "runaway_orders",
    "stale_mark",
    "book_disagrees",
}


class Stream:
    """One bot's events, numbered, applied to a real store as they are made."""

    def __init__(self, run: str = "r1") -> None:
        self.store = StateStore(CoreConfig(stale_after_s=1e9), clock=lambda: self.wall)
        self.seq = itertools.count()
        self.events: list = []
        self.run = run
        self.wall = T

    def _add(self, cls, ts: float, **kw):
        ev = cls(v=1, bot="b", seq=next(self.seq), ts=T + ts, run=self.run, **kw)
        self.events.append(ev)
        self.wall = max(self.wall, ev.ts)
        self.store.apply(ev, arrival=ev.ts)
        return ev

    def health(self, ts: float, kill=None, breaker=None):
        return self._add(Health, ts, kill_switch=kill, circuit_breaker=breaker)

    def order(
        self, ts: float, oid: str, status: str = "new", side: str = "buy", qty: float = 0.5, sym="BTC-USD"
    ):
        return self._add(
            Order,
            ts,
            order_id=oid,
            symbol=sym,
            side=side,
            type="limit",
            qty=qty,
            price=100.0,
            status=status,
            filled_qty=0.0,
        )

    def fill(self, ts: float, fid: str, side: str, qty: float, sym: str = "BTC-USD", price: float = 100.0):
        return self._add(
            Fill, ts, fill_id=fid, order_id="o-" + fid, symbol=sym, side=side, qty=qty, price=price, fee=0.0
        )

    def mark(self, ts: float, **prices: float):
        return self._add(Mark, ts, prices={k.replace("_", "-"): v for k, v in prices.items()})

    def snapshot(self, ts: float, positions: dict[str, float]):
        return self._add(
            Snapshot,
            ts,
            positions=[SnapshotPosition(symbol=s, qty=q, avg_price=100.0) for s, q in positions.items()],
            open_orders=[],
        )

    def firing(self, **safety) -> dict[str, str]:
        """Rule -> its words, for the safety rules true now (events rules off: they are not under test)."""
        cfg = settings(safety=safety, events={"stale": False, "kill_switch": False, "circuit_breaker": False})
        ev = RuleSet(cfg, stale_after_s=1e9).evaluate(self.store.metrics(), self.wall)
        return {o.rule: o.summary for o in ev.active.values() if o.rule in SAFETY_RULES}


# ---- stopped means no new risk ----------------------------------------------------
def test_an_order_after_the_kill_switch_fires_at_once_and_names_it() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 1.0)
    s.health(1, kill="triggered")
    s.order(2.5, "o-9")  # within the 2 s grace: in flight
    assert "trading_after_stop" not in s.firing()
    s.order(4.2, "o-17")
    words = s.firing()["trading_after_stop"]
    assert words.startswith("trading 3.2 s after kill switch TRIGGERED: BUY 0.5 BTC-USD, order o-17")


def test_exits_after_a_stop_are_allowed_and_counted() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 1.0)
    s.health(1, breaker="open")
    s.fill(5, "f-2", "sell", 0.4)
    s.fill(6, "f-3", "sell", 0.6)  # flat: still an exit
    assert s.firing() == {}
    assert s.store.metrics().bots["b"].safety.exits_after_stop == 2
    s.fill(7, "f-4", "sell", 0.1)  # opens a short: new risk
    assert "SELL 0.1 BTC-USD, fill f-4" in s.firing()["trading_after_stop"]
    assert "circuit breaker OPEN" in s.firing()["trading_after_stop"]


def test_a_flip_after_the_stop_is_new_risk() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 1.0)
    s.health(1, kill="triggered")
    s.fill(5, "f-2", "sell", 1.5)
    assert "fill f-2" in s.firing()["trading_after_stop"]


def test_a_rearmed_kill_switch_and_a_restart_make_trading_legal_again() -> None:
    s = Stream()
    s.health(0, kill="triggered")
    s.order(10, "o-1")
    assert "trading_after_stop" in s.firing()
    s.health(11, kill="armed")
    assert "trading_after_stop" not in s.firing()  # resolved by the re-arm
    s.order(20, "o-2")
    assert s.firing() == {}
    s.health(21, kill="triggered")
    s.run = "r2"  # the bot restarted: a new process, its own switches
    s.order(30, "o-3")
    assert s.firing() == {}


# ---- cancel means cancelled ---------------------------------------------------------
def test_orders_open_after_the_kill_switch_are_listed() -> None:
    s = Stream()
    s.order(0, "o-1")
    s.order(0, "o-2", side="sell")
    s.health(1, kill="triggered")
    s.order(2, "o-1", status="canceled")
    s.health(20)
    assert "orders_open_after_kill" not in s.firing()
    s.health(31.5)
    words = s.firing()["orders_open_after_kill"]
    assert words == "1 order still open 30 s after kill switch TRIGGERED (limit 30 s): o-2"


def test_orders_cancelled_in_time_never_fire_and_the_clock_runs_while_the_bot_is_silent() -> None:
    s = Stream()
    s.order(0, "o-1")
    s.health(1, kill="triggered")
    s.order(5, "o-1", status="canceled")
    s.health(100)
    assert s.firing() == {}
    s2 = Stream()
    s2.order(0, "o-1")
    s2.health(1, kill="triggered")
    s2.wall += 45  # silent since: the wall clock carries the age of the last event
    assert "orders_open_after_kill" in s2.firing()


# ---- runaway orders -------------------------------------------------------------------
def test_more_orders_a_minute_than_the_limit_fire_and_a_resent_id_fires() -> None:
    s = Stream()
    for i in range(5):
        s.order(i * 0.1, f"o-{i}")
    assert s.firing(max_orders_per_min=5) == {}
    s.order(0.6, "o-5")
    assert "6 new orders in the last minute > limit 5" in s.firing(max_orders_per_min=5)["runaway_orders"]
    s.order(0.7, "o-5")
    assert "order o-5 re-sent as new" in s.firing()["runaway_orders"]
    s.health(200)  # a quiet minute later
    assert s.firing() == {}


def test_order_updates_and_a_restarted_bot_reusing_ids_are_not_runaway() -> None:
    s = Stream()
    s.order(0, "o-1")
    s.order(1, "o-1", status="partially_filled")
    s.order(2, "o-1", status="filled")
    s.run = "r2"
    s.order(3, "o-1")
    assert s.firing() == {}


# ---- stale marks and the book ----------------------------------------------------------
def test_a_position_without_a_price_for_long_is_a_stale_mark() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 1.0)
    s.mark(30, ETH_USD=2000.0)
    s.mark(60)
    assert "stale_mark" not in s.firing()
    s.mark(61, ETH_USD=2001.0)
    words = s.firing()["stale_mark"]
    assert "BTC-USD 1 min 01 s" in words and "ETH" not in words
    assert s.store.metrics().bots["b"].safety.mark_age_s == {"BTC-USD": 61.0}
    s.mark(62, BTC_USD=101.0)
    assert s.firing() == {}


def test_a_snapshot_that_disagrees_names_symbol_and_both_quantities_until_one_agrees() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 1.0)
    s.snapshot(1, {"BTC-USD": 0.75})
    assert s.firing()["book_disagrees"].endswith("BTC-USD monitor 1, bot 0.75")
    s.snapshot(2, {"BTC-USD": 0.75})
    assert s.firing() == {}


# ---- independent drawdown ----------------------------------------------------------------
def test_drawdown_without_the_bots_kill_switch_waits_the_grace_then_says_protection_did_not_act() -> None:
    s = Stream()
    s.fill(0, "f-1", "buy", 100.0)  # 10,000 at 100
    s.mark(1, BTC_USD=85.0)  # unrealized -1,500 on 10,000: 15 %
    cfg = settings(events={"stale": False})
    rules = RuleSet(cfg, stale_after_s=1e9)
    assert "protection_missed|b" not in rules.evaluate(s.store.metrics(), s.wall).active  # no switch known
    s.health(1, kill="armed")  # the bot has a protection of its own
    obs = rules.evaluate(s.store.metrics(), s.wall).active["protection_missed|b"]
    assert obs.for_s == 2.0 and "protection did not act" in obs.summary and "15.00%" in obs.summary
    s.health(2, kill="triggered")
    assert "protection_missed|b" not in rules.evaluate(s.store.metrics(), s.wall).active


# ---- the reference model --------------------------------------------------------------------
_STEP = st.one_of(
    st.tuples(
        st.just("order"), st.sampled_from(["o1", "o2", "o3"]), st.sampled_from(["new", "canceled", "filled"])
    ),
    st.tuples(st.just("fill"), st.sampled_from(["buy", "sell"]), st.sampled_from([0.5, 1.0, 2.0])),
    st.tuples(
        st.just("health"),
        st.sampled_from(["triggered", "armed", None]),
        st.sampled_from(["open", "closed", None]),
    ),
    st.tuples(st.just("mark"), st.sampled_from(["X", "Y"]), st.just(0)),
    st.tuples(st.just("snap"), st.sampled_from([0.0, 1.0, -1.0]), st.just(0)),
    st.tuples(st.just("restart"), st.just(0), st.just(0)),
)


@PROPS
@given(steps=st.lists(st.tuples(_STEP, st.sampled_from([0.0, 0.5, 1.5, 3.0, 20.0, 40.0])), max_size=40))
def test_the_rules_agree_with_the_reference_model(steps) -> None:
    s, ts, runs = Stream(), 0.0, itertools.count(2)
    for i, ((kind, a, b), dt) in enumerate(steps):
        ts += dt
        if kind == "order":
            s.order(ts, a, status=b, qty=1.0, sym="X")
        elif kind == "fill":
            s.fill(ts, f"f{i}", a, b, sym="X")
        elif kind == "health":
            s.health(ts, kill=a, breaker=b)
        elif kind == "mark":
            s.mark(ts, **{a: 100.0})
        elif kind == "snap":
            s.snapshot(ts, {"X": a})
        else:
            s.run = f"r{next(runs)}"
    limits = dict(grace_s=2.0, orders_open_after_stop_s=30.0, max_orders_per_min=4.0, mark_stale_after_s=30.0)
    want = judge(s.events, Limits(**limits))
    got = s.firing(**limits)
    assert set(got) == set(want.firing), (got, want)
    for rule, culprit in want.firing.items():
        assert culprit in got[rule], (rule, culprit, got[rule])
    doc = s.store.metrics().bots["b"].safety if s.events else None
    if doc is not None:
        assert (doc.exits_after_stop, doc.new_risk_after_stop) == (
            want.exits_after_stop,
            want.new_risk_after_stop,
        )
        assert doc.orders_per_min == want.orders_per_min
