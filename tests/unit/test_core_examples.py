"""Hand-computed examples of the pure core: each pins one rule a plausible slip would break.

The property tests compare the store with an independent oracle over random
scenarios; these name the cases directly, so a slip is caught at once and the
failure reads as the rule it broke.  Documents are read through
``msgspec.to_builtins``: the same keys and values as the JSON the API serves.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from alerts.config import AlertsSettings
from alerts.rules import RuleSet
from collectors.events import (
    Fill,
    Health,
    Heartbeat,
    Mark,
    Rejected,
    Snapshot,
    SnapshotPosition,
    decode,
)
from core.config import BotSettings, CoreConfig, MetricsSettings
from core.store import StateStore
from tests.support.clock import FakeClock

MIDNIGHT = 1_700_006_400.0  # 2023-11-15 00:00 UTC


def _store(clock: FakeClock, starting_equity: float = 10_000.0) -> StateStore:
    config = CoreConfig(
        metrics=MetricsSettings(timezone="UTC"),
        bots={"b": BotSettings(starting_equity=starting_equity)},
        stale_after_s=30.0,
    )
    return StateStore(config, clock)


def _bot(store: StateStore) -> dict[str, Any]:
    return msgspec.to_builtins(store.metrics())["bots"]["b"]


def _positions(store: StateStore) -> dict[str, dict[str, Any]]:
    return {p["symbol"]: p for p in msgspec.to_builtins(store.state("b"))["positions"]}


def _fill(seq: int, side: str, qty: float, price: float, ts: float = MIDNIGHT) -> Fill:
    return Fill(
        v=1,
        bot="b",
        seq=seq,
        ts=ts,
        fill_id=f"f{seq}",
        order_id=f"o{seq}",
        symbol="X",
        side=side,
        qty=qty,
        price=price,
        fee=0.0,
    )


def _snapshot(seq: int, qty: float, avg_price: float) -> Snapshot:
    position = SnapshotPosition(symbol="X", qty=qty, avg_price=avg_price)
    return Snapshot(v=1, bot="b", seq=seq, ts=MIDNIGHT, positions=[position], open_orders=[])


# ---------------------------------------------------------------- accounting
def test_average_price_after_two_adds_of_different_sizes() -> None:
    store = _store(FakeClock())
    store.apply(_fill(0, "buy", 1.0, 100.0))
    store.apply(_fill(1, "buy", 3.0, 200.0))
    # (1 x 100 + 3 x 200) / 4 = 175, not the plain mean 150 of the two prices
    assert _positions(store)["X"]["qty"] == 4.0
    assert _positions(store)["X"]["avg_price"] == pytest.approx(175.0, rel=1e-12)
    store.apply(Mark(v=1, bot="b", seq=2, ts=MIDNIGHT, prices={"X": 180.0}))
    assert _bot(store)["unrealized_pnl"] == pytest.approx(4 * (180.0 - 175.0), rel=1e-12)


def test_average_price_of_a_short_after_two_adds() -> None:
    store = _store(FakeClock())
    store.apply(_fill(0, "sell", 2.0, 50.0))
    store.apply(_fill(1, "sell", 1.0, 80.0))
    # (2 x 50 + 1 x 80) / 3 = 60
    assert _positions(store)["X"]["qty"] == -3.0
    assert _positions(store)["X"]["avg_price"] == pytest.approx(60.0, rel=1e-12)


def test_drawdown_peak_is_carried_across_midnight() -> None:
    store = _store(FakeClock())
    store.apply(_fill(0, "buy", 10.0, 100.0, ts=MIDNIGHT - 7200))  # equity 10,000
    store.apply(Mark(v=1, bot="b", seq=1, ts=MIDNIGHT - 3600, prices={"X": 200.0}))  # peak 11,000
    store.apply(Mark(v=1, bot="b", seq=2, ts=MIDNIGHT + 1800, prices={"X": 90.0}))  # 9,900, next day
    bot = _bot(store)
    assert bot["equity"] == pytest.approx(9_900.0, rel=1e-12)
    # yesterday's peak still counts: (11,000 - 9,900) / 11,000 = 0.1, not 0 from a fresh daily peak
    assert bot["drawdown"] == pytest.approx(0.1, rel=1e-12)
    assert bot["max_drawdown"] == pytest.approx(0.1, rel=1e-12)
    assert bot["daily_pnl"] == pytest.approx(9_900.0 - 11_000.0, rel=1e-12)


# ---------------------------------------------------------------- sequence and snapshot checks
def test_a_repeated_seq_that_is_not_zero_counts_as_an_unannounced_restart() -> None:
    store = _store(FakeClock())
    for seq in (0, 1, 2, 2):
        store.apply(Heartbeat(v=1, bot="b", seq=seq, ts=MIDNIGHT))
    events = _bot(store)["events"]
    assert (events["seq_resets"], events["lost"]) == (1, 0)


def test_seq_zero_is_an_announced_restart_not_a_reset() -> None:
    store = _store(FakeClock())
    for seq in (0, 1, 2, 0, 1):
        store.apply(Heartbeat(v=1, bot="b", seq=seq, ts=MIDNIGHT))
    events = _bot(store)["events"]
    assert (events["seq_resets"], events["lost"]) == (0, 0)


def test_a_bots_rejects_are_split_by_reason_from_its_first_event_on() -> None:
    store = _store(FakeClock())
    store.reject("invalid_field", "before the bot's first event", bot="b", seq=0)  # no state yet
    store.apply(Heartbeat(v=1, bot="b", seq=1, ts=MIDNIGHT))
    for seq, reason in ((2, "invalid_field"), (3, "non_finite"), (4, "invalid_field")):
        store.reject(reason, "refused", bot="b", seq=seq)
    events = _bot(store)["events"]
    assert events["rejected_by_reason"] == {"invalid_field": 2, "non_finite": 1}
    assert (events["rejected"], events["lost"]) == (3, 0)  # each reject used its seq


def test_a_snapshot_with_the_same_qty_but_another_average_price_is_a_mismatch() -> None:
    store = _store(FakeClock())
    store.apply(_fill(0, "buy", 2.0, 100.0))
    store.apply(_snapshot(1, 2.0, 100.0))
    assert _bot(store)["position_mismatches"] == 0
    store.apply(_snapshot(2, 2.0, 101.0))
    assert _bot(store)["position_mismatches"] == 1
    assert _positions(store)["X"]["avg_price"] == 101.0  # the snapshot wins


# ---------------------------------------------------------------- the event contract
def test_a_v2_message_that_does_not_fit_v1_is_rejected_as_bad_version() -> None:
    # a future fill without v1's required fields: the version is the reason, not the fields
    body = {"v": 2, "bot": "b", "seq": 7, "ts": MIDNIGHT, "fill_id": "f1", "amount": "1.5"}
    with pytest.raises(Rejected) as err:
        decode(b"fill", json.dumps(body).encode())
    assert (err.value.reason, err.value.bot, err.value.seq) == ("bad_version", "b", 7)


@pytest.mark.parametrize("bot", ["bot\n", "bot\n\n", "\nbot", "b" * 65, "", "bot ", "bö"])
def test_a_bot_id_is_nothing_more_than_the_contract_allows(bot: str) -> None:
    body = {"v": 1, "bot": bot, "seq": 0, "ts": MIDNIGHT}
    with pytest.raises(Rejected) as err:
        decode(b"heartbeat", json.dumps(body).encode())
    assert err.value.reason == "invalid_field" and err.value.bot is None


@pytest.mark.parametrize("bot", ["b", "B-1.x_y", "b" * 64])
def test_a_bot_id_of_the_contract_is_accepted(bot: str) -> None:
    body = {"v": 1, "bot": bot, "seq": 0, "ts": MIDNIGHT}
    assert decode(b"heartbeat", json.dumps(body).encode()).bot == bot


# ---------------------------------------------------------------- rules on the store's own document
def test_an_api_in_the_degraded_state_raises_no_api_down_alert() -> None:
    clock = FakeClock(MIDNIGHT)
    store = _store(clock)
    store.apply(Health(v=1, bot="b", seq=0, ts=MIDNIGHT, apis={"binance": "degraded", "kraken": "up"}))
    rules = RuleSet(msgspec.convert({}, AlertsSettings), stale_after_s=30.0)
    active = rules.evaluate(store.metrics(), clock()).active.values()
    assert [o.rule for o in active if "api" in o.rule] == []
    store.apply(Health(v=1, bot="b", seq=1, ts=MIDNIGHT, apis={"binance": "down"}))
    active = [o for o in rules.evaluate(store.metrics(), clock()).active.values() if "api" in o.rule]
    assert sorted(o.rule for o in active) == ["api_down", "api_down_critical"]
    assert {o.labels for o in active} == {(("api", "binance"),)}
