"""One source of defaults: the code's defaults are what settings.yaml shows; the rule table feeds the rest."""

from __future__ import annotations

from pathlib import Path

import msgspec

from alerts import catalog, messages, safety_catalog
from alerts.config import AlertsSettings, EventRules, Thresholds
from alerts.rules import RuleSet
from app.dashboard import form_fields, form_parse
from app.dashboard.alerts_sections import rules_rows
from app.settings import DEFAULT_PATH, Settings, load_settings


def _plain(s: Settings) -> dict:
    doc = msgspec.to_builtins(s)
    doc.pop("source")
    return doc


def test_an_empty_file_and_the_shipped_file_give_the_same_settings(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert _plain(load_settings(empty, env={})) == _plain(load_settings(DEFAULT_PATH, env={}))


def test_safety_rules_are_on_without_any_settings() -> None:
    rules = RuleSet(AlertsSettings(), stale_after_s=10.0)
    on_by_default = {t.name for t in catalog.THRESHOLDS if t.default is not None}
    assert {c.rule for c in rules.checks} == on_by_default
    assert {"max_latency_ms", "max_drawdown", "max_errors_5m"} <= on_by_default  # the safety net itself
    assert {"kill_switch", "circuit_breaker", "stale", "critical_error"} <= rules.rule_names()
    t = AlertsSettings().thresholds
    assert (t.max_latency_ms, t.max_drawdown, t.max_errors_5m, t.min_daily_pnl) == (500.0, 0.10, 20.0, None)


def test_the_rule_table_defines_the_settings_fields() -> None:
    assert [t.name for t in catalog.THRESHOLDS] == [
        n for n in Thresholds.__struct_fields__ if n != "latency_stat"
    ]
    assert {e.name for e in catalog.EVENTS} <= set(EventRules.__struct_fields__)
    for t in catalog.THRESHOLDS:
        assert getattr(Thresholds(), t.name) == t.default
    for e in catalog.EVENTS:
        assert getattr(EventRules(), e.name) is e.default


def test_form_and_rules_table_list_every_rule_of_the_table() -> None:
    keys = {f.key for f in form_fields.fields({}, None)}
    assert {f"thr.{t.name}.value" for t in catalog.THRESHOLDS} <= keys
    assert {f"ev.{e.name}" for e in catalog.EVENTS} <= keys
    rows = rules_rows(AlertsSettings(), 10.0, None)  # no metrics yet
    safety = [r.title for r in safety_catalog.SAFETY] + [r.shown for r in safety_catalog.FLEET]
    assert [r[0] for r in rows] == [t.shown for t in catalog.THRESHOLDS] + [
        e.shown for e in catalog.EVENTS
    ] + safety
    row = {r[0]: r for r in rows}
    assert row["Max latency"][:2] == ["Max latency", "latency p95 > 500 ms"]
    assert row["Max latency"][3:5] == ["warning", "on"]
    # a fraction reads as a percentage
    assert row["Max drawdown"][:2] == ["Max drawdown", "drawdown > 10.00%"]


def test_the_form_shows_the_code_defaults_for_an_empty_file() -> None:
    shown = {f.key: f.value for f in form_fields.fields({}, None)}
    assert shown["thr.max_latency_ms.value"] == "500" and shown["thr.max_latency_ms.enabled"] is True
    assert shown["thr.max_drawdown.value"] == "0.1" and shown["thr.min_daily_pnl.enabled"] is False
    assert shown["stale_after_s"] == "10" and shown["route.critical.repeat"] == "900"
    assert shown["route.info.repeat"] == ""
    assert form_parse.parse(shown, {}).changes == []  # what is shown is what is in force: nothing to write


def test_switching_off_a_rule_the_file_leaves_out_writes_null() -> None:
    shown = {f.key: f.value for f in form_fields.fields({}, None)}
    shown.update({"thr.max_drawdown.value": "", "thr.max_drawdown.enabled": False})
    assert form_parse.parse(shown, {}).changes == [(("alerts", "thresholds", "max_drawdown"), None)]


def test_severity_order_is_the_catalog_order() -> None:
    assert catalog.SEVERITIES == ("info", "warning", "critical")
    assert catalog.URGENT_FIRST == ("critical", "warning", "info")
    ps = [{"severity": s, "fired_at": 1.0} for s in ("info", "bogus", "critical", "warning")]
    assert [p["severity"] for p in messages.ordered(ps)] == ["critical", "warning", "info", "bogus"]
    assert catalog.rank("critical") > catalog.rank("warning") > catalog.rank("info") > catalog.rank("bogus")
