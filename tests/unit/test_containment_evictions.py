"""Containment undoes evictions of open orders in their place (core/containment.py).

The open orders are not copied per batch but undone from a log.  An order the
batch evicted (the bound ``metrics.max_open_orders``) must come back *first*,
where it was: the bot's earlier events are applied again after the undo, and
they evict the oldest order again, which must be the same one as live.
"""

from __future__ import annotations

import pytest

import core.store as store_module
from collectors.events import Order
from core.config import CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of

T = 1_700_000_000.0
ARRIVAL = T + 0.5


def _order(seq: int, order_id: str) -> Order:
    return Order(
        v=1, bot="a", seq=seq, ts=T + seq, order_id=order_id, symbol="X", side="buy", type="limit",
        qty=1.0, price=50.0, status="new", filled_qty=0.0,
    )  # fmt: skip


def _store() -> StateStore:
    """A bot holding two open orders, the bound: a new one evicts the oldest."""
    store = StateStore(CoreConfig(metrics=MetricsSettings(max_open_orders=2)), FakeClock(T))
    store.apply_batch([_order(0, "first"), _order(1, "second")], ARRIVAL - 1)
    return store


def test_orders_evicted_by_the_batch_come_back_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    original = store_module._HANDLERS[Order]

    def handler(store: StateStore, s: object, ev: Order) -> None:
        original(store, s, ev)
        if ev.order_id == "boom":
            raise RuntimeError("after the order was taken (and the oldest evicted)")

    monkeypatch.setitem(store_module._HANDLERS, Order, handler)
    live = _store()
    applied = live.apply_batch([_order(2, "third"), _order(3, "boom")], ARRIVAL)
    assert applied[1].reason == "internal_error"
    oracle = _store()
    oracle.apply_batch(applied, ARRIVAL)
    assert [o["order_id"] for o in state_of(live, "a")["open_orders"]] == ["second", "third"]
    assert (metrics_of(live), state_of(live, "a")) == (metrics_of(oracle), state_of(oracle, "a"))
