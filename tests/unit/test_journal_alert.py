"""A failing state journal is a critical alert of the monitor itself (scope ``(monitor)``)."""

from __future__ import annotations

import msgspec

from alerts import catalog
from alerts.rules import RuleSet
from core.monitor_documents import JournalStatus, PersistenceStatus
from tests.support.alerts import settings
from tests.support.documents import bot_metrics, metrics_doc


def _journal(state: str, failure: str | None = None) -> PersistenceStatus:
    status = JournalStatus(
        state=state,
        failure=failure,
        committed_batch=7,
        uncommitted=0,
        last_commit_at=None,
        queued=0,
        snapshots=0,
        last_snapshot_at=None,
        last_snapshot_pause_ms=None,
        data_bytes=0,
    )
    return PersistenceStatus(restore=None, journal=status)


def _evaluate(persistence: PersistenceStatus | None, **events: bool):
    doc = metrics_doc({"b1": bot_metrics()})
    if persistence is not None:
        doc = msgspec.structs.replace(doc, persistence=persistence)
    return RuleSet(settings(events=events), stale_after_s=3600.0).evaluate(doc, 0.0)


def test_a_failing_journal_is_a_critical_alert_of_the_monitor() -> None:
    ev = _evaluate(_journal("failing", "cannot write the journal: No space left on device"))
    obs = ev.active[f"journal_failing|{catalog.MONITOR}"]
    assert obs.severity == "critical" and "No space left on device" in obs.summary
    assert catalog.MONITOR in ev.bots  # so the alert resolves normally once the journal is ok again


def test_a_healthy_or_absent_journal_or_the_switch_off_observes_nothing() -> None:
    assert not [k for k in _evaluate(_journal("ok")).active if k.startswith("journal_failing")]
    assert not [k for k in _evaluate(None).active if k.startswith("journal_failing")]
    off = _evaluate(_journal("failing", "disk full"), journal_failing=False)
    assert not [k for k in off.active if k.startswith("journal_failing")]
