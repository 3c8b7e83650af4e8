"""Pure rules and state machine: plain dicts and numbers, no hub, no I/O."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from alerts import catalog, states
from alerts.config import Escalation, Route
from alerts.rules import RuleSet, lookup
from core.documents import BotMetrics
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc


def bot(**over) -> BotMetrics:
    return bot_metrics(**over)


def rules(**cfg) -> RuleSet:
    return RuleSet(settings(**cfg), stale_after_s=10)


def test_thresholds_fire_only_when_crossed_and_null_disables():
    rs = rules(thresholds={"max_latency_ms": 200, "min_daily_pnl": -100, "max_drawdown": 0.1})
    quiet = rs.evaluate(metrics_doc({"b": bot(latency_ms={"p95": 200.0}, daily_pnl=-100, drawdown=0.1)}), 0)
    assert quiet.active == {}
    hot = rs.evaluate(metrics_doc({"b": bot(latency_ms={"p95": 350.0}, daily_pnl=-101, drawdown=0.2)}), 0)
    assert sorted(o.rule for o in hot.active.values()) == ["max_drawdown", "max_latency_ms", "min_daily_pnl"]
    lat = hot.active["max_latency_ms|b"]
    assert (lat.value, lat.threshold, lat.severity) == (350.0, 200, "warning")
    assert lat.summary == "latency p95 350 ms > limit 200 ms"
    off = rules(thresholds={"max_drawdown": None})  # null disables (absent = the shipped 0.10)
    assert off.evaluate(metrics_doc({"b": bot(drawdown=0.9)}), 0).active == {}


def test_event_rules_and_labels():
    rs = rules()
    doc = bot(
        health={
            "apis": {"binance": "down", "kraken": "up"},
            "circuit_breaker": "open",
            "kill_switch": "triggered",
        },
        last_event_age_s=11.0,
    )
    active = rs.evaluate(metrics_doc({"b": doc}), 0).active
    assert set(active) == {
        "api_down|b|api=binance",
        "api_down_critical|b|api=binance",
        "circuit_breaker|b",
        "kill_switch|b",
        "stale|b",
    }
    assert active["api_down_critical|b|api=binance"].for_s == 120
    assert all(active[k].severity == "critical" for k in ("circuit_breaker|b", "kill_switch|b", "stale|b"))


def test_counter_rules_fire_on_increase_and_quiet_down():
    rs = rules(events={"counter_hold_s": 60})
    assert rs.evaluate(metrics_doc({"b": bot()}), 0).active == {}
    assert "events_lost|b" in rs.evaluate(metrics_doc({"b": bot(events={"lost": 3})}), 10).active
    assert "events_lost|b" in rs.evaluate(metrics_doc({"b": bot(events={"lost": 3})}), 69).active
    assert "events_lost|b" not in rs.evaluate(metrics_doc({"b": bot(events={"lost": 3})}), 70).active
    crit = {"ts": 5.0, "component": "x", "severity": "critical", "message": "boom"}
    doc = bot(errors={"last_5m": 1, "last_critical": crit})
    assert rs.evaluate(metrics_doc({"b": doc}), 80).active["critical_error|b"].severity == "critical"


def test_lookup_dotted_paths():
    assert lookup({"a": {"b": {"c": 1}}}, ("a", "b", "c")) == 1
    assert lookup({"a": 1}, ("a", "b")) is None


ROUTE = Route(channels=["slack"], repeat_interval_s=60)


def _ids():
    c = itertools.count()
    return lambda: f"id{next(c)}"


@hsettings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(min_value=0.01, max_value=50)), min_size=1, max_size=60),
    st.sampled_from([0.0, 10.0, 30.0]),
)
def test_dedup_invariants(steps, for_s):
    """Whatever the condition does: firing and resolved alternate, starting with firing;
    re-evaluating the same facts at the same time sends nothing; holding less than ``for`` sends nothing."""
    from alerts.rules import Observation

    new_id, alert, t, sent = _ids(), None, 0.0, []
    for active, dt in steps:
        obs = Observation("r", "b", "critical", "x", for_s=for_s) if active else None
        alert, notices = states.step(alert, obs, t, lambda s: ROUTE, new_id)
        if alert is not None and alert.status == states.FIRING:
            alert, more = states.due(alert, t)
            notices += more
        again = states.step(alert, obs, t, lambda s: ROUTE, new_id)[1] if alert and obs else []
        assert [n for n in again if n.kind != "repeat"] == []  # same facts, same time: nothing new
        sent += [(n.kind, t) for n in notices]
        if alert is not None and alert.status == states.RESOLVED:
            alert = None
        t += dt
    lifecycle = [k for k, _ in sent if k in ("firing", "resolved")]
    assert all(a != b for a, b in itertools.pairwise(lifecycle)) and (
        not lifecycle or lifecycle[0] == "firing"
    )
    if for_s > max(dt for _, dt in steps) * len(steps):
        assert sent == []


def test_ack_stops_escalation_and_repeat_but_not_resolve():
    route = Route(channels=["a"], repeat_interval_s=60, escalate=[Escalation(after_s=300, channels=["b"])])
    from alerts.rules import Observation

    obs = Observation("r", "b", "critical", "x")
    alert, n = states.step(None, obs, 0, lambda s: route, _ids())
    assert [x.kind for x in n] == ["firing"]
    alert = states.ack(alert, "bob", 10)
    assert states.due(alert, 1000) == (alert, [])
    _, n = states.step(alert, None, 1001, lambda s: route, _ids())
    assert [(x.kind, x.channels) for x in n] == [("resolved", ("a",))]


def test_every_unit_of_the_catalogue_is_one_the_presenter_knows() -> None:
    """A misspelt unit ("pcts") would show a drawdown as a bare 0.124: the catalogue speaks UNITS only."""
    units = {m.unit for m in catalog.METRICS.values()} | {t.unit for t in catalog.THRESHOLDS}
    assert units <= set(catalog.UNITS), units - set(catalog.UNITS)
