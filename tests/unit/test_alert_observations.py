"""What each rule observes, written out in full: rule, bot, severity, words, value, threshold, labels.

The observation is what the alert, its messages and the Rules table show; the
tests compare whole observations so a rule that fires with the wrong severity
or words, or on the wrong bot, fails here.  Documents are the typed metrics a
store produces, built from the few fields each case sets.
"""

from __future__ import annotations

from typing import Any

from alerts.rules import Observation, RuleSet
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc

STALE_AFTER_S = 10.0
API = (("api", "binance"),)


def _active(rules: RuleSet, now: float = 0.0, **bots: dict[str, Any]) -> dict[str, Observation]:
    return rules.evaluate(metrics_doc({b: bot_metrics(**m) for b, m in bots.items()}), now).active


def _rules(**cfg: Any) -> RuleSet:
    return RuleSet(settings(**cfg), stale_after_s=STALE_AFTER_S)


def test_the_event_rules_observe_exactly_this() -> None:
    health = {
        "apis": {"binance": "down", "kraken": "degraded", "okx": "up"},
        "circuit_breaker": "open",
        "kill_switch": "triggered",
    }
    active = _active(_rules(), b={"health": health, "last_event_age_s": 12.4})
    assert {k: active[k] for k in active if not k.startswith(("max_", "min_"))} == {
        "kill_switch|b": Observation(
            "kill_switch",
            "b",
            "critical",
            "kill switch TRIGGERED",
            value="triggered",
            threshold="armed",
            op="==",
        ),
        "circuit_breaker|b": Observation(
            "circuit_breaker",
            "b",
            "critical",
            "circuit breaker OPEN",
            value="open",
            threshold="closed",
            op="==",
        ),
        "api_down|b|api=binance": Observation(
            "api_down",
            "b",
            "warning",
            "API binance DOWN",
            value="down",
            threshold="up",
            op="==",
            labels=API,
        ),
        "api_down_critical|b|api=binance": Observation(
            "api_down_critical",
            "b",
            "critical",
            "API binance DOWN for over 2 min 00 s",
            value="down",
            threshold="up",
            op="==",
            for_s=120.0,
            labels=API,
        ),
        "stale|b": Observation(
            "stale",
            "b",
            "critical",
            "stale: no event for 12 s (limit 10 s)",
            value=12.4,
            threshold=STALE_AFTER_S,
            op=">",
        ),
    }


def test_switched_off_event_rules_observe_nothing() -> None:
    off = {"kill_switch": False, "circuit_breaker": False, "api_down": False, "stale": False}
    health = {"apis": {"binance": "down"}, "circuit_breaker": "open", "kill_switch": "triggered"}
    active = _active(_rules(events=off), b={"health": health, "last_event_age_s": 99.0})
    assert [k for k in active if not k.startswith(("max_", "min_"))] == []


def test_stale_is_strictly_older_than_the_limit_and_a_bot_never_heard_from_is_stale() -> None:
    rules = _rules()
    assert "stale|b" not in _active(rules, b={"last_event_age_s": STALE_AFTER_S})
    assert "stale|b" in _active(rules, b={"last_event_age_s": STALE_AFTER_S + 0.001})
    never = _active(rules, b={"last_event_age_s": None, "stale": True})["stale|b"]
    assert never == Observation(
        "stale",
        "b",
        "critical",
        "stale: no event received yet (limit 10 s)",
        value=None,
        threshold=10.0,
        op=">",
    )
    assert "stale|b" not in _active(rules, b={"last_event_age_s": None, "stale": False})


def test_counter_rules_observe_exactly_this_and_per_bot() -> None:
    rules = _rules(events={"counter_hold_s": 60, "critical_error_hold_s": 30})
    crit = {"ts": 5.0, "component": "exchange", "message": "order book lost", "severity": "critical"}
    moved = {
        "errors": {"last_critical": crit},
        "events": {"lost": 3},
        "position_mismatches": 2,
    }
    active = _active(rules, 100.0, b1=moved, b2={})
    assert {k: v for k, v in active.items() if k.endswith("|b1")} == {
        "critical_error|b1": Observation(
            "critical_error", "b1", "critical", "critical error in exchange: order book lost", value=5.0
        ),
        "events_lost|b1": Observation(
            "events_lost",
            "b1",
            "warning",
            "3 events lost (gaps in the bot's sequence)",
            value=3,
            threshold=0,
            op=">",
        ),
        "position_mismatch|b1": Observation(
            "position_mismatch",
            "b1",
            "warning",
            "2 position mismatches between snapshot and fills",
            value=2,
            threshold=0,
            op=">",
        ),
    }
    assert [k for k in active if k.endswith("|b2")] == []  # b2's counters never moved
    # the critical error quiets down after its own hold, the others after theirs
    later = _active(rules, 129.9, b1=moved, b2={})
    assert {k for k in later if k.endswith("|b1")} == {
        "critical_error|b1",
        "events_lost|b1",
        "position_mismatch|b1",
    }
    later = _active(rules, 130.0, b1=moved, b2={})
    assert {k for k in later if k.endswith("|b1")} == {"events_lost|b1", "position_mismatch|b1"}
    assert {k for k in _active(rules, 160.0, b1=moved, b2={}) if k.endswith("|b1")} == set()
    # the same counts on another bot are that bot's own movement
    active = _active(rules, 170.0, b1=moved, b2=moved)
    assert {k for k in active if k.endswith("|b2")} == {
        "critical_error|b2",
        "events_lost|b2",
        "position_mismatch|b2",
    }
    assert {k for k in active if k.endswith("|b1")} == set()


def test_a_custom_rule_observes_its_own_name_severity_delay_and_bots() -> None:
    rule = {"name": "big_exposure", "metric": "exposure_gross", "op": ">=", "value": 1_000_000}
    rule |= {"for": 30, "severity": "critical", "bots": ["b1"]}
    rules = _rules(rules=[rule])
    active = _active(rules, b1={"exposure_gross": 2_500_000.0}, b2={"exposure_gross": 9e9})
    assert active["big_exposure|b1"] == Observation(
        "big_exposure",
        "b1",
        "critical",
        "gross exposure 2,500,000.00 >= limit 1,000,000.00",
        value=2_500_000.0,
        threshold=1_000_000,
        op=">=",
        for_s=30.0,
    )
    assert "big_exposure|b2" not in active  # restricted to b1
    assert "big_exposure|b1" not in _active(rules, b1={"exposure_gross": 999_999.0})
    off = _rules(rules=[{**rule, "enabled": False}])
    assert "big_exposure|b1" not in _active(off, b1={"exposure_gross": 2_500_000.0})


def test_a_custom_rule_on_every_bot_by_default() -> None:
    rule = {"name": "losing", "metric": "daily_pnl", "op": "<", "value": -50}
    active = _active(_rules(rules=[rule]), b1={"daily_pnl": -60.5}, b2={"daily_pnl": -51.0})
    assert active["losing|b1"] == Observation(
        "losing", "b1", "warning", "daily P&L -60.50 < limit -50.00", value=-60.5, threshold=-50, op="<"
    )
    assert active["losing|b2"].value == -51.0


def test_a_threshold_in_long_form_carries_its_delay_and_severity() -> None:
    long = {"value": 200, "for": 30, "severity": "critical"}
    rules = _rules(thresholds={"max_latency_ms": long})
    active = _active(rules, b={"latency_ms": {"p95": 350.0}})
    assert active["max_latency_ms|b"] == Observation(
        "max_latency_ms",
        "b",
        "critical",
        "latency p95 350 ms > limit 200 ms",
        value=350.0,
        threshold=200,
        op=">",
        for_s=30.0,
    )
    short = _active(_rules(thresholds={"max_latency_ms": 200}), b={"latency_ms": {"p95": 350.0}})
    assert (short["max_latency_ms|b"].severity, short["max_latency_ms|b"].for_s) == ("warning", 0.0)
    switched_off = _rules(thresholds={"max_latency_ms": {**long, "enabled": False}})
    assert "max_latency_ms|b" not in _active(switched_off, b={"latency_ms": {"p95": 350.0}})


def test_the_evaluation_lists_every_bot_seen_even_quiet_ones() -> None:
    doc = metrics_doc({"b1": bot_metrics(), "b2": bot_metrics()})
    assert _rules().evaluate(doc, 0.0).bots == frozenset({"b1", "b2"})


def test_a_rule_set_that_continues_another_does_not_re_arm_its_counters() -> None:
    quiet = {"counter_hold_s": 60}
    before = _rules(events=quiet)
    lost = {"events": {"lost": 3}}
    assert "events_lost|b" in _active(before, 0.0, b=lost)
    assert "events_lost|b" not in _active(before, 60.0, b=lost)
    after = _rules(events=quiet, thresholds={"max_latency_ms": 300})  # a reload
    after.continue_from(before)
    assert "events_lost|b" not in _active(after, 61.0, b=lost)
    assert "events_lost|b" in _active(after, 62.0, b={"events": {"lost": 4}})  # a new loss still fires
    fresh = _rules(events=quiet)  # without the memory the old count looks new
    assert "events_lost|b" in _active(fresh, 61.0, b=lost)


def test_whole_numbers_and_true_false_rules_read_as_written() -> None:
    rules = _rules(
        rules=[
            {"name": "many_trades", "metric": "closed_trades", "op": ">", "value": 3},
            {"name": "silent", "metric": "stale", "op": "==", "value": True},
        ]
    )
    active = _active(rules, b={"closed_trades": 5, "stale": True, "last_event_age_s": 1.0})
    assert active["many_trades|b"].summary == "5 closed trades > limit 3"
    assert active["silent|b"].summary == "stale is true"
    assert "silent|b" not in _active(rules, b={"stale": False})


def test_every_api_that_is_down_is_observed_whatever_comes_before_it() -> None:
    health = {"apis": {"alpha": "up", "beta": "degraded", "gamma": "down"}}
    active = _active(_rules(), b={"health": health})
    assert sorted(k for k in active if k.startswith("api_")) == [
        "api_down_critical|b|api=gamma",
        "api_down|b|api=gamma",
    ]
