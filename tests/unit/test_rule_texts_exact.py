"""The exact words and fields of the alerts a trader reads that the per-rule cases leave open.

``test_alert_texts.py`` walks each rule once through fire and resolve; this file pins
what varies with the figures: singular and plural ("1 message" / "2 messages"), the
aggregated API alert's resolve (``api=*``: how many APIs are down now), the resolve of
a switch or API whose state is no longer reported, and the value / threshold / op the
monitor-scoped alerts carry into every channel and the Alerts tab.  It also pins the
restart promise of the bot-cap counter: a refusal count a previous run already saw is
not a new move after a restart (docs/alerts.md, "Counter rules ... take back their memory").
Pure: typed metrics documents in, rule evaluation out.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from alerts import catalog
from alerts.rules import RuleSet
from core.documents import MetricsDocument
from core.monitor_documents import JournalStatus, PersistenceStatus
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc

T0 = 1_700_000_000.0
BOT_CAP = f"too_many_bots|{catalog.MONITOR}"
JOURNAL = f"journal_failing|{catalog.MONITOR}"


def _rules() -> RuleSet:
    return RuleSet(settings(), stale_after_s=30.0)


def _doc(**over: Any) -> MetricsDocument:
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


# ---- the bot cap: plural, fields, restart ------------------------------------------------------
@pytest.mark.parametrize(
    ("refused", "words"),
    [(1, "1 message"), (2, "2 messages"), (1234, "1,234 messages")],
)
def test_the_bot_cap_alert_counts_the_refused_messages_in_singular_and_plural(
    refused: int, words: str
) -> None:
    obs = _rules().evaluate(_monitor(refused=refused), T0).active[BOT_CAP]
    assert obs.summary == (
        f"bot cap reached: {words} of new bots refused (limits.max_bots);"
        " raise the cap or forget bots that are gone"
    )
    assert (obs.value, obs.threshold, obs.op) == (refused, 0, ">")


def test_a_bot_cap_count_the_previous_run_saw_is_not_a_new_move_after_a_restart() -> None:
    first = _rules()
    assert BOT_CAP in first.evaluate(_monitor(refused=4), T0).active
    memory = first.take_memory()
    assert memory == {("too_many_bots", catalog.MONITOR): (4, T0)}
    quiet = {key: (value, None) for key, (value, _) in memory.items()}  # its hold has passed
    restarted = _rules()
    restarted.adopt_memory(quiet)
    assert BOT_CAP not in restarted.evaluate(_monitor(refused=4), T0 + 600).active
    assert BOT_CAP in restarted.evaluate(_monitor(refused=5), T0 + 601).active  # a new refusal


# ---- the journal: fields -------------------------------------------------------------------------
def test_the_journal_alert_carries_failing_against_ok() -> None:
    obs = _rules().evaluate(_monitor(journal="disk full"), T0).active[JOURNAL]
    assert (obs.value, obs.threshold, obs.op) == ("failing", "ok", "==")


# ---- resolves of switches and APIs no longer reported ---------------------------------------------
@pytest.mark.parametrize(
    ("rule", "labels", "health", "words"),
    [
        ("kill_switch", (), {"kill_switch": None}, "kill switch no longer triggered"),
        ("circuit_breaker", (), {"circuit_breaker": None}, "circuit breaker no longer open"),
        ("circuit_breaker", (), {"circuit_breaker": "open"}, "circuit breaker no longer open"),
        ("api_down", (("api", "binance"),), {"apis": {}}, "API binance no longer down"),
        ("api_down", (("api", "binance"),), {"apis": {"binance": "down"}}, "API binance no longer down"),
    ],
)
def test_the_resolve_of_a_state_not_reported_says_it_is_no_longer_in_alarm(
    rule: str, labels: tuple[tuple[str, str], ...], health: dict[str, Any], words: str
) -> None:
    assert _rules().all_clear(rule, "b1", labels, _doc(health=health)) == words


# ---- the aggregated API alert's resolve (api=*) ---------------------------------------------------
@pytest.mark.parametrize(
    ("apis", "words"),
    [
        ({"a": "up", "b": "degraded"}, "no API down any more"),
        ({}, "no API down any more"),
        ({"a": "down", "b": "up", "c": "degraded"}, "1 API down now, each with its own alert"),
        ({"a": "down", "b": "down", "c": "up"}, "2 APIs down now, each with its own alert"),
        ({f"x{i}": "down" for i in range(3)} | {"y": "up"}, "3 APIs down now, each with its own alert"),
    ],
)
@pytest.mark.parametrize("rule", ["api_down", "api_down_critical"])
def test_the_resolve_of_the_aggregated_api_alert_counts_the_apis_down_now(
    rule: str, apis: dict[str, str], words: str
) -> None:
    assert _rules().all_clear(rule, "b1", (("api", "*"),), _doc(health={"apis": apis})) == words


# ---- the counter rules: plural, fields, memory across a restart ----------------------------------
GAPS = "lost (gaps in the bot's sequence)"
CRIT = {"ts": T0, "component": "exchange", "severity": "critical", "message": "order book lost"}


@pytest.mark.parametrize(
    ("over", "key", "summary", "fields"),
    [
        ({"events": {"lost": 1}}, "events_lost|b1", f"1 event {GAPS}", (1, 0, ">")),
        ({"events": {"lost": 2}}, "events_lost|b1", f"2 events {GAPS}", (2, 0, ">")),
        (
            {"position_mismatches": 1},
            "position_mismatch|b1",
            "1 position mismatch between snapshot and fills",
            (1, 0, ">"),
        ),
        (
            {"position_mismatches": 2},
            "position_mismatch|b1",
            "2 position mismatches between snapshot and fills",
            (2, 0, ">"),
        ),
    ],
)
def test_a_counter_alert_counts_in_singular_and_plural(
    over: dict[str, Any], key: str, summary: str, fields: tuple[Any, ...]
) -> None:
    obs = _rules().evaluate(_doc(**over), T0).active[key]
    assert (obs.summary, (obs.value, obs.threshold, obs.op)) == (summary, fields)


@pytest.mark.parametrize(
    ("rule", "over"),
    [
        ("critical_error", {"errors": {"last_critical": CRIT}}),
        ("events_lost", {"events": {"lost": 12}}),
        ("position_mismatch", {"position_mismatches": 3}),
    ],
)
def test_a_counter_the_previous_run_saw_is_not_a_new_move_after_a_restart(
    rule: str, over: dict[str, Any]
) -> None:
    first = _rules()
    assert f"{rule}|b1" in first.evaluate(_doc(**over), T0).active
    memory = first.take_memory()
    assert (rule, "b1") in memory
    restarted = _rules()
    restarted.adopt_memory({key: (value, None) for key, (value, _) in memory.items()})
    assert f"{rule}|b1" not in restarted.evaluate(_doc(**over), T0 + 900).active


def test_a_file_without_memory_keeps_the_alert_its_seed_names_held_for_that_bot_only() -> None:
    rules = _rules()
    rules.adopt_memory({}, seed=lambda rule, bot: T0 if (rule, bot) == ("events_lost", "b1") else None)
    doc = metrics_doc({b: bot_metrics(currency="USD", events={"lost": 12}) for b in ("b1", "b2")})
    active = rules.evaluate(doc, T0 + 10).active
    assert ("events_lost|b1" in active, "events_lost|b2" in active) == (True, False)


def test_a_critical_error_alert_held_from_a_seed_without_an_error_in_the_document() -> None:
    rules = _rules()
    rules.adopt_memory({}, seed=lambda rule, bot: T0)
    obs = rules.evaluate(_doc(), T0 + 10).active["critical_error|b1"]
    assert (obs.summary, obs.value) == ("critical error", None)


# ---- resolves of switches in their third state, and a stale bot without an age -------------------
@pytest.mark.parametrize(
    ("rule", "health", "words"),
    [
        ("kill_switch", {"kill_switch": "disabled"}, "kill switch disabled (no longer triggered)"),
        ("circuit_breaker", {"circuit_breaker": "half_open"}, "circuit breaker half-open (no longer open)"),
    ],
)
def test_a_switch_resolved_into_its_third_state_names_it_and_the_alarm_it_left(
    rule: str, health: dict[str, Any], words: str
) -> None:
    assert _rules().all_clear(rule, "b1", (), _doc(health=health)) == words


def test_a_stale_bot_without_a_known_age_resolves_as_publishing_again() -> None:
    assert _rules().all_clear("stale", "b1", (), _doc(last_event_age_s=None)) == "publishing again"


# ---- the per-bot cap of alerts: boundary, most severe kept, fields -------------------------------
def _custom(n: int, severity: str = "info", prefix: str = "r") -> list[dict[str, Any]]:
    return [
        {"name": f"{prefix}{i:02d}", "metric": "events.received", "op": ">", "value": 0, "severity": severity}
        for i in range(n)
    ]


def test_exactly_the_cap_of_conditions_is_alerted_one_by_one() -> None:
    cap = catalog.MAX_ALERTS_PER_BOT
    active = RuleSet(settings(rules=_custom(cap)), stale_after_s=30.0).evaluate(_doc(), T0).active
    assert len(active) == cap
    assert "too_many_alerts|b1" not in active


def test_one_condition_over_the_cap_keeps_the_most_severe_and_counts_them_all() -> None:
    cap = catalog.MAX_ALERTS_PER_BOT
    rules = _custom(cap) + _custom(1, severity="critical", prefix="z")
    active = RuleSet(settings(rules=rules), stale_after_s=30.0).evaluate(_doc(), T0).active
    assert "z00|b1" in active  # sorted by name alone it would be the first left out
    meta = active["too_many_alerts|b1"]
    assert (meta.value, meta.threshold, meta.op) == (cap + 1, cap, ">")
    assert len(active) == cap


# ---- many APIs down: one alert naming at most ten ------------------------------------------------
@pytest.mark.parametrize(
    ("n", "names"),
    [
        (6, "a00, a01, a02, a03, a04, a05"),
        (10, ", ".join(f"a{i:02d}" for i in range(10))),
        (11, ", ".join(f"a{i:02d}" for i in range(10)) + ", ..."),
    ],
)
def test_more_apis_down_than_alerts_allow_are_one_alert_naming_at_most_ten(n: int, names: str) -> None:
    apis = {f"a{i:02d}": "down" for i in range(n)} | {"up1": "up"}
    active = _rules().evaluate(_doc(health={"apis": apis}), T0).active
    assert active["api_down|b1|api=*"].summary == f"{n} APIs DOWN: {names}"
    assert active["api_down_critical|b1|api=*"].summary == f"{n} APIs DOWN for over 2 min 00 s"


# ---- who was seen, and the switch memory when bots go ---------------------------------------------
@pytest.mark.parametrize("doc", [_monitor(refused=4), _monitor(journal="disk full"), _monitor()])
def test_the_bots_seen_are_the_documents_bots_and_the_monitor_itself(doc: MetricsDocument) -> None:
    assert _rules().evaluate(doc, T0).bots == {"b1", catalog.MONITOR}


def test_a_bot_still_reported_keeps_its_state_before_the_alarm_when_other_bots_go() -> None:
    rules = _rules()
    armed = {"kill_switch": "armed"}
    rules.evaluate(metrics_doc({b: bot_metrics(health=armed) for b in ("b1", "b2", "b3", "b4")}), T0)
    rules.evaluate(_doc(health=armed), T0 + 1)  # b2..b4 are gone: their memory is dropped
    obs = rules.evaluate(_doc(health={"kill_switch": "triggered"}), T0 + 2).active["kill_switch|b1"]
    assert obs.summary == "kill switch TRIGGERED (was armed)"
