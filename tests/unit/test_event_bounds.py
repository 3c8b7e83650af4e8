"""The contract bounds every number, through the real decoder (docs/events.md, "Bounds").

A bot that sends milliseconds, an absurd price or a balance near a double's limit
is rejected with a reason that names the field; what gets through can never turn
a derived value (exposure, totals, P&L) into inf or NaN.
"""

from __future__ import annotations

import json
import math

import msgspec
import pytest

from collectors.events import TS_MAX, TS_MIN, Rejected, decode
from core.config import CoreConfig
from core.store import StateStore
from tests.support.clock import FakeClock

T = 1_700_000_000.0
ENV = {"v": 1, "bot": "b-1", "seq": 4, "ts": T}
FILL = {"fill_id": "f", "order_id": "o", "symbol": "X", "side": "buy", "qty": 1.0, "price": 10.0, "fee": 0.0}
ORDER = {
    "order_id": "o",
    "symbol": "X",
    "side": "buy",
    "type": "limit",
    "qty": 1.0,
    "status": "new",
    "filled_qty": 0,
}


def _reject(topic: str, body: dict) -> Rejected:
    with pytest.raises(Rejected) as err:
        decode(topic.encode(), json.dumps({**ENV, **body}).encode())
    return err.value


def _ok(topic: str, body: dict) -> object:
    return decode(topic.encode(), json.dumps({**ENV, **body}).encode())


@pytest.mark.parametrize(
    "ts", [T * 1000, 946_684_800_000.0, 4_102_444_799_000.0], ids=["now", "2000", "2099"]
)
def test_a_timestamp_in_milliseconds_is_rejected_and_named_as_such(ts: float) -> None:
    err = _reject("heartbeat", {"ts": ts})
    assert (err.reason, err.bot, err.seq) == ("invalid_field", "b-1", 4)
    assert err.detail.startswith("ts looks like milliseconds; send seconds"), err.detail


@pytest.mark.parametrize("ts", [-1e300, 1e300, 0.0, 5.0, TS_MIN - 1, TS_MAX, 1e20, T * 1e6])
def test_a_timestamp_outside_2000_to_2100_is_rejected_without_the_milliseconds_hint(ts: float) -> None:
    err = _reject("heartbeat", {"ts": ts})
    assert (err.reason, err.bot, err.seq) == ("invalid_field", "b-1", 4)
    assert "$.ts" in err.detail and "milliseconds" not in err.detail, err.detail


@pytest.mark.parametrize("ts", [TS_MIN, TS_MAX - 0.001, T])
def test_a_timestamp_inside_the_range_in_seconds_is_accepted(ts: float) -> None:
    assert _ok("heartbeat", {"ts": ts}).ts == ts


@pytest.mark.parametrize(
    ("topic", "body", "field"),
    [
        ("fill", {**FILL, "price": 1e300}, "$.price"),
        ("fill", {**FILL, "price": 1e12}, "$.price"),
        ("fill", {**FILL, "qty": 1e300}, "$.qty"),
        ("fill", {**FILL, "fee": 1e300}, "$.fee"),
        ("fill", {**FILL, "qty": -1e300}, "$.qty"),
        ("mark", {"prices": {"X": 1e300}}, "$.prices"),
        ("mark", {"prices": {"X": -1e300}}, "$.prices"),
        ("order", {**ORDER, "qty": 1e300}, "$.qty"),
        ("order", {**ORDER, "price": 1e300}, "$.price"),
        ("order", {**ORDER, "filled_qty": 1e300}, "$.filled_qty"),
        ("account", {"equity": 1e300}, "$.equity"),
        ("account", {"equity": -1e300}, "$.equity"),
        ("account", {"equity": 1.0, "cash": -1e300}, "$.cash"),
        ("latency", {"op": "submit", "ms": 1e300}, "$.ms"),
        ("latency", {"op": "submit", "ms": 1e7}, "$.ms"),
        (
            "snapshot",
            {"positions": [{"symbol": "X", "qty": -1e300, "avg_price": 1.0}], "open_orders": []},
            "qty",
        ),
        (
            "snapshot",
            {"positions": [{"symbol": "X", "qty": 1.0, "avg_price": 1e300}], "open_orders": []},
            "avg",
        ),
        ("snapshot", {"positions": [], "open_orders": [], "account": {"equity": 1e300}}, "equity"),
    ],
)
def test_an_extreme_number_is_rejected_naming_its_field(topic: str, body: dict, field: str) -> None:
    err = _reject(topic, body)
    assert (err.reason, err.bot, err.seq) == ("invalid_field", "b-1", 4)
    assert field in err.detail, err.detail


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_still_rejected_as_non_finite(literal: bytes) -> None:
    payload = json.dumps({**ENV, "equity": 12345.5}).encode().replace(b"12345.5", literal)
    with pytest.raises(Rejected) as err:
        decode(b"account", payload)
    assert err.value.reason == "non_finite"


def test_the_largest_numbers_allowed_keep_every_derived_metric_finite() -> None:
    """Fills and marks at the bounds, on many symbols: exposure, P&L and totals stay finite."""
    store = StateStore(CoreConfig(), FakeClock(T))
    big = 1e12 * (1 - 1e-9)
    seq = 0
    for bot in ("a", "b"):
        for i in range(20):
            for side, price in (("buy", big), ("sell", 1e-9), ("buy", big)):
                fill = {**FILL, "bot": bot, "seq": seq, "symbol": f"S{i}", "side": side, "qty": big}
                store.apply(decode(b"fill", json.dumps({**ENV, **fill, "price": price, "fee": big}).encode()))
                seq += 1
        store.apply(
            decode(b"account", json.dumps({**ENV, "bot": bot, "seq": seq, "equity": -1e15 * 0.99}).encode())
        )
        seq += 1
    doc = store.metrics()

    def finite(value: object) -> bool:
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, dict):
            return all(finite(v) for v in value.values())
        if isinstance(value, list | tuple):
            return all(finite(v) for v in value)
        return True

    assert finite(msgspec.to_builtins(doc)), doc
    for bot in ("a", "b"):
        assert finite(msgspec.to_builtins(store.state(bot)))
    assert doc.total.exposure_gross > 1e24  # the bounds were really reached


def test_a_seq_beyond_2_to_the_53_is_rejected_and_does_not_move_the_sequence_check() -> None:
    """A seq no JSON parser reads exactly would make a lost count and a replay request absurd."""
    assert _ok("heartbeat", {"seq": 2**53}).seq == 2**53
    rej = _reject("heartbeat", {"seq": 2**53 + 1})
    assert (rej.reason, rej.bot, rej.seq) == ("invalid_field", "b-1", None)
    assert "seq" in rej.detail
