"""Per-bot and per-monitor bounds of the state and of the alerts (docs/metrics.md, "Bounds").

Every cap refuses only what is over it, under its own reason, and never a
good event of a bot inside its bounds; alert identities stay bounded however
many names a bot sends.
"""

from __future__ import annotations

import pytest

from alerts import catalog
from alerts.rules import RuleSet
from app.settings import SettingsError, validate
from collectors.events import Error, Fill, Health, Heartbeat, Latency, Mark
from core import checkpoint
from core.config import CoreConfig, LimitsSettings
from core.forget import ForgetBot
from core.store import StateStore
from tests.support.alerts import settings
from tests.support.clock import FakeClock
from tests.support.documents import metrics_of

T = 1_700_000_000.0


def _store(**limits: object) -> StateStore:
    return StateStore(CoreConfig(limits=LimitsSettings(**limits)), FakeClock(T))


def _reasons(store: StateStore) -> dict[str, int]:
    return dict(store.rejected_by_reason)


def _fill(seq: int, symbol: str, side: str = "buy", qty: float = 1.0) -> Fill:
    return Fill(
        v=1, bot="b", seq=seq, ts=T, fill_id=f"f{seq}", order_id="o",
        symbol=symbol, side=side, qty=qty, price=10.0, fee=0.0,
    )  # fmt: skip


def test_symbols_over_the_cap_are_refused_and_known_ones_still_apply() -> None:
    store = _store(max_symbols=3)
    store.apply(Mark(v=1, bot="b", seq=0, ts=T, prices={"A": 1.0, "B": 2.0}))
    assert store.apply(Mark(v=1, bot="b", seq=1, ts=T, prices={"C": 1.0, "D": 1.0})) is False
    assert store.apply(_fill(2, "C")) is True
    assert store.apply(_fill(3, "E")) is False
    assert store.apply(Mark(v=1, bot="b", seq=4, ts=T, prices={"A": 5.0, "C": 2.0})) is True
    assert _reasons(store) == {"too_many_symbols": 2}
    assert store.bots["b"].symbols == {"A", "B", "C"}
    events = metrics_of(store)["bots"]["b"]["events"]
    assert (events["received"], events["rejected"], events["lost"]) == (3, 2, 0)


def test_a_flat_position_is_dropped_and_frees_its_symbol() -> None:
    store = _store(max_symbols=1)
    store.apply(_fill(0, "A", "buy", 2.0))
    store.apply(_fill(1, "A", "sell", 2.0))
    s = store.bots["b"]
    assert (s.book.positions, s.marks, s.symbols) == ({}, {}, set())
    assert store.apply(_fill(2, "Z")) is True
    assert metrics_of(store)["bots"]["b"]["closed_trades"] == 1


def test_latency_ops_over_the_cap_are_refused_until_the_window_forgets_old_ones() -> None:
    store = _store(max_latency_ops=2)
    for i, op in enumerate(("a", "b", "c")):
        store.apply(Latency(v=1, bot="b", seq=i, ts=T, op=op, ms=1.0))
    assert _reasons(store) == {"too_many_ops": 1}
    # the bot says nothing of "a" and "b" for a whole window: they no longer count, even unread
    store.apply(Heartbeat(v=1, bot="b", seq=3, ts=T + 301))
    assert store.apply(Latency(v=1, bot="b", seq=4, ts=T + 302, op="c", ms=7.0)) is True
    assert sorted(store.bots["b"].latency.ops) == ["c"]
    by_op = metrics_of(store)["bots"]["b"]["latency_ms"]["by_op"]
    assert list(by_op) == ["c"] and by_op["c"]["max"] == 7.0


def test_latency_memory_is_one_ring_however_many_ops() -> None:
    store = _store(max_latency_ops=100)
    for i in range(100):
        store.apply(Latency(v=1, bot="b", seq=i, ts=T + i * 0.001, op=f"op{i}", ms=float(i)))
    lat = store.bots["b"].latency
    assert lat.all.count == 100 and not hasattr(lat, "by_op")
    by_op = metrics_of(store)["bots"]["b"]["latency_ms"]["by_op"]
    assert len(by_op) == 100 and by_op["op42"]["avg"] == 42.0


def test_error_components_and_apis_over_their_caps_are_refused() -> None:
    store = _store(max_error_components=2, max_apis=2)
    for i, comp in enumerate(("x", "y", "z", "x")):
        store.apply(Error(v=1, bot="b", seq=i, ts=T, component=comp, message="m", severity="error"))
    store.apply(Health(v=1, bot="b", seq=4, ts=T, apis={"p": "up", "q": "down"}))
    store.apply(Health(v=1, bot="b", seq=5, ts=T, apis={"r": "down"}))
    store.apply(Health(v=1, bot="b", seq=6, ts=T, apis={"q": "up"}))
    assert _reasons(store) == {"too_many_components": 1, "too_many_apis": 1}
    doc = metrics_of(store)["bots"]["b"]
    assert doc["errors"]["by_component"] == {"x": 2, "y": 1}
    assert doc["health"]["apis"] == {"p": "up", "q": "up"}


def test_only_allowed_bots_are_applied() -> None:
    store = _store(allowed_bots=["good"])
    store.apply(Heartbeat(v=1, bot="good", seq=0, ts=T))
    assert store.apply(Heartbeat(v=1, bot="evil", seq=0, ts=T)) is False
    assert list(store.bots) == ["good"] and _reasons(store) == {"unknown_bot": 1}


def test_forget_is_a_journaled_item_and_a_replay_forgets_again() -> None:
    store = _store()
    batches = [
        (T, 2, [Heartbeat(v=1, bot="a", seq=0, ts=T), Heartbeat(v=1, bot="b", seq=0, ts=T)]),
        (T + 1, 0, [ForgetBot(bot="a")]),
    ]
    for arrival, received, items in batches:
        store.apply_batch(items, arrival, received)
    assert list(store.bots) == ["b"]
    encoded = [checkpoint.encode_record(i, *b) for i, b in enumerate(batches)]
    replayed = _store()
    checkpoint.replay(replayed, [checkpoint.decode_record(r[checkpoint._RECORD.size :]) for r in encoded])
    assert list(replayed.bots) == ["b"] and replayed.received == 2


def _rules(**events: object) -> RuleSet:
    return RuleSet(settings(events=events) if events else settings(), 30.0)


def test_400_apis_down_on_one_bot_are_one_aggregated_alert_pair() -> None:
    store = _store(max_apis=10_000)
    for n in range(10):  # 10 health messages with 400 APIs down each
        apis = {f"api{n}-{i}": "down" for i in range(400)}
        store.apply(Health(v=1, bot="b", seq=n, ts=T, apis=apis))
    active = _rules().evaluate(store.metrics(), T).active
    assert sorted(active) == ["api_down_critical|b|api=*", "api_down|b|api=*"]
    assert active["api_down|b|api=*"].summary.startswith("4000 APIs DOWN: ")


def test_few_apis_down_keep_their_own_alerts() -> None:
    store = _store()
    apis = {f"api{i}": "down" for i in range(catalog.MAX_APIS_DOWN_ALERTS)}
    store.apply(Health(v=1, bot="b", seq=0, ts=T, apis=apis))
    active = _rules().evaluate(store.metrics(), T).active
    assert len(active) == 2 * catalog.MAX_APIS_DOWN_ALERTS


def test_a_bot_holds_at_most_the_cap_of_alerts_and_one_meta_alert_says_so() -> None:
    rules = [
        {"name": f"r{i}", "metric": "events.received", "op": ">", "value": 0, "severity": "warning"}
        for i in range(50)
    ]
    rs = RuleSet(settings(rules=rules, events={"kill_switch": True}), 30.0)
    store = _store()
    store.apply(Health(v=1, bot="b", seq=0, ts=T, kill_switch="triggered"))
    active = rs.evaluate(store.metrics(), T).active
    assert len(active) == catalog.MAX_ALERTS_PER_BOT
    meta = active["too_many_alerts|b"]
    assert meta.severity == "critical" and meta.summary.startswith("32 more conditions")
    assert "kill_switch|b" in active  # the most severe are the ones kept


def test_the_bot_cap_raises_a_critical_monitor_alert() -> None:
    store = _store(max_bots=1)
    store.apply(Heartbeat(v=1, bot="a", seq=0, ts=T))
    rs = _rules()
    assert "too_many_bots|(monitor)" not in rs.evaluate(store.metrics(), T).active
    store.apply(Heartbeat(v=1, bot="z", seq=0, ts=T))
    ev = rs.evaluate(store.metrics(), T + 1)
    obs = ev.active[f"too_many_bots|{catalog.MONITOR}"]
    assert obs.severity == "critical" and catalog.MONITOR in ev.bots
    assert "too_many_bots|(monitor)" not in rs.evaluate(store.metrics(), T + 1000).active  # quiet again


def test_tables_show_at_most_the_row_cap_and_say_how_many_more() -> None:
    from app.dashboard import health_tab, tables

    store = _store(max_apis=10_000)
    apis = {f"api{i:04d}": "up" for i in range(999)} | {"zz-down": "down"}
    store.apply(Health(v=1, bot="b", seq=0, ts=T, apis=apis))
    table = health_tab.apis_table(store.metrics().bots)
    rows = table["rows"]
    assert len(rows) == tables.MAX_TABLE_ROWS + 1
    assert rows[0][1] == "zz-down"  # what matters is shown first
    assert rows[-1] == [["and 800 more", "muted"], "", ""]
    events = tables.table(["Source", "n"], [[f"b{i}", "1"] for i in range(500)] + [["total", "500"]], "", 1)
    assert events["rows"][-2:] == [[["and 301 more", "muted"], ""], ["total", "500"]]
    assert len(events["rows"]) == tables.MAX_TABLE_ROWS + 1


def test_a_checkpoint_of_the_former_per_op_rings_is_read_into_the_shared_ring() -> None:
    import pickle

    from core.windows import LatencyWindow, _Samples

    old = LatencyWindow.__new__(LatencyWindow)
    rings = {"a": _Samples(10), "b": _Samples(10)}
    rings["a"].add(T, 5.0)
    rings["b"].add(T + 1, 7.0)
    rings["a"].add(T + 2, 9.0)
    every = _Samples(10)
    for ts, ms in ((T, 5.0), (T + 1, 7.0), (T + 2, 9.0)):
        every.add(ts, ms)
    old.__dict__.update(window_s=300.0, max_samples=10, all=every, by_op=rings)
    for ring in (*rings.values(), every):
        del ring.key  # the former rings had no key slot
    restored = pickle.loads(pickle.dumps(old))
    summary = restored.summary(T + 2)
    assert (summary.count, summary.by_op["a"].count, summary.by_op["b"].max) == (3, 2, 7.0)
    restored.add(T + 3, "c", 1.0)
    assert sorted(restored.ops) == ["a", "b", "c"]


def test_bots_allowed_in_settings_is_the_allow_list_the_store_applies() -> None:
    """``bots.allowed: [ids]`` reads as the allow-list; a bot's own settings stay beside it."""
    s = validate({"bots": {"allowed": ["good"], "good": {"starting_equity": 500.0}}}, "settings.yaml")
    assert s.limits.allowed_bots == ["good"] and list(s.bots) == ["good"]
    store = StateStore(s.core(), FakeClock())
    assert store.apply(Heartbeat(v=1, bot="evil", seq=0, ts=T)) is False
    assert _reasons(store) == {"unknown_bot": 1}
    with pytest.raises(SettingsError, match=r"bots\.allowed"):
        validate({"bots": {"allowed": ["a"]}, "limits": {"allowed_bots": ["b"]}}, "settings.yaml")
