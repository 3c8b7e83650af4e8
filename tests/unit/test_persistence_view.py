"""The Health tab's lines on the state journal and the restore at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.dashboard.monitor_panel import persistence_rows
from app.persistence import Journal
from core.monitor_documents import JournalStatus, PersistenceStatus, RestoreInfo
from tests.support import release_fixtures as fx
from tests.support.clock import FakeClock


def _journal(state: str, failure: str | None = None) -> JournalStatus:
    return JournalStatus(
        state=state,
        failure=failure,
        committed_batch=10,
        uncommitted=2,
        last_commit_at=1_700_000_000.0,
        queued=0,
        snapshots=1,
        last_snapshot_at=None,
        last_snapshot_pause_ms=1.0,
        data_bytes=2_000_000,
    )


def _rows(p: PersistenceStatus) -> dict[str, tuple[str, str]]:
    return {label: (text, tone) for label, text, tone in persistence_rows(p)}


def test_a_failing_journal_says_so_and_why_in_red() -> None:
    rows = _rows(PersistenceStatus(restore=None, journal=_journal("failing", "No space left on device")))
    text, tone = rows["State journal"]
    assert "FAILING" in text and "No space left on device" in text and tone == "neg"
    assert "2 batches uncommitted" in rows["Journal data"][0]


def test_the_restore_and_its_problems_are_shown() -> None:
    restore = RestoreInfo(
        at=1_700_000_000.0,
        snapshot="snapshot-0000000000000007.ckpt",
        snapshot_batch=7,
        journal_batches=3,
        journal_events=1234,
        duration_s=0.42,
        lost_bytes=17,
        problems=[
            "journal segment segment-0000000000000008.log: 17 bytes after the last good record cut off"
        ],
    )
    rows = _rows(PersistenceStatus(restore=restore, journal=_journal("ok")))
    assert rows["State journal"][1] == "pos"
    restored = rows["State restored"][0]
    assert (
        "snapshot-0000000000000007.ckpt" in restored
        and "1,234 journal events" in restored
        and "0.42 s" in restored
    )
    problems, tone = rows["Restore problems"]
    assert "cut off" in problems and tone == "neg"


def test_a_journal_switched_off_warns_that_a_restart_loses_the_state() -> None:
    rows = _rows(PersistenceStatus(restore=None, journal=_journal("off")))
    assert "restart loses the state" in rows["State journal"][0] and "Journal data" not in rows


def test_a_quarantined_checkpoint_is_named_on_the_health_tab_with_its_reason(tmp_path: Path) -> None:
    """A real restore of a directory whose only checkpoint rotted (the journal from batch 1 is whole)."""
    shutil.copytree(Path(__file__).parent / "data" / "release-2" / "data", tmp_path / "data")
    snap = next((tmp_path / "data" / "journal").glob("snapshot-*.ckpt"))
    snap.write_bytes(snap.read_bytes()[:-3] + b"rot")
    journal = Journal(tmp_path / "data", fx.JOURNAL, clock=FakeClock(fx.READ_AT))
    journal.restore(fx.CONFIG, FakeClock(fx.READ_AT))
    assert journal.restore_info is not None
    problems, tone = _rows(PersistenceStatus(restore=journal.restore_info, journal=_journal("ok")))[
        "Restore problems"
    ]
    moved = next((tmp_path / "data" / "quarantine").glob(f"*-{snap.name}")).name
    assert f"checkpoint {snap.name} unusable (checkpoint checksum mismatch)" in problems
    assert f"moved to quarantine/{moved}" in problems and tone == "neg"
