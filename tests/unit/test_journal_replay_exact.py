"""Replaying the journal reproduces what was applied live, and an old checkpoint's packed
orders are read whole or refused (docs/architecture.md, Durability: a checkpoint that does
not decode is corrupt and quarantined, never half-read).  Pure: bytes and events in, a store out.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import msgspec
import pytest

from collectors.events import Heartbeat
from core import checkpoint, checkpoint_legacy
from core.config import CoreConfig
from core.store import StateStore
from tests.support.documents import metrics_of

T = 1_800_000_000.0
NOW = 5000.0


def _beats(bot: str, seqs: range) -> list[Heartbeat]:
    return [Heartbeat(v=1, bot=bot, seq=s, ts=T + s) for s in seqs]


def test_a_replay_applies_every_batch_with_its_arrival_and_counts_the_events() -> None:
    store = StateStore(CoreConfig(stale_after_s=10.0), lambda: NOW)
    batches = [(NOW - 30.0, 2, _beats("a", range(2))), (NOW - 4.0, 3, _beats("b", range(3)))]
    records = [checkpoint.encode_record(i, *batch) for i, batch in enumerate(batches, 1)]
    decoded = [checkpoint.decode_record(r[checkpoint._RECORD.size :]) for r in records]
    assert checkpoint.replay(store, decoded) == 5
    doc = metrics_of(store)
    assert doc["collector"]["received"] == 5
    ages = {bot: doc["bots"][bot]["last_event_age_s"] for bot in ("a", "b")}
    assert ages == {"a": 30.0, "b": 4.0}  # liveness as it was live: each batch's own arrival


def _format1(*args: Any) -> bytes:
    """A format 1 pickle calling the packed-orders reader under its first-format name."""
    body = pickle.dumps(args, protocol=3)[2:-1]  # the argument tuple, without header and STOP
    return b"\x80\x03capp.core.checkpoint\n_unpack_event_pairs\n" + body + b"R."


def _packed(n: int) -> tuple[list[str], bytes]:
    beats = _beats("a", range(n))
    return ["Heartbeat"] * n, msgspec.msgpack.encode(beats)


def test_format1_packed_orders_are_read_in_order_with_their_numbers() -> None:
    names, packed = _packed(2)
    reader = checkpoint_legacy._AllowListUnpickler(io.BytesIO(_format1(["k0", "k1"], names, packed, [7, 8])))
    got = reader.load()
    assert list(got) == ["k0", "k1"]
    assert [(ev.seq, n) for ev, n in got.values()] == [(0, 7), (1, 8)]


@pytest.mark.parametrize(
    ("keys", "names_n", "packed_n", "numbers"),
    [
        (["k0", "k1"], 2, 2, [7]),  # a number missing
        (["k0"], 2, 2, [7]),  # a number missing, and a key
        (["k0"], 2, 2, [7, 8]),  # a key missing
        (["k0", "k1"], 1, 2, [7, 8]),  # a type name missing
        (["k0"], 1, 2, [7]),  # a type name missing, and a key and a number
    ],
)
def test_format1_packed_orders_of_unequal_lengths_are_refused_not_cut(
    keys: list[str], names_n: int, packed_n: int, numbers: list[int]
) -> None:
    names, packed = _packed(packed_n)
    with pytest.raises(ValueError):
        checkpoint_legacy.load(_format1(keys, names[:names_n], packed, numbers))


def test_format1_packed_orders_that_are_not_bytes_are_refused_saying_so() -> None:
    with pytest.raises(pickle.UnpicklingError) as err:
        checkpoint_legacy.load(_format1(["k0"], ["Heartbeat"], "text", [7]))
    assert str(err.value) == "packed open orders are not bytes"


BEYOND = "journaled event beyond the contract's bounds: "
MS_TS = 1.8e12  # a ts in milliseconds: beyond today's bound


@pytest.mark.parametrize(
    ("raw", "bot", "seq", "where"),
    [
        ({"v": 1, "bot": "b", "seq": 3, "ts": MS_TS}, "b", 3, "Expected `float` < 4102444800.0 - at `$.ts`"),
        ({"v": 1, "bot": 5, "seq": True, "ts": MS_TS}, None, None, "Expected `str`, got `int` - at `$.bot`"),
        ({"v": 1, "bot": "b", "seq": "3", "ts": 1.0}, "b", None, "Expected `int`, got `str` - at `$.seq`"),
        ([1, 2], None, None, "Expected `object`, got `array`"),
    ],
)
def test_a_journaled_event_beyond_todays_bounds_replays_as_the_reject_it_now_is(
    raw: Any, bot: str | None, seq: int | None, where: str
) -> None:
    payload = msgspec.msgpack.encode((NOW, 1, [("Heartbeat", raw)]))
    [reject] = checkpoint.decode_record(payload)[2]
    assert (reject.reason, reject.topic, reject.bot, reject.seq) == ("invalid_field", "heartbeat", bot, seq)
    assert reject.detail == BEYOND + where
