"""Applying one event is atomic and contained (docs/events.md, reason ``internal_error``).

A handler that raises half-way (here: after the book took the fill) must leave
nothing of its event behind, count it as an ``internal_error`` reject with the
exception in the detail, and apply the rest of the batch.  The oracle is a
second store fed the same batch with that event replaced by the reject it became:
both must agree on every document.  The journal gets that reject too, so a
replay without the defect reproduces the live state.
"""

from __future__ import annotations

import pytest

import core.store as store_module
from app.hub import Hub
from collectors.events import Error, Fill, Heartbeat, Latency, Mark, Order
from core import checkpoint
from core.config import CoreConfig, MetricsSettings
from core.store import AppliedReject, StateStore
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of, state_of

T = 1_700_000_000.0
ARRIVAL = T + 0.5


def _fill(bot: str, seq: int, side: str, qty: float, price: float, fill_id: str | None = None) -> Fill:
    return Fill(
        v=1,
        bot=bot,
        seq=seq,
        ts=T + seq,
        fill_id=fill_id or f"{bot}-f{seq}",
        order_id=f"{bot}-o{seq}",
        symbol="X",
        side=side,
        qty=qty,
        price=price,
        fee=0.1,
    )


def _batch(bad_bot: str = "a") -> list:
    """Events of two bots; the fill ``boom`` is the one whose applying fails."""
    return [
        _fill("a", 0, "buy", 2.0, 100.0),
        Mark(v=1, bot="b", seq=0, ts=T, prices={"Y": 5.0}),
        Order(
            v=1,
            bot="a",
            seq=1,
            ts=T + 1,
            order_id="oa",
            symbol="X",
            side="sell",
            type="limit",
            qty=1.0,
            price=120.0,
            status="new",
            filled_qty=0.0,
        ),
        _fill(bad_bot, 2, "sell", 1.0, 130.0, fill_id="boom"),
        _fill("b", 1, "buy", 3.0, 5.0),
        AppliedReject(reason="invalid_field", detail="x", topic="fill", bot="a", seq=3),
        _fill("a", 4, "sell", 1.0, 90.0),
        Latency(v=1, bot="a", seq=5, ts=T + 5, op="submit", ms=12.0),
        Heartbeat(v=1, bot="b", seq=2, ts=T + 2),
        Error(v=1, bot="a", seq=6, ts=T + 6, component="feed", message="late", severity="critical"),
    ]


@pytest.fixture
def failing_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fill handler applies ``boom`` to the book, then raises: a half-applied event."""
    original = store_module._HANDLERS[Fill]

    def handler(store: StateStore, s: object, ev: Fill) -> None:
        original(store, s, ev)
        if ev.fill_id == "boom":
            raise ZeroDivisionError("float division by zero")

    monkeypatch.setitem(store_module._HANDLERS, Fill, handler)


def _store() -> StateStore:
    """A store that knows bots a and b already (their state before the batch must come back)."""
    store = StateStore(CoreConfig(), FakeClock(T + 1))
    warm_up = [
        _fill("a", 0, "buy", 1.0, 80.0),
        Order(
            v=1, bot="a", seq=1, ts=T + 1, order_id="old", symbol="X", side="buy", type="limit",
            qty=1.0, price=70.0, status="new", filled_qty=0.0,
        ),
        Latency(v=1, bot="a", seq=2, ts=T + 2, op="submit", ms=3.0),
        Error(v=1, bot="a", seq=3, ts=T + 3, component="feed", message="gap", severity="error"),
        Mark(v=1, bot="b", seq=0, ts=T, prices={"Y": 4.0}),
    ]  # fmt: skip
    store.apply_batch(warm_up, ARRIVAL - 1)
    return store


def _documents(store: StateStore) -> tuple:
    return metrics_of(store), {b: state_of(store, b) for b in sorted(store.bots)}


@pytest.mark.parametrize("bad_bot", ["a", "c"], ids=["known-bot", "first-event-of-a-new-bot"])
def test_a_raising_handler_rejects_its_event_as_internal_error_and_keeps_nothing_of_it(
    failing_fill: None, bad_bot: str
) -> None:
    live = _store()
    batch = _batch(bad_bot)
    applied = live.apply_batch(batch, ARRIVAL, received=len(batch))

    reject = applied[3]
    assert isinstance(reject, AppliedReject) and reject.reason == "internal_error"
    assert (reject.bot, reject.seq, reject.topic) == (bad_bot, 2, "fill")
    assert "ZeroDivisionError: float division by zero" in reject.detail and '"boom"' in reject.excerpt
    assert applied[:3] == batch[:3] and applied[4:] == batch[4:]  # the rest of the batch, as it was
    assert [(r.reason, type(e)) for r, e in live.failures] == [("internal_error", ZeroDivisionError)]

    oracle = _store()
    oracle.apply_batch(applied, ARRIVAL, received=len(batch))  # the same batch without the bad event
    assert _documents(live) == _documents(oracle)

    metrics = metrics_of(live)
    assert metrics["collector"]["rejected_by_reason"] == {"internal_error": 1, "invalid_field": 1}
    [position] = state_of(live, "a")["positions"]
    assert position["qty"] == 2.0  # bought 1 then 2, sold 1 at 90; boom undone
    assert [f["fill_id"] for f in state_of(live, "a")["recent_fills"]] == ["a-f4", "a-f0", "a-f0"]
    assert [o["order_id"] for o in state_of(live, "a")["open_orders"]] == ["old", "oa"]
    assert metrics["bots"]["b"]["events"]["received"] == 4
    assert (bad_bot in live.bots) is (bad_bot == "a")  # a bot that only failed is not created


def test_the_hub_journals_the_reject_logs_the_exception_and_a_replay_matches(
    failing_fill: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[tuple[float, int, list]] = []

    class Recorder:
        def record(self, arrival: float, received: int, items: list) -> None:
            recorded.append((arrival, received, list(items)))

    hub = Hub(_store())
    hub.set_recorder(Recorder())
    batch = _batch()
    with caplog.at_level("ERROR", logger="app.hub"):
        hub.apply_batch(batch, received=len(batch))
    assert [r.exc_info[0] for r in caplog.records] == [ZeroDivisionError]
    assert "internal_error" in caplog.records[0].getMessage()

    [(arrival, received, items)] = recorded
    assert items[3].reason == "internal_error" and items[:3] == batch[:3]
    monkeypatch.undo()  # the replaying monitor no longer has the defect: the journal decides
    payload = checkpoint.encode_record(1, arrival, received, items)
    [(_, _, raw)] = checkpoint.iter_records(
        checkpoint.journal_header() + payload, checkpoint.JOURNAL_HEADER_SIZE
    )
    replayed = _store()
    arrival, received, items = checkpoint.decode_record(raw)
    replayed.apply_batch(items, arrival, received)
    assert hub.under_lock(_documents) == _documents(replayed)


def test_a_second_failure_of_the_same_bot_in_one_batch_is_contained_too(failing_fill: None) -> None:
    batch = _batch()
    batch.insert(5, _fill("a", 3, "buy", 1.0, 50.0, fill_id="boom"))
    batch[6] = AppliedReject(reason="invalid_field", detail="x", topic="fill", bot="a", seq=9)
    live = _store()
    applied = live.apply_batch(batch, ARRIVAL)
    assert [i for i, item in enumerate(applied) if getattr(item, "reason", "") == "internal_error"] == [3, 5]
    oracle = _store()
    oracle.apply_batch(applied, ARRIVAL)
    assert _documents(live) == _documents(oracle)


def test_a_batch_without_failures_is_returned_as_is() -> None:
    batch = _batch()
    assert _store().apply_batch(batch, ARRIVAL) is batch


def test_open_orders_changed_by_the_failing_event_come_back_as_they_were(monkeypatch) -> None:
    """The open orders are not copied per batch but undone from a log: eviction included."""
    original = store_module._HANDLERS[Order]

    def handler(store: StateStore, s: object, ev: Order) -> None:
        original(store, s, ev)
        if ev.order_id == "boom":
            raise RuntimeError("after the order was taken")

    monkeypatch.setitem(store_module._HANDLERS, Order, handler)

    def order(seq: int, order_id: str, status: str = "new") -> Order:
        return Order(
            v=1, bot="a", seq=seq, ts=T + seq, order_id=order_id, symbol="X", side="buy", type="limit",
            qty=1.0, price=50.0, status=status, filled_qty=0.0,
        )  # fmt: skip

    def store() -> StateStore:
        config = CoreConfig(metrics=MetricsSettings(max_open_orders=2))
        s = StateStore(config, FakeClock(T))
        s.apply_batch([order(0, "first"), order(1, "second")], ARRIVAL - 1)
        return s

    batch = [order(2, "first", "canceled"), order(3, "third"), order(4, "boom"), order(5, "fourth")]
    live = store()
    applied = live.apply_batch(batch, ARRIVAL)
    assert applied[2].reason == "internal_error"
    oracle = store()
    oracle.apply_batch(applied, ARRIVAL)
    assert _documents(live) == _documents(oracle)
    assert [o["order_id"] for o in state_of(live, "a")["open_orders"]] == ["third", "fourth"]


def test_windows_changed_earlier_in_the_batch_are_not_counted_twice(failing_fill: None) -> None:
    """The bot is restored from its copy and the batch's earlier events are applied again once."""
    batch = [
        Latency(v=1, bot="a", seq=10, ts=T + 10, op="submit", ms=7.0),
        Error(v=1, bot="a", seq=11, ts=T + 11, component="feed", message="gap", severity="warning"),
        _fill("a", 12, "sell", 1.0, 130.0, fill_id="boom"),
    ]
    live = _store()
    applied = live.apply_batch(batch, ARRIVAL)
    oracle = _store()
    oracle.apply_batch(applied, ARRIVAL)
    assert _documents(live) == _documents(oracle)
    assert metrics_of(live)["bots"]["a"]["latency_ms"]["count"] == 2


def test_full_sample_rings_wrapped_by_the_batch_come_back_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rings keep only what a batch may overwrite: a rewind must restore the overwritten samples.

    The failing event here is a latency sample that was written into a full ring before the
    handler raised: without the rewind it would stay visible in place of an older sample.
    """
    original = store_module._HANDLERS[Latency]

    def handler(store: StateStore, s: object, ev: Latency) -> None:
        original(store, s, ev)
        if ev.op == "boom":
            raise ZeroDivisionError("float division by zero")

    monkeypatch.setitem(store_module._HANDLERS, Latency, handler)

    def store() -> StateStore:
        small = MetricsSettings(latency_max_samples=8, error_max_samples=8)
        st = StateStore(CoreConfig(metrics=small), FakeClock(T + 1))
        warm = [Latency(v=1, bot="a", seq=i, ts=T + i * 0.1, op="submit", ms=float(i)) for i in range(12)]
        st.apply_batch(warm, ARRIVAL - 1)  # the ring is full and has wrapped once
        return st

    def lat(seq: int, ms: float, op: str = "submit") -> Latency:
        return Latency(v=1, bot="a", seq=seq, ts=T + 2 + seq * 0.1, op=op, ms=ms)

    batch = [
        *[lat(s, 100.0 + s) for s in range(12, 15)],
        lat(15, 9999.0, op="boom"),
        *[lat(s, 200.0 + s) for s in range(16, 18)],
        lat(18, 8888.0, op="boom"),  # a second failure, last: nothing writes over its slot again
    ]
    live = store()
    applied = live.apply_batch(batch, ARRIVAL)
    assert [type(x).__name__ for x in applied].count("AppliedReject") == 2
    oracle = store()
    oracle.apply_batch(applied, ARRIVAL)
    assert _documents(live) == _documents(oracle)
    shown = [ms for _, ms in state_of(live, "a")["latency_series"]]
    assert 8888.0 not in shown and 9999.0 not in shown
