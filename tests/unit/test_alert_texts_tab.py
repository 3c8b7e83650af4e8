"""The Alerts tab's rows: severity first, human names, the fact once, times in the configured zone.

Pure: an alert snapshot (what the alert service publishes) in, the rows the page
renders out; the Rules table from settings and a metrics document.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from alerts import catalog
from alerts.read_model import ActiveAlert, ChannelResult, HistoryEntry
from alerts.snapshot import AlertSnapshot
from app.dashboard.alerts_sections import active_section, history_section, rules_rows
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc

NOW = 1_764_108_000.0  # 2025-11-25 22:00:00 UTC
TOKYO = ZoneInfo("Asia/Tokyo")


def _alert(i: int, severity: str, rule: str, summary: str, since: float, **over: Any) -> ActiveAlert:
    doc = {
        "alert_id": f"a{i}",
        "key": f"{rule}|b{i}",
        "rule": rule,
        "bot": f"b{i}",
        "severity": severity,
        "status": "firing",
        "since": since,
        "summary": summary,
        "value": 29.0,
        "threshold": 20.0,
        "op": ">",
        "escalations": 0,
        "policy": {"escalate": [{"after_s": 300, "channels": ["sms"]}]},
        **over,
    }
    return ActiveAlert(**doc, delivered=("slack",))


def _snapshot() -> AlertSnapshot:
    """A warning and an info older than the critical alert, and a pending critical one."""
    return AlertSnapshot(
        active=(
            _alert(1, "warning", "max_errors_5m", "29 errors in 5 min > limit 20", NOW - 600),
            _alert(2, "info", "closed_trades_cap", "5 closed trades > limit 3", NOW - 900),
            _alert(3, "critical", "circuit_breaker", "circuit breaker OPEN (was closed)", NOW - 60),
            _alert(
                4, "critical", "stale", "stale: no event for 40 s (limit 30 s)", NOW - 90, status="pending"
            ),
            _alert(
                5,
                "critical",
                "journal_failing",
                "state journal failing: disk full",
                NOW - 30,
                bot="(monitor)",
            ),
        )
    )


def test_the_active_alerts_are_listed_by_severity_then_firing_then_age() -> None:
    rows = active_section(_snapshot(), ZoneInfo("UTC"), NOW)["rows"]
    assert [(r["sev"], r["id"]) for r in rows] == [
        ("critical", "a3"),
        ("critical", "a5"),
        ("critical", "a4"),  # pending: after the firing ones of its severity
        ("warning", "a1"),
        ("info", "a2"),
    ]


def test_an_active_row_names_the_rule_and_states_the_fact_once() -> None:
    rows = {r["id"]: r for r in active_section(_snapshot(), ZoneInfo("UTC"), NOW)["rows"]}
    row = rows["a1"]
    assert (row["rule"], row["what"]) == ("Max errors in 5 min", "29 errors in 5 min > limit 20")
    assert "value" not in row and "threshold" not in row  # no "[29 > 20]" tail to repeat the fact
    assert rows["a2"]["rule"] == "closed_trades_cap"  # a custom rule is called by its own name
    assert (rows["a5"]["bot"], rows["a5"]["who"]) == (catalog.MONITOR, "monitor")
    assert row["esc"] == "0 of 1 step" and row["delivered"] == "slack" and row["ackable"] is True


def test_times_are_in_the_configured_zone_with_the_zone_and_the_date_when_not_today() -> None:
    evening = AlertSnapshot(active=(_alert(1, "warning", "stale", "x", NOW - 8 * 3600),))  # 14:00 UTC
    row = active_section(evening, ZoneInfo("UTC"), NOW)["rows"][0]
    assert row["since"] == "14:00:00 UTC"  # today in UTC: the time and its zone
    row = active_section(evening, TOKYO, NOW)["rows"][0]
    assert row["since"] == "25 Nov 23:00:00 JST"  # it is 26 Nov 07:00 in Tokyo: yesterday, so dated
    acked = _alert(6, "warning", "stale", "x", NOW - 5, acked_at=NOW - 86400 * 2, acked_by="dashboard")
    row = active_section(AlertSnapshot(active=(acked,)), TOKYO, NOW)["rows"][0]
    assert row["status"] == "acknowledged" and row["acked"] == "by dashboard at 24 Nov 07:00:00 JST"


def _entry(at: float, bot: str, **over: Any) -> HistoryEntry:
    fields: dict[str, Any] = {
        "key": f"a:{at}",
        "alert_id": "a",
        "kind": "alert",
        "event": "firing",
        "state": "FIRING",
        "created_at": at,
        "severity": "critical",
        "bot": bot,
        "rule": "circuit_breaker",
        "title": "Circuit breaker",
        "summary": "circuit breaker OPEN (was closed)",
        "what": "circuit breaker OPEN (was closed)",
        "channels": {},
    }
    return HistoryEntry(**{**fields, **over})


def test_history_rows_state_what_each_notification_said_newest_first() -> None:
    entries = (
        _entry(
            NOW - 10,
            "b1",
            event="resolved",
            state="RESOLVED",
            what="circuit breaker closed again",
            channels={"slack": ChannelResult(state="delivered")},
        ),
        _entry(NOW - 100, "b1"),
    )
    rows = history_section(AlertSnapshot(history=entries), TOKYO, NOW)["rows"]
    assert [(r["kind"], r["rule"], r["what"]) for r in rows] == [
        ("RESOLVED", "Circuit breaker", "circuit breaker closed again"),
        ("FIRING", "Circuit breaker", "circuit breaker OPEN (was closed)"),
    ]
    assert rows[0]["t"] == "06:59:50 JST"


def test_a_history_row_names_the_operator_who_caused_it() -> None:
    entries = (
        _entry(NOW - 10, "b1", event="resolved", state="RESOLVED", what="bot forgotten", by="telegram:12345"),
        _entry(NOW - 100, "b1"),
    )
    rows = history_section(AlertSnapshot(history=entries), TOKYO, NOW)["rows"]
    assert [r["what"] for r in rows] == [
        "bot forgotten (by telegram:12345)",
        "circuit breaker OPEN (was closed)",  # what the rules sent on their own names nobody
    ]


def test_the_history_filter_names_the_monitor_as_a_human_reads_it() -> None:
    entries = tuple(_entry(NOW - i, bot) for i, bot in enumerate(("b1", catalog.MONITOR)))
    bots = history_section(AlertSnapshot(history=entries), TOKYO, NOW)["bots"]
    assert bots == [[catalog.MONITOR, "monitor"], ["b1", "b1"]]  # [value the rows carry, name shown]


def test_the_rules_table_shows_values_like_the_cards() -> None:
    cfg = settings(
        thresholds={"min_daily_pnl": -500, "max_latency_ms": {"value": 250, "for": 90}},
        rules=[{"name": "big_exposure", "metric": "exposure_gross", "op": ">", "value": 1_000_000}],
    )
    bots = {
        "b1": bot_metrics(currency="USD", drawdown=0.124, daily_pnl=-612.4, exposure_gross=2_500_000.0),
        "b2": bot_metrics(drawdown=0.0, latency_ms={"count": 3, "p95": 812.0}),
    }
    rows = {r[0]: r for r in rules_rows(cfg, 30.0, metrics_doc(bots))}
    assert rows["Max drawdown"][1] == "drawdown > 10.00%"
    assert rows["Max drawdown"][5] == "b1: 12.40%, b2: 0.00%"
    assert rows["Max latency"][1:3] == ["latency p95 > 250 ms", "1 min 30 s"]
    assert rows["Max latency"][5] == "b1: no data, b2: 812 ms"
    assert rows["Min daily P&L"][1] == "daily P&L < -500.00"
    assert rows["Min daily P&L"][5] == "b1: -612.40 USD, b2: 0.00"  # each bot's own currency
    assert rows["big_exposure"][1] == "gross exposure > 1,000,000.00"
    assert rows["Bot stale"][1] == "last event age > 30 s"
    assert rows["Max errors in 5 min"][1] == "errors in 5 min > 20"
