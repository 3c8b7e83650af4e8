"""The words of every alert, firing and resolved, for every rule of the catalog and custom rules.

A trader reads these texts in a phone notification at night: each states the fact
("circuit breaker OPEN (was closed)", "drawdown 12.40% > limit 10.00%"), each value
once, with the rule's human name, and the resolve states what is true now
("circuit breaker closed again"), never the condition that stopped holding.

The cases are keyed by the catalog's rule names: a rule added to alerts/catalog.py
without a case here fails ``test_every_rule_of_the_catalog_has_a_text_case``.
Pure: typed metrics documents in, rule evaluation and message functions, text out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from alerts import catalog, messages, safety_catalog
from alerts.channels import email, slack, sms, telegram
from alerts.rules import RuleSet
from core.documents import FleetTotals, MetricsDocument
from core.monitor_documents import JournalStatus, PersistenceStatus
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc

T0 = 1_700_000_000.0
STALE_AFTER_S = 30.0
#: Custom rules that make one bot hold more conditions than the per-bot cap of alerts.
_MANY = [
    {"name": f"r{i:02d}", "metric": "events.received", "op": ">", "value": 0, "severity": "info"}
    for i in range(catalog.MAX_ALERTS_PER_BOT + 5)
]


def _doc(**over: Any) -> MetricsDocument:
    """One bot, ``b1``, trading in USD, with ``over`` changed."""
    return metrics_doc({"b1": bot_metrics(currency="USD", **over)})


def _monitor(refused: int = 0, journal: str | None = None) -> MetricsDocument:
    """A document of the running monitor: bot-cap refusals and the journal's state."""
    doc = _doc()
    reasons = {"too_many_bots": refused} if refused else {}
    doc = msgspec.structs.replace(
        doc, collector=msgspec.structs.replace(doc.collector, rejected_by_reason=reasons)
    )
    status = JournalStatus(
        state="failing" if journal else "ok",
        failure=journal,
        committed_batch=1,
        uncommitted=0,
        last_commit_at=None,
        queued=0,
        snapshots=0,
        last_snapshot_at=None,
        last_snapshot_pause_ms=None,
        data_bytes=0,
    )
    return msgspec.structs.replace(doc, persistence=PersistenceStatus(restore=None, journal=status))


@dataclass(frozen=True)
class Case:
    """A rule firing then clearing: the documents and the words expected of each."""

    key: str  # the alert identity
    fire: Callable[[], MetricsDocument]
    fired: str
    clear: Callable[[], MetricsDocument]
    cleared: str
    before: Callable[[], MetricsDocument] | None = None  # a document seen before the alarm
    clear_after_s: float = 1.0  # counter rules clear after their quiet time
    cfg: dict[str, Any] = field(default_factory=dict)


SUBMIT = {"count": 3, "avg": 300.0, "p50": 300.0, "p95": 400.0, "max": 420.0}
CRIT = {"ts": T0, "component": "exchange", "severity": "critical", "message": "order book lost"}
_BREACH = {
    "kind": "order",
    "id": "o-17",
    "side": "buy",
    "qty": 0.5,
    "symbol": "BTC-USD",
    "ts": T0,
    "after_s": 3.2,
}
_STOPPED = {"stopped_by": "kill_switch", "since_stop_s": 3.2, "since_kill_switch_s": 3.2}
_FLEET_USD = {"bots": ["b1"], "equity": 9000.0, "peak_equity": 10000.0, "drawdown": 0.1, "daily_pnl": -600.0}


def _fleet(**over: Any) -> MetricsDocument:
    """The "All bots" totals of USD, with ``over`` changed."""
    totals = msgspec.convert({**_FLEET_USD, "exposure_gross": 1000.0, **over}, FleetTotals)
    return msgspec.structs.replace(_doc(), fleet={"USD": totals})


#: The safety invariants and the fleet limits (alerts/safety_rules.py); their clocks add the 1 s
#: since the quiet bot's last event (last_event_age_s).
SAFETY_CASES: dict[str, Case] = {
    "trading_after_stop": Case(
        "trading_after_stop|b1",
        lambda: _doc(
            safety={**_STOPPED, "new_risk_after_stop": 1, "exits_after_stop": 2, "breaches": [_BREACH]}
        ),
        "trading 3.2 s after kill switch TRIGGERED: BUY 0.5 BTC-USD, order o-17, 2 exits allowed",
        lambda: _doc(),
        "re-armed: trading is allowed again",
    ),
    "orders_open_after_kill": Case(
        "orders_open_after_kill|b1",
        lambda: _doc(
            safety={
                **_STOPPED,
                "since_kill_switch_s": 44.0,
                "open_orders_after_kill": 2,
                "open_order_ids": ["o-1", "o-2"],
            }
        ),
        "2 orders still open 45 s after kill switch TRIGGERED (limit 30 s): o-1, o-2",
        lambda: _doc(safety={**_STOPPED, "since_kill_switch_s": 46.0}),
        "no order open any more",
    ),
    "protection_missed": Case(
        "protection_missed|b1",
        lambda: _doc(drawdown=0.124, health={"kill_switch": "armed"}),
        "drawdown 12.40% > limit 10.00% on the monitor's own equity (unrealized P&L included) and no"
        " kill switch within 2.0 s: the bot's own protection did not act",
        lambda: _doc(drawdown=0.124, health={"kill_switch": "triggered"}),
        "kill switch TRIGGERED: the bot's protection acted",
        cfg={
            "events": {"kill_switch": False},
            "thresholds": {"max_drawdown": None},
            "safety": {"max_drawdown": 0.1},
        },
    ),
    "runaway_orders": Case(
        "runaway_orders|b1",
        lambda: _doc(safety={"orders_per_min": 150}),
        "runaway loop: 150 new orders in the last minute > limit 120",
        lambda: _doc(safety={"orders_per_min": 30}),
        "30 new orders in the last minute, no order re-sent",
    ),
    "stale_mark": Case(
        "stale_mark|b1",
        lambda: _doc(safety={"mark_age_s": {"BTC-USD": 74.0, "ETH-USD": 3.0}}),
        "no price for an open position (limit 1 min 00 s): BTC-USD 1 min 15 s;"
        " its unrealized P&L and the equity figures that use it are stale",
        lambda: _doc(safety={"mark_age_s": {"BTC-USD": 2.0}}),
        "every open position has a fresh price again",
    ),
    "book_disagrees": Case(
        "book_disagrees|b1",
        lambda: _doc(
            safety={
                "book_disagreements": 1,
                "disagreements": [{"symbol": "BTC-USD", "monitor_qty": 1.0, "bot_qty": 0.75}],
            }
        ),
        "snapshot disagrees with the fills on 1 symbol(s): BTC-USD monitor 1, bot 0.75",
        lambda: _doc(),
        "snapshot agrees with the fills again",
    ),
    "fleet_min_daily_pnl": Case(
        f"fleet_min_daily_pnl|{safety_catalog.FLEET_SCOPE}|currency=USD",
        lambda: _fleet(daily_pnl=-612.4),
        "USD total daily P&L -612.40 USD < limit -500.00 USD",
        lambda: _fleet(daily_pnl=-120.0),
        "USD total daily P&L -120.00 USD back within limit -500.00 USD",
        cfg={"fleet": {"min_daily_pnl": {"USD": -500}}},
    ),
    "fleet_max_drawdown": Case(
        f"fleet_max_drawdown|{safety_catalog.FLEET_SCOPE}|currency=USD",
        lambda: _fleet(drawdown=0.25),
        "USD total drawdown 25.00% > limit 20.00%",
        lambda: _fleet(drawdown=0.05),
        "USD total drawdown 5.00% back within limit 20.00%",
        cfg={"fleet": {"max_drawdown": 0.2}},
    ),
    "fleet_max_exposure": Case(
        f"fleet_max_exposure|{safety_catalog.FLEET_SCOPE}|currency=USD",
        lambda: _fleet(exposure_gross=900.0),
        "USD total gross exposure 900.00 USD > limit 500.00 USD",
        lambda: _fleet(exposure_gross=400.0),
        "USD total gross exposure 400.00 USD back within limit 500.00 USD",
        cfg={"fleet": {"max_exposure": 500}},
    ),
}
CASES: dict[str, Case] = {
    "max_latency_ms": Case(
        "max_latency_ms|b1",
        lambda: _doc(latency_ms={"count": 9, "p95": 812.0}),
        "latency p95 812 ms > limit 500 ms",
        lambda: _doc(latency_ms={"count": 9, "p95": 120.0}),
        "latency p95 120 ms back within limit 500 ms",
    ),
    "min_daily_pnl": Case(
        "min_daily_pnl|b1",
        lambda: _doc(daily_pnl=-612.4),
        "daily P&L -612.40 USD < limit -500.00 USD",
        lambda: _doc(daily_pnl=-80.0),
        "daily P&L -80.00 USD back within limit -500.00 USD",
    ),
    "max_drawdown": Case(
        "max_drawdown|b1",
        lambda: _doc(drawdown=0.124),
        "drawdown 12.40% > limit 10.00%",
        lambda: _doc(drawdown=0.081),
        "drawdown 8.10% back within limit 10.00%",
    ),
    "max_errors_5m": Case(
        "max_errors_5m|b1",
        lambda: _doc(errors={"last_5m": 29}),
        "29 errors in 5 min > limit 20",
        lambda: _doc(errors={"last_5m": 3}),
        "3 errors in 5 min, back within limit 20",
    ),
    "kill_switch": Case(
        "kill_switch|b1",
        lambda: _doc(health={"kill_switch": "triggered"}),
        "kill switch TRIGGERED (was armed)",
        lambda: _doc(health={"kill_switch": "armed"}),
        "kill switch armed again",
        before=lambda: _doc(health={"kill_switch": "armed"}),
    ),
    "circuit_breaker": Case(
        "circuit_breaker|b1",
        lambda: _doc(health={"circuit_breaker": "open"}),
        "circuit breaker OPEN (was closed)",
        lambda: _doc(health={"circuit_breaker": "closed"}),
        "circuit breaker closed again",
        before=lambda: _doc(health={"circuit_breaker": "closed"}),
    ),
    "api_down": Case(
        "api_down|b1|api=binance",
        lambda: _doc(health={"apis": {"binance": "down"}}),
        "API binance DOWN",
        lambda: _doc(health={"apis": {"binance": "up"}}),
        "API binance up again",
    ),
    "api_down_critical": Case(
        "api_down_critical|b1|api=binance",
        lambda: _doc(health={"apis": {"binance": "down"}}),
        "API binance DOWN for over 2 min 00 s",
        lambda: _doc(health={"apis": {"binance": "degraded"}}),
        "API binance degraded (no longer down)",
    ),
    "critical_error": Case(
        "critical_error|b1",
        lambda: _doc(errors={"last_critical": CRIT}),
        "critical error in exchange: order book lost",
        lambda: _doc(errors={"last_critical": CRIT}),
        "no new critical error for 5 min 00 s",
        clear_after_s=300.0,
    ),
    "stale": Case(
        "stale|b1",
        lambda: _doc(last_event_age_s=81.0, stale=True),
        "stale: no event for 1 min 21 s (limit 30 s)",
        lambda: _doc(last_event_age_s=0.4),
        "publishing again: last event 0.4 s ago",
    ),
    "events_lost": Case(
        "events_lost|b1",
        lambda: _doc(events={"lost": 12}),
        "12 events lost (gaps in the bot's sequence)",
        lambda: _doc(events={"lost": 12}),
        "no further event lost for 5 min 00 s (12 lost in total)",
        clear_after_s=300.0,
    ),
    "position_mismatch": Case(
        "position_mismatch|b1",
        lambda: _doc(position_mismatches=3),
        "3 position mismatches between snapshot and fills",
        lambda: _doc(position_mismatches=3),
        "no new position mismatch for 5 min 00 s (3 in total)",
        clear_after_s=300.0,
    ),
    "too_many_bots": Case(
        f"too_many_bots|{catalog.MONITOR}",
        lambda: _monitor(refused=4),
        "bot cap reached: 4 messages of new bots refused (limits.max_bots);"
        " raise the cap or forget bots that are gone",
        lambda: _monitor(refused=4),
        "no new bot refused for 5 min 00 s",
        clear_after_s=300.0,
    ),
    "too_many_alerts": Case(
        "too_many_alerts|b1",
        lambda: _doc(),
        "6 more conditions than a bot may hold as alerts (20), not alerted one by one:"
        " r19, r20, r21, r22, r23, r24; see the dashboard",
        lambda: _doc(),
        "at most 20 conditions again: each one alerted on its own",
        cfg={"rules": _MANY},
    ),
    "journal_failing": Case(
        f"journal_failing|{catalog.MONITOR}",
        lambda: _monitor(journal="cannot write the journal: No space left on device"),
        "state journal failing: cannot write the journal: No space left on device;"
        " the state is kept in memory only",
        lambda: _monitor(),
        "state journal writing again",
    ),
    **SAFETY_CASES,
}


def _rules(case: Case) -> RuleSet:
    cfg = {"thresholds": {"min_daily_pnl": -500}, **case.cfg}
    return RuleSet(settings(**cfg), stale_after_s=STALE_AFTER_S)


def _fire_and_clear(case: Case) -> tuple[Any, str | None, RuleSet]:
    """(the firing observation, the all-clear, the rules) of one case."""
    rules = _rules(case)
    if case.before is not None:
        rules.evaluate(case.before(), T0 - 5)
    active = rules.evaluate(case.fire(), T0).active
    assert case.key in active, sorted(active)
    obs = active[case.key]
    if case.key.startswith("too_many_alerts"):  # the fix is fewer conditions: the custom rules go
        rules = RuleSet(settings(thresholds={"min_daily_pnl": -500}), stale_after_s=STALE_AFTER_S)
    later = rules.evaluate(case.clear(), T0 + case.clear_after_s).active
    assert case.key not in later  # the condition cleared ...
    return obs, rules.all_clear(obs.rule, obs.bot, obs.labels, case.clear()), rules


def _payload(obs: Any, kind: str, all_clear: str | None = None) -> dict[str, Any]:
    """A notification payload as the engine freezes it into the outbox (alerts.engine.payload)."""
    return {
        "alert_id": "a1",
        "kind": kind,
        "severity": obs.severity,
        "rule": obs.rule,
        "title": catalog.title(obs.rule),
        "bot": obs.bot,
        "labels": dict(obs.labels),
        "summary": obs.summary,
        "resolved_summary": all_clear,
        "value": obs.value,
        "threshold": obs.threshold,
        "op": obs.op,
        "since": T0,
        "fired_at": T0,
        "resolved_at": T0 + 81 if kind == "resolved" else None,
        "acked_by": None,
        "now": T0 + 81,
    }


# ---- every rule of the catalog, firing and resolved ------------------------------------------
def test_every_rule_of_the_catalog_has_a_text_case() -> None:
    rules = {t.name for t in catalog.THRESHOLDS} | {n for e in catalog.EVENTS for n in e.rule_names}
    rules |= {r.name for r in safety_catalog.SAFETY} | {
        safety_catalog.FLEET_PREFIX + r.name for r in safety_catalog.FLEET
    }
    assert rules == set(CASES), "a rule without a text case: add it to CASES"


@pytest.mark.parametrize("rule", sorted(set(catalog.TITLES) - {catalog.TEST_RULE}))
def test_a_rule_fires_and_resolves_with_its_fact_in_words(rule: str) -> None:
    case = CASES[rule]
    obs, all_clear, _ = _fire_and_clear(case)
    assert (obs.rule, obs.summary) == (rule, case.fired)
    assert all_clear == case.cleared


@pytest.mark.parametrize("rule", sorted(CASES))
def test_the_headlines_name_the_state_the_bot_and_the_fact_once(rule: str) -> None:
    case = CASES[rule]
    obs, all_clear, _ = _fire_and_clear(case)
    who = {catalog.MONITOR: "monitor", safety_catalog.FLEET_SCOPE: "all bots"}.get(obs.bot, "b1")
    sev = obs.severity.upper()
    firing, resolved = _payload(obs, "firing"), _payload(obs, "resolved", all_clear)
    assert messages.headline(firing) == f"[{sev}] FIRING {who}: {case.fired}"
    assert messages.headline(resolved) == f"[{sev}] RESOLVED {who}: {case.cleared}"
    details = "\n".join(messages.detail_lines(resolved))
    assert f"rule: {catalog.title(rule)}" in details and f"last seen firing: {case.fired}" in details
    assert "(monitor)" not in messages.headline(firing)  # the monitor's scope reads as a word
    for p in (firing, resolved):  # the id of a rule is no name for a human
        assert rule not in messages.headline(p) or rule in ("stale",)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_no_value_is_repeated_in_a_headline(rule: str) -> None:
    obs, _, _ = _fire_and_clear(CASES[rule])
    text = messages.headline(_payload(obs, "firing"))
    assert "[" not in text[text.index("]") :]  # no "[value threshold]" tail
    for number in {w for w in text.replace(",", "").split() if w.replace(".", "").isdigit()}:
        if number not in ("0", "1"):
            assert text.split().count(number) == 1, f"{number} twice in {text!r}"


# ---- custom rules (alerts.rules in settings) ----------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "firing_bot", "fired", "clear_bot", "cleared"),
    [
        (
            {"name": "big_exposure", "metric": "exposure_gross", "op": ">=", "value": 1_000_000},
            {"exposure_gross": 2_500_000.0},
            "gross exposure 2,500,000.00 USD >= limit 1,000,000.00 USD",
            {"exposure_gross": 900_000.0},
            "gross exposure 900,000.00 USD back within limit 1,000,000.00 USD",
        ),
        (
            {"name": "slow_submit", "metric": "latency_ms.by_op.submit.p95", "op": ">", "value": 250},
            {"latency_ms": {"by_op": {"submit": SUBMIT}}},
            "latency of submit p95 400 ms > limit 250 ms",
            {},
            "latency of submit p95 back within limit 250 ms (no data now)",
        ),
        (
            {"name": "losing_streak", "metric": "win_rate", "op": "<", "value": 0.4},
            {"win_rate": 0.25},
            "win rate 25.00% < limit 40.00%",
            {"win_rate": 0.5},
            "win rate 50.00% back within limit 40.00%",
        ),
        (
            {"name": "silent", "metric": "stale", "op": "==", "value": True},
            {"stale": True},
            "stale is true",
            {"stale": False},
            "stale no longer true (now false)",
        ),
        (
            {"name": "breaker_not_closed", "metric": "health.circuit_breaker", "op": "!=", "value": "closed"},
            {"health": {"circuit_breaker": "half_open"}},
            "circuit breaker is half-open, not closed",
            {"health": {"circuit_breaker": "closed"}},
            "circuit breaker back to closed",
        ),
        (
            {"name": "many_trades", "metric": "closed_trades", "op": ">", "value": 3},
            {"closed_trades": 5},
            "5 closed trades > limit 3",
            {"closed_trades": 2},
            "2 closed trades, back within limit 3",
        ),
    ],
)
def test_a_custom_rule_reads_like_the_cards_under_its_own_name(
    rule: dict, firing_bot: dict, fired: str, clear_bot: dict, cleared: str
) -> None:
    rules = RuleSet(settings(rules=[rule], events={"stale": False}), stale_after_s=STALE_AFTER_S)
    obs = rules.evaluate(_doc(**firing_bot), T0).active[f"{rule['name']}|b1"]
    assert obs.summary == fired
    assert rules.all_clear(obs.rule, "b1", (), _doc(**clear_bot)) == cleared
    assert messages.rule_title({"rule": rule["name"]}) == rule["name"]  # its own name, as written
    assert messages.headline(_payload(obs, "resolved", cleared)).endswith(f"RESOLVED b1: {cleared}")


def test_money_without_a_currency_has_two_decimals_and_no_unit() -> None:
    rules = RuleSet(settings(thresholds={"min_daily_pnl": -500}), stale_after_s=STALE_AFTER_S)
    doc = metrics_doc({"b1": bot_metrics(daily_pnl=-612.4)})
    assert rules.evaluate(doc, T0).active["min_daily_pnl|b1"].summary == "daily P&L -612.40 < limit -500.00"


# ---- the restart notes and the other states ---------------------------------------------------
def test_the_restart_words_keep_their_meaning_and_read_as_a_sentence() -> None:
    obs, all_clear, _ = _fire_and_clear(CASES["max_drawdown"])
    after = {"stopped_at": T0 + 10, "restarted_at": T0 + 70}
    outage = _payload(obs, "resolved", all_clear) | {"after_restart": {"why": "outage", **after}}
    assert messages.headline(outage) == (
        "[CRITICAL] RESOLVED (while the monitor was down) b1: drawdown 8.10% back within limit 10.00%"
    )
    unknown = _payload(obs, "resolved") | {"after_restart": {"why": "unknown_bot", **after}}
    assert messages.headline(unknown) == (
        "[CRITICAL] RESOLVED UNVERIFIED b1: not checked again: no data of this bot since the monitor"
        " restarted; last known: drawdown 12.40% > limit 10.00%"
    )
    assert any(line.startswith("NOT VERIFIED: ") for line in messages.detail_lines(unknown))
    forgotten = _payload(obs, "resolved") | {"after_restart": {"why": "forgotten"}}
    assert messages.headline(forgotten) == (
        "[CRITICAL] CLOSED b1: bot forgotten by the operator; last known: drawdown 12.40% > limit 10.00%"
    )


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        ("repeat", "STILL FIRING"),
        ("escalation", "ESCALATED"),
        ("failover", "FIRING (failover: no channel confirmed it)"),
    ],
)
def test_repeats_escalations_and_failovers_restate_the_fact(kind: str, word: str) -> None:
    obs, _, _ = _fire_and_clear(CASES["circuit_breaker"])
    assert (
        messages.headline(_payload(obs, kind)) == f"[CRITICAL] {word} b1: circuit breaker OPEN (was closed)"
    )


def test_a_resolve_without_words_from_an_older_monitor_still_says_what_was_firing() -> None:
    obs, _, _ = _fire_and_clear(CASES["max_drawdown"])
    old = _payload(obs, "resolved") | {"resolved_summary": None}
    assert messages.what(old) == "condition no longer holds; last seen: drawdown 12.40% > limit 10.00%"


def test_durations_and_values_read_like_the_cards() -> None:
    assert [messages.duration(s) for s in (0.4, 9.95, 12.7, 60, 81, 3600, 7380, 90000)] == [
        "0.4 s",
        "9.9 s",
        "12 s",
        "1 min 00 s",
        "1 min 21 s",
        "1 h 00 min",
        "2 h 03 min",
        "1 d 01 h",
    ]
    assert messages.shown(0.1, "pct") == "10.00%" and messages.shown(0.1234, "pct") == "12.34%"
    assert messages.shown(812.4, "ms") == "812 ms" and messages.shown(12.34, "ms") == "12.3 ms"
    assert messages.shown(-500, "money", "EUR") == "-500.00 EUR"
    assert messages.shown(None, "ms") == "no data" and messages.shown(float("nan"), "pct") == "n/a"


# ---- severity order: critical first in every list sent ------------------------------------------
def _mixed() -> list[dict[str, Any]]:
    """A warning and an info that fired before the critical alert, in that order."""
    out = []
    for i, (sev, rule, what) in enumerate(
        [
            ("warning", "max_latency_ms", "latency p95 812 ms > limit 500 ms"),
            ("info", "r01", "5 closed trades > limit 3"),
            ("critical", "circuit_breaker", "circuit breaker OPEN (was closed)"),
        ]
    ):
        out.append(
            {
                "alert_id": f"a{i}",
                "kind": "firing",
                "severity": sev,
                "rule": rule,
                "bot": f"bot{i}",
                "summary": what,
                "fired_at": T0 + i,
                "now": T0 + 10,
            }
        )
    return out


def _positions(text: str) -> list[int]:
    return [text.index(w) for w in ("circuit breaker OPEN", "latency p95 812 ms", "5 closed trades")]


def test_a_multi_alert_message_lists_critical_first_in_every_channel() -> None:
    ps = _mixed()
    assert [p["severity"] for p in messages.ordered(ps)] == ["critical", "warning", "info"]
    assert messages.subject(ps) == (
        "3 alerts (1 critical, 1 warning, 1 info): [CRITICAL] FIRING bot2: circuit breaker OPEN (was closed)"
    )
    texts = {
        "plain": messages.plain_text(ps, "http://d"),
        "slack": "\n".join(b["text"]["text"] for b in slack.message(ps, "http://d")["blocks"][1:-1]),
        "telegram": telegram.message(ps, "http://d"),
        "email html": email.message(ps, "http://d")[2],
    }
    for name, text in texts.items():
        where = _positions(text)
        assert where == sorted(where), f"{name}: not critical, warning, info"
    assert sms.message(ps, "http://d").startswith(
        "3 alerts (1 critical, 1 warning, 1 info). First: FIRING bot2: circuit breaker OPEN"
    )


def test_bot_text_stays_text_in_slack_and_telegram() -> None:
    p = _mixed()[2] | {"summary": "critical error in <b>x</b>: *bold* <!channel> & co"}
    blocks = slack.message([p], "http://d")["blocks"]
    body = blocks[0]["text"]["text"]
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body and "\u200b*\u200bbold" in body
    tg = telegram.message([p], "http://d")
    assert "&lt;b&gt;x&lt;/b&gt;" in tg and "<b>x</b>" not in tg
