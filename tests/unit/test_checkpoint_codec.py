"""The pure checkpoint codec: bit-exact state, framed records that stop at the first bad byte, versions."""

from __future__ import annotations

import os
import pickle
import struct
import zlib

import msgspec
import pytest

from collectors.events import Fill, Latency, Mark, Order, OrderBody, Snapshot
from core import checkpoint
from core.store import AppliedReject, StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of
from tests.support.durability import CONFIG

ENV = {"v": 1, "bot": "b1"}


def _store() -> StateStore:
    store = StateStore(CONFIG, FakeClock())
    items = [
        Fill(
            **ENV,
            seq=0,
            ts=1.0e9,
            fill_id="f",
            order_id="o",
            symbol="X",
            side="buy",
            qty=0.1,
            price=0.3,
            fee=0.1,
        ),
        Mark(**ENV, seq=1, ts=1.0e9 + 1, prices={"X": 0.1 + 0.2}),  # floats that only survive bit for bit
        Latency(**ENV, seq=2, ts=1.0e9 + 2, op="submit", ms=1 / 3),
        AppliedReject(reason="invalid_field", detail="qty", topic="fill", bot="b1", seq=3, excerpt="{}"),
    ]
    store.apply_batch(items, arrival=1_700_000_000.5, received=4)
    return store


def test_a_checkpoint_restores_every_document_bit_for_bit() -> None:
    store = _store()
    clone = checkpoint.decode_state(checkpoint.encode_state(store), CONFIG, store.clock)
    assert metrics_of(clone) == metrics_of(store)
    assert state_of(clone, "b1") == state_of(store, "b1")
    assert clone.bots["b1"].marks["X"] == 0.1 + 0.2 and clone.bots["b1"].last_arrival == 1_700_000_000.5


def test_a_capture_is_independent_of_what_the_store_does_next() -> None:
    store = _store()
    captured = checkpoint.capture_state(store)
    before = metrics_of(checkpoint.decode_state(checkpoint.encode_captured(captured), CONFIG, store.clock))
    store.apply_batch(
        [Mark(**ENV, seq=4, ts=1.0e9 + 9, prices={"X": 9.0})], arrival=1_700_000_001.0, received=1
    )
    after = metrics_of(checkpoint.decode_state(checkpoint.encode_captured(captured), CONFIG, store.clock))
    assert after == before != metrics_of(store)


def test_a_damaged_or_newer_checkpoint_is_refused_never_guessed() -> None:
    data = bytearray(checkpoint.encode_state(_store()))
    flipped = bytearray(data)
    flipped[-5] ^= 0x01
    with pytest.raises(checkpoint.CorruptData):
        checkpoint.decode_state(bytes(flipped), CONFIG, FakeClock())
    data[8:10] = (checkpoint.FORMAT_VERSION + 1).to_bytes(2, "little")
    with pytest.raises(checkpoint.UnsupportedFormat, match="format version"):
        checkpoint.decode_state(bytes(data), CONFIG, FakeClock())


def test_records_are_read_up_to_the_first_one_that_does_not_check_out() -> None:
    mark = Mark(**ENV, seq=0, ts=1.0e9, prices={"X": 1.0})
    records = [checkpoint.encode_record(n, 100.0 + n, 1, [mark]) for n in (1, 2, 3)]
    buf = bytearray(checkpoint.journal_header() + b"".join(records))
    start = checkpoint.JOURNAL_HEADER_SIZE
    assert [n for n, _, _ in checkpoint.iter_records(bytes(buf), start)] == [1, 2, 3]
    _, end, payload = next(checkpoint.iter_records(bytes(buf), start))
    assert checkpoint.decode_record(payload) == (101.0, 1, [mark])
    buf[end + 20] ^= 0xFF  # a bit flipped inside the second record
    assert [n for n, _, _ in checkpoint.iter_records(bytes(buf), start)] == [1]
    assert [n for n, _, _ in checkpoint.iter_records(bytes(buf[: end + 5]), start)] == [1]  # torn


def test_a_journal_of_another_version_is_refused() -> None:
    head = bytearray(checkpoint.journal_header())
    head[8:10] = (checkpoint.JOURNAL_VERSION + 1).to_bytes(2, "little")
    with pytest.raises(checkpoint.UnsupportedFormat):
        checkpoint.check_journal_header(bytes(head))
    with pytest.raises(checkpoint.CorruptData):
        checkpoint.check_journal_header(b"not a journal")


MANY_ORDERS = msgspec.structs.replace(
    CONFIG, metrics=msgspec.structs.replace(CONFIG.metrics, max_open_orders=1000)
)


def _orders_store() -> StateStore:
    """Two bots with many open orders: one from order events, one from a snapshot's order bodies."""
    store = StateStore(MANY_ORDERS, FakeClock())
    order = {"symbol": "X", "side": "buy", "type": "limit", "qty": 1.0, "status": "new", "filled_qty": 0.0}
    events: list = [
        Order(**ENV, seq=i, ts=1.0e9 + i, order_id=f"o{i}", price=0.1 * i + 0.2, **order) for i in range(150)
    ]
    bodies = [
        OrderBody(order_id=f"s{i}", price=None if i % 7 == 0 else 1 / (i + 3), **order) for i in range(90)
    ]
    events.append(Snapshot(v=1, bot="b2", seq=0, ts=1.0e9, positions=[], open_orders=bodies))
    store.apply_batch(events, arrival=1_700_000_000.5, received=len(events))
    return store


def test_many_open_orders_restore_exactly_in_order_and_type() -> None:
    store = _orders_store()
    clone = checkpoint.decode_state(checkpoint.encode_state(store), MANY_ORDERS, store.clock)
    for bot in ("b1", "b2"):
        assert len(store.bots[bot].open_orders) >= 90
        assert list(clone.bots[bot].open_orders.items()) == list(store.bots[bot].open_orders.items())
        assert [type(o) for o, _ in clone.bots[bot].open_orders.values()] == [
            type(o) for o, _ in store.bots[bot].open_orders.values()
        ]
        assert state_of(clone, bot) == state_of(store, bot)


class _Planted:
    """What a hostile format 1 checkpoint could hold: unpickling it would create a directory."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return os.mkdir, (self.path,)


def _format_1(payload: bytes) -> bytes:
    return struct.pack("<8sHI", checkpoint.CHECKPOINT_MAGIC, 1, zlib.crc32(payload)) + payload


@pytest.mark.parametrize("protocol", [2, 5])
def test_a_format_1_checkpoint_naming_anything_but_the_store_is_refused_unrun(tmp_path, protocol) -> None:
    planted = tmp_path / "ran"
    state = {"bots": {}, "received": 0, "x": _Planted(str(planted))}
    with pytest.raises(checkpoint.CorruptData, match=r"refused global (posix|os)\.mkdir"):
        checkpoint.decode_state(_format_1(pickle.dumps(state, protocol)), CONFIG, FakeClock())
    assert not planted.exists()


def test_a_checkpoint_holds_no_pickle() -> None:
    data = checkpoint.encode_state(_orders_store())
    assert data[8:10] == checkpoint.CHECKPOINT_VERSION.to_bytes(2, "little") != b"\x01\x00"
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data[14:])
