"""The settings form: switches that say their state, thresholds kept while off, the timezone."""

from __future__ import annotations

from typing import Any

import pytest

from app.dashboard import form_checks, form_fields, form_parse, form_render
from app.dashboard.alerts_commands import save_remarks, save_tone
from app.settings_changes import DELETE


def submit(doc: dict, **typed: Any) -> form_parse.Parsed:
    """Every field as shown for ``doc``, with ``typed`` over it (``thr__x__value`` = ``thr.x.value``)."""
    values = {f.key: f.value for f in form_fields.fields(doc, None)}
    values.update({k.replace("__", "."): v for k, v in typed.items()})
    return form_parse.parse(values, doc)


DOC: dict = {"alerts": {"thresholds": {"max_latency_ms": 500}}}


def test_a_threshold_typed_with_its_rule_on_is_saved_without_a_note() -> None:
    parsed = submit(DOC, thr__min_daily_pnl__value="-500", thr__min_daily_pnl__enabled=True)
    assert parsed.errors == {} and parsed.notes == {}
    assert (("alerts", "thresholds", "min_daily_pnl"), -500) in parsed.changes


def test_a_threshold_kept_with_its_rule_off_is_saved_disabled_and_says_so() -> None:
    parsed = submit(DOC, thr__min_daily_pnl__value="-500")  # the switch left off
    assert (("alerts", "thresholds", "min_daily_pnl"), {"value": -500, "enabled": False}) in parsed.changes
    note = parsed.notes["thr.min_daily_pnl.value"]
    assert note == "Minimum daily P&L: the rule is off, so -500 is kept but not checked"
    remarks = save_remarks(parsed, "UTC")
    assert remarks == [f"Note: {note}."]
    assert save_tone(True, "Saved. " + " ".join(remarks)) == "warn"  # never a plain green "Saved"


def test_switching_a_rule_off_in_the_long_form_keeps_the_value_and_notes_it() -> None:
    doc = {"alerts": {"thresholds": {"max_errors_5m": {"value": 30, "for": 60}}}}
    parsed = submit(doc, thr__max_errors_5m__enabled=False)
    assert (("alerts", "thresholds", "max_errors_5m", "enabled"), False) in parsed.changes
    assert "30 is kept but not checked" in parsed.notes["thr.max_errors_5m.value"]
    on = submit(doc)
    assert (("alerts", "thresholds", "max_errors_5m", "enabled"), DELETE) in on.changes and on.notes == {}


def test_notes_are_dropped_with_the_changes_when_a_field_is_wrong() -> None:
    parsed = submit(DOC, thr__min_daily_pnl__value="-500", thr__max_drawdown__value="150%")
    assert parsed.errors and parsed.changes == [] and parsed.notes == {}


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  America/New_York ", "America/New_York"),
    ],
)
def test_the_timezone_is_saved_by_its_iana_name(typed: str, saved: str) -> None:
    parsed = submit({}, **{"metrics__timezone": typed})
    assert parsed.errors == {}
    assert (("metrics", "timezone"), saved) in parsed.changes
    assert save_remarks(parsed, "UTC") == [
        f"Timezone {saved} takes effect at the next start (until then: UTC)."
    ]


@pytest.mark.parametrize("typed", ["Mars/Olympus_Mons", "", "Europe/../etc/passwd", "CET; rm -rf"])
def test_a_timezone_that_is_not_a_zone_is_refused_next_to_its_field(typed: str) -> None:
    parsed = submit({}, **{"metrics__timezone": typed})
    assert set(parsed.errors) == {"metrics.timezone"} and parsed.changes == []


def test_the_timezone_in_force_is_not_rewritten_and_a_refusal_points_at_its_field() -> None:
    assert not [c for c in submit({}).changes if c[0] == ("metrics", "timezone")]  # UTC: the default
    doc = {"metrics": {"timezone": "Asia/Tokyo"}}
    assert not [c for c in submit(doc).changes if c[0] == ("metrics", "timezone")]
    assert form_parse.error_field("metrics.timezone", doc) == "metrics.timezone"


def test_the_timezone_field_says_when_it_takes_effect() -> None:
    assert form_render.timezone_note("UTC", "UTC").startswith("Takes effect at the next start")
    assert form_render.timezone_note("Europe/Berlin", "UTC").endswith("in force until then: UTC.")
    assert "Europe/Berlin" in form_checks.timezone_names() and "UTC" in form_checks.timezone_names()


def _find(node: Any, pred) -> list:
    """Every component under ``node`` (children and component-valued props) matching ``pred``."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list | tuple):
            stack.extend(n)
            continue
        if not hasattr(n, "to_plotly_json"):
            continue
        if pred(n):
            out.append(n)
        for prop in ("children", "label"):
            stack.append(getattr(n, prop, None))
    return out


def test_every_switch_is_rendered_with_the_words_of_its_state() -> None:
    doc = {
        "alerts": {"thresholds": {"max_latency_ms": 500, "min_daily_pnl": None}, "events": {"stale": False}}
    }
    tree = form_render.render(doc, None, "UTC")
    words = {
        n.id["key"]: n.children
        for n in _find(tree, lambda n: isinstance(getattr(n, "id", None), dict) and n.id.get("type") == "asw")
    }
    switches = [
        n for n in _find(tree, lambda n: isinstance(getattr(n, "id", None), dict) and n.id["type"] == "as")
    ]
    assert {s.id["key"] for s in switches} == set(words)  # every switch has its words
    assert words["thr.max_latency_ms.enabled"] == "on" and words["thr.min_daily_pnl.enabled"] == "off"
    assert words["ev.stale"] == "off" and words["ev.kill_switch"] == "on"
    for s in switches:
        assert words[s.id["key"]] == ("on" if s.value else "off")


def test_a_value_kept_in_an_off_rule_is_noted_under_its_field_as_the_form_opens() -> None:
    doc = {"alerts": {"thresholds": {"max_errors_5m": {"value": 30, "enabled": False}}}}
    tree = form_render.render(doc, None, "UTC")
    notes = {
        n.id["key"]: n.children
        for n in _find(tree, lambda n: isinstance(getattr(n, "id", None), dict) and n.id.get("type") == "ano")
    }
    assert notes["thr.max_errors_5m.value"] == "rule off: this value is kept but not checked"
    assert notes["thr.max_latency_ms.value"] == ""
