"""A bot's restarts (a new ``run``) and the operator's forget, as the metrics document shows them.

docs/metrics.md: ``events.seq_resets`` counts restarts (a new ``run``); the first seq ``k`` > 0
of a new run counts ``k`` lost; a bot whose run was never known adopts it without a restart.
docs/architecture.md: the store's version increases after every change, and forgetting a bot
drops everything known of it.  Pure: events in on an injected clock, documents out.
"""

from __future__ import annotations

from typing import Any

import pytest

from collectors.events import Heartbeat
from core.config import CoreConfig
from core.store import StateStore
from tests.support.documents import metrics_of

T = 1_800_000_000.0


def _store() -> StateStore:
    return StateStore(CoreConfig(stale_after_s=10.0), lambda: 1000.0)


def _beat(seq: int, run: str | None, bot: str = "b") -> Heartbeat:
    return Heartbeat(v=1, bot=bot, seq=seq, ts=T + seq, run=run)


def _events(store: StateStore, bot: str = "b") -> dict[str, Any]:
    return metrics_of(store)["bots"][bot]["events"]


def _fields(events: dict[str, Any]) -> tuple[Any, ...]:
    return events["run"], events["seq_resets"], events["lost"], events["last_seq"]


def test_a_bots_first_run_is_adopted_without_counting_a_restart() -> None:
    store = _store()
    for seq in range(3):
        store.apply(_beat(seq, "A"))
    assert _fields(_events(store)) == ("A", 0, 0, 2)


@pytest.mark.parametrize(("first_seq", "lost"), [(0, 0), (1, 1), (3, 3)])
def test_a_new_run_is_one_restart_and_its_first_seq_k_counts_k_lost(first_seq: int, lost: int) -> None:
    store = _store()
    for seq in range(6):
        store.apply(_beat(seq, "A"))
    store.apply(_beat(first_seq, "B"))
    store.apply(_beat(first_seq + 1, "B"))
    assert _fields(_events(store)) == ("B", 1, lost, first_seq + 1)


def test_each_new_run_counts_one_more_restart() -> None:
    store = _store()
    for run in ("A", "B", "C", "D"):
        store.apply(_beat(0, run))
    assert _fields(_events(store)) == ("D", 3, 0, 0)


def test_forgetting_a_bot_drops_it_and_is_a_change() -> None:
    store = _store()
    store.apply(_beat(0, "A", bot="gone"))
    store.apply(_beat(0, "A", bot="kept"))
    assert set(metrics_of(store)["bots"]) == {"gone", "kept"}
    before = store.version
    assert store.forget("gone") is True
    assert store.version > before
    assert set(metrics_of(store)["bots"]) == {"kept"}


def test_forgetting_an_unknown_bot_says_so_and_changes_nothing() -> None:
    store = _store()
    store.apply(_beat(0, "A", bot="kept"))
    before = store.version
    assert store.forget("never-seen") is False
    assert store.forget("never-seen") is False
    assert store.version == before
