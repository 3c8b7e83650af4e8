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
from core.documents import JournalStatus, MetricsDocument, PersistenceStatus
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
