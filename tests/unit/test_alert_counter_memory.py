"""Counter rules' memory: what the engine saves and hands back, so a restart is not a "move".

Pure: RuleSet and typed documents, no SQLite (the round trip through the file is
tested in tests/integration/test_alert_restart.py).
"""

from __future__ import annotations

import json

from alerts.alert_store import tuples as _tuples
from alerts.rules import RuleSet
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc

CRIT = {"ts": 5.0, "component": "exchange", "severity": "critical", "message": "boom"}


def _rules() -> RuleSet:
    return RuleSet(settings(events={"counter_hold_s": 60, "critical_error_hold_s": 60}), stale_after_s=10)


def _doc(lost: int = 0, crit: dict | None = None):
    return metrics_doc({"b": bot_metrics(events={"lost": lost}, errors={"last_critical": crit})})


def _saved(rs: RuleSet) -> dict:
    """The memory as the outbox stores and loads it (JSON, lists back to tuples)."""
    return {k: (_tuples(json.loads(json.dumps(v))), at) for k, (v, at) in rs.take_memory().items()}


def test_memory_handed_to_a_new_rule_set_makes_an_unchanged_counter_no_move():
    a = _rules()
    assert set(a.evaluate(_doc(3, CRIT), 10).active) == {"events_lost|b", "critical_error|b"}
    assert set(a.evaluate(_doc(3, CRIT), 100).active) == set()  # quiet for the hold: resolved
    b = _rules()
    b.adopt_memory(_saved(a))
    assert b.evaluate(_doc(3, CRIT), 200).active == {}
    assert "events_lost|b" in b.evaluate(_doc(4, CRIT), 201).active  # a real move still fires


def test_without_memory_the_same_counter_is_a_move():
    fresh = _rules()
    assert set(fresh.evaluate(_doc(3, CRIT), 200).active) == {"events_lost|b", "critical_error|b"}


def test_a_firing_counter_keeps_its_hold_from_the_saved_move():
    a = _rules()
    a.evaluate(_doc(3), 10)
    b = _rules()
    b.adopt_memory(_saved(a))
    assert "events_lost|b" in b.evaluate(_doc(3), 69).active
    assert b.evaluate(_doc(3), 70).active == {}


def test_only_changed_entries_are_taken_and_a_failed_save_offers_them_again():
    rs = _rules()
    rs.evaluate(_doc(3), 10)
    taken = rs.take_memory()
    assert set(taken) == {("events_lost", "b")}
    rs.evaluate(_doc(3), 11)
    assert rs.take_memory() == {}
    rs.remember_unsaved(taken)
    assert rs.take_memory() == taken


def test_a_counter_that_went_down_is_remembered_but_is_not_a_move():
    rs = _rules()
    rs.evaluate(_doc(5), 10)
    rs.evaluate(_doc(5), 100)
    assert rs.evaluate(_doc(2), 110).active == {}  # fewer lost (state lost, or recovered later)
    assert "events_lost|b" in rs.evaluate(_doc(3), 120).active  # then up again: a move


def test_seeding_takes_current_counters_as_seen_once():
    rs = _rules()
    rs.adopt_memory({}, seed=lambda rule, bot: 50.0 if rule == "events_lost" else None)
    assert set(rs.evaluate(_doc(3, CRIT), 60).active) == {"events_lost|b"}  # held from 50, not a move
    assert rs.evaluate(_doc(3, CRIT), 110).active == {}
    assert "critical_error|b" in rs.evaluate(_doc(3, dict(CRIT, ts=6.0)), 111).active  # no more seeding
