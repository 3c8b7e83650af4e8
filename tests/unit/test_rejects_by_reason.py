"""Each bot's refused messages by reason: exact, summing to its total, restored, and at ``/metrics``.

The reasons are the closed set ``collectors.events.REASONS`` and the bots are capped, so the
split is bounded; a reject that has no bot state (no bot named, an unknown bot, one over the
cap) counts for the whole collector only (docs/metrics.md).
"""

from __future__ import annotations

import itertools
import struct
import zlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import core.store as store_module
from app.prometheus import Exposition
from collectors.events import REASONS, Mark
from core import checkpoint
from core.config import CoreConfig
from core.documents import MetricsDocument, PositionsDocument
from core.store import AppliedReject, StateStore
from tests.support.clock import FakeClock
from tests.support.oracle import PROPS, reference_rejects
from tests.unit.test_prometheus_families import parsed

T = 1_700_000_000.0
BOTS = ("a", "b", "c")
#: (bot, reason) of each refused message; ``None`` and ``ghost`` have no bot state
REJECTS = [
    ("a", "invalid_field"),
    ("a", "invalid_field"),
    ("a", "non_finite"),
    ("b", "bad_version"),
    ("c", "too_many_symbols"),
    ("c", "invalid_field"),
    ("c", "invalid_field"),
    ("c", "invalid_field"),
    ("c", "key_not_for_bot"),
    (None, "not_json"),
    ("ghost", "unknown_bot"),
]
EXPECTED = {
    "a": {"invalid_field": 2, "non_finite": 1},
    "b": {"bad_version": 1},
    "c": {"too_many_symbols": 1, "invalid_field": 3, "key_not_for_bot": 1},
}


def _mark(bot: str, seq: int = 0) -> Mark:
    return Mark(v=1, bot=bot, seq=seq, ts=T + seq, prices={"X": 1.0})


def _store() -> StateStore:
    store = StateStore(CoreConfig(), FakeClock(T + 1))
    for bot in BOTS:
        store.apply(_mark(bot))
    for bot, reason in REJECTS:
        store.reject(reason, f"refused: {reason}", bot=bot)
    return store


def _split(store: StateStore) -> dict[str, dict[str, int]]:
    return {bot: dict(m.events.rejected_by_reason) for bot, m in store.metrics().bots.items()}


def test_each_bot_counts_its_rejects_per_reason_summing_to_its_total() -> None:
    store = _store()
    doc = store.metrics()
    assert _split(store) == EXPECTED
    for m in doc.bots.values():
        assert sum(m.events.rejected_by_reason.values()) == m.events.rejected
    assert "ghost" not in doc.bots  # an unknown bot gets no state: its reject is the collector's only
    assert doc.collector.rejected == len(REJECTS)
    assert doc.collector.rejected_by_reason["not_json"] == 1
    assert doc.collector.rejected_by_reason["unknown_bot"] == 1


def test_an_earlier_document_is_not_changed_by_a_later_reject() -> None:
    """The split is replaced on each reject, never changed in place: a document read stays as read."""
    store = _store()
    before = store.metrics().bots["a"].events.rejected_by_reason
    store.reject("not_json", "later", bot="a")
    assert before == EXPECTED["a"]
    assert _split(store)["a"] == {**EXPECTED["a"], "not_json": 1}


def _without_the_split(data: bytes) -> bytes:
    """The checkpoint as the release before the split wrote it: no ``rejected_by_reason`` per bot."""
    head = struct.Struct("<8sHI")  # the checkpoint's header: magic, version, crc32 of the payload
    magic, version, _ = head.unpack_from(data)
    state = msgspec.msgpack.decode(data[head.size :])
    for bot in state["bots"].values():
        del bot["rejected_by_reason"]
    payload = msgspec.msgpack.encode(state)
    return head.pack(magic, version, zlib.crc32(payload)) + payload


def test_a_checkpoint_written_before_the_split_restores_with_zeros_and_counts_on() -> None:
    store = _store()
    old = _without_the_split(checkpoint.encode_state(store))
    restored = checkpoint.decode_state(old, CoreConfig(), FakeClock(T + 2))
    doc = restored.metrics()
    assert {bot: m.events.rejected for bot, m in doc.bots.items()} == {"a": 3, "b": 1, "c": 5}
    assert _split(restored) == {"a": {}, "b": {}, "c": {}}
    restored.reject("invalid_field", "after the restart", bot="b")
    assert _split(restored)["b"] == {"invalid_field": 1}
    again = checkpoint.decode_state(checkpoint.encode_state(store), CoreConfig(), FakeClock(T + 2))
    assert _split(again) == EXPECTED  # the current format keeps it


def test_two_failing_events_of_one_bot_in_a_batch_count_two_internal_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Containment restores the bot and re-applies its earlier items: each reject counts once."""
    original = store_module._HANDLERS[Mark]

    def handler(store: StateStore, s: object, ev: Mark) -> None:
        original(store, s, ev)
        if "BOOM" in ev.prices:
            raise ZeroDivisionError("float division by zero")

    monkeypatch.setitem(store_module._HANDLERS, Mark, handler)
    store = StateStore(CoreConfig(), FakeClock(T + 1))
    store.apply(_mark("a"))
    store.reject("invalid_field", "before the batch", bot="a")  # the bot's split exists before it
    boom = [Mark(v=1, bot="a", seq=seq, ts=T + seq, prices={"BOOM": 1.0}) for seq in (1, 3)]
    store.apply_batch([boom[0], _mark("a", 2), boom[1], _mark("a", 4)], arrival=T + 5)
    events = store.metrics().bots["a"].events
    assert events.rejected_by_reason == {"invalid_field": 1, "internal_error": 2}
    assert events.rejected == 3


# ---- against the oracle: random streams of events and rejects, in random batches ----
_ITEM = st.one_of(
    st.sampled_from(BOTS).map(_mark),
    st.builds(
        lambda reason, bot: AppliedReject(reason=reason, detail="refused", bot=bot),
        st.sampled_from(REASONS),
        st.sampled_from((*BOTS, "ghost", None)),
    ),
)


@PROPS
@given(items=st.lists(_ITEM, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=5))
def test_the_split_matches_the_reference_on_random_streams(items: list, cuts: list[int]) -> None:
    store = StateStore(CoreConfig(), FakeClock(T + 1))
    bounds = [0, *sorted(cuts), len(items)]
    for lo, hi in itertools.pairwise(bounds):
        store.apply_batch(items[lo:hi], arrival=T + 1)
    doc = store.metrics()
    got = {
        bot: {"rejected": m.events.rejected, "rejected_by_reason": dict(m.events.rejected_by_reason)}
        for bot, m in doc.bots.items()
    }
    assert got == reference_rejects(items)
    assert set().union(*(m.events.rejected_by_reason for m in doc.bots.values())) <= set(REASONS)


# ---- at GET /metrics ----
def test_metrics_shows_each_bots_rejects_by_reason_in_one_family() -> None:
    store = _store()
    text = Exposition([(MetricsDocument, store.metrics), (PositionsDocument, store.positions)]).render()
    got = parsed(text.decode())["botmonitor_events_rejected_total"]
    want = {(("bot", b), ("reason", r)): float(n) for b, split in EXPECTED.items() for r, n in split.items()}
    assert got == want
