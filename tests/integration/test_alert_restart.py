"""A monitor restart changes no alert: engine A evaluates, is dropped as SIGKILL would drop it.

Engine B then starts on the same SQLite file with a store rebuilt from the same
events (``Feed.restored()``: what a monitor restored from its journal holds) and
must neither re-announce, resolve early, repeat early nor forget.  Everything is
real (Hub, StateStore, SQLite outbox) except time, which is a fake clock; nothing
is delivered: the test reads the notifications the engine enqueued.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import msgspec
import pytest

from alerts import messages
from alerts.outbox import SchemaError
from tests.support.alerts import STALE_AFTER_S, FakeClock, Feed, make_service, settings

HOOK = {"type": "webhook", "urls": ["http://127.0.0.1:9/hook"]}  # never delivered: rows are read


def _cfg(repeat_s: float | None = None, **extra) -> object:
    extra.setdefault("events", {"stale": False})
    route = {"channels": ["hook"], "repeat_interval_s": repeat_s}
    return settings(channels={"hook": HOOK}, routes={"critical": route, "warning": route}, **extra)


def _sent(svc) -> list[tuple[str, str]]:
    """(rule, kind) of every notification enqueued so far, oldest first."""
    return [(r["payload"]["rule"], r["kind"]) for r in _rows(svc)]


def _rows(svc) -> list[dict]:

    return [msgspec.structs.asdict(r) for r in svc.outbox.notifications()]


def _run(svc, clock: FakeClock, seconds: float, each=None, step: float = 1.0) -> None:
    end = clock() + seconds
    while clock() < end - 1e-9:
        clock.advance(step)
        if each:
            each()
        svc.evaluate()


def _drawdown(feed: Feed, clock: FakeClock, tmp_path, cfg=None):
    """A bot in a 20 % drawdown (critical ``max_drawdown`` > 0.10) and a service that saw it fire."""
    svc = make_service(feed, cfg or _cfg(repeat_s=600), tmp_path)
    feed.account(100_000.0)
    feed.account(80_000.0)
    svc.evaluate()
    assert _sent(svc) == [("max_drawdown", "firing")]
    return svc


def test_firing_alert_stays_firing_with_its_history_and_sends_nothing(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path)
    before = a.active()[0]
    _run(a, clock, 20, each=lambda: feed.account(80_000.0))
    clock.advance(30)  # SIGKILL: no stop(), 30 s of outage
    fed = feed.restored()
    b = make_service(fed, _cfg(repeat_s=600), tmp_path)
    _run(b, clock, 120, each=lambda: fed.account(80_000.0))
    assert _sent(b) == [("max_drawdown", "firing")]
    after = b.active()[0]
    assert (after.alert_id, after.fired_at, after.status) == (
        before.alert_id,
        before.fired_at,
        "firing",
    )
    fed.account(100_000.0)  # the drawdown ends while the monitor runs: an ordinary resolve
    _run(b, clock, 5)
    rows = _rows(b)
    assert [r["kind"] for r in rows] == ["firing", "resolved"]
    assert "after_restart" not in rows[1]["payload"]
    assert messages.headline(rows[1]["payload"]).startswith("[CRITICAL] RESOLVED b1:")


def test_condition_false_during_the_outage_resolves_once_saying_so(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path)
    _run(a, clock, 10.5, each=lambda: feed.account(80_000.0), step=0.5)
    last_alive = clock()
    clock.advance(40)  # down for 40 s
    fed = feed.restored()
    b = make_service(fed, _cfg(repeat_s=600), tmp_path)
    restarted = clock() + 1
    _run(b, clock, 1, each=lambda: fed.account(100_000.0))  # what the bot did meanwhile arrives first
    _run(b, clock, 60, each=lambda: fed.account(100_000.0))
    rows = _rows(b)
    assert [r["kind"] for r in rows] == ["firing", "resolved"]
    p = rows[1]["payload"]
    assert p["after_restart"]["why"] == "outage"
    assert last_alive - 1.0 <= p["after_restart"]["stopped_at"] <= last_alive  # the last heartbeat
    assert p["after_restart"]["restarted_at"] == restarted
    text = "\n".join([messages.headline(p), *messages.detail_lines(p)])
    assert "RESOLVED (while the monitor was down) b1" in text
    assert f"stopped at about {messages.utc(p['after_restart']['stopped_at'])}" in text
    assert f"restarted at {messages.utc(restarted)}" in text
    assert p["note"] in text
    assert b.active() == ()


def test_graceful_stop_records_the_exact_stop_time(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path)
    clock.advance(0.4)  # within the heartbeat period: only the stop itself can record this time
    a.stop()
    stopped = clock()
    clock.advance(20)
    fed = feed.restored()
    b = make_service(fed, _cfg(), tmp_path)
    fed.account(100_000.0)
    _run(b, clock, 1)
    assert _rows(b)[-1]["payload"]["after_restart"]["stopped_at"] == stopped


def test_counter_alerts_are_not_refired_and_keep_their_hold(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={"stale": False, "counter_hold_s": 100, "critical_error_hold_s": 100})
    a = make_service(feed, cfg, tmp_path)
    feed.health()
    feed.error("exchange rejected all orders")
    feed._seq["b1"] = itertools.count(10)  # a gap: events lost
    feed.health()
    a.evaluate()
    fired_at = clock()
    assert sorted(_sent(a)) == [("critical_error", "firing"), ("events_lost", "firing")]
    _run(a, clock, 60, each=feed.health)
    clock.advance(10)  # SIGKILL, 10 s down
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 29, each=fed.health)  # up to 1 s before the hold ends: nothing new
    assert len(_rows(b)) == 2 and len(b.active()) == 2
    _run(b, clock, 1, each=fed.health)  # the hold counts from the move before the restart
    assert clock() == fired_at + 100
    assert sorted(_sent(b)[2:]) == [("critical_error", "resolved"), ("events_lost", "resolved")]
    assert all("after_restart" not in r["payload"] for r in _rows(b))
    clock.advance(5)  # SIGKILL again, the counters unchanged since they resolved
    again = fed.restored()
    c = make_service(again, cfg, tmp_path)
    _run(c, clock, 200, each=again.health)
    assert len(_rows(c)) == 4 and c.active() == ()


def test_counter_hold_ending_during_the_outage_resolves_once_as_outage(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={"stale": False, "counter_hold_s": 100})
    a = make_service(feed, cfg, tmp_path)
    feed.health()
    feed._seq["b1"] = itertools.count(10)
    feed.health()
    a.evaluate()
    assert _sent(a) == [("events_lost", "firing")]
    clock.advance(300)  # down longer than the hold
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 60, each=fed.health)
    assert _sent(b) == [("events_lost", "firing"), ("events_lost", "resolved")]
    assert _rows(b)[1]["payload"]["after_restart"]["why"] == "outage"


def test_repeat_keeps_its_schedule_across_a_restart(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path, _cfg(repeat_s=60))
    fired_at = clock()
    _run(a, clock, 50, each=lambda: feed.account(80_000.0))
    clock.advance(5)  # down 5 s, restarted 55 s after firing
    fed = feed.restored()
    b = make_service(fed, _cfg(repeat_s=60), tmp_path)
    _run(b, clock, 4.5, each=lambda: fed.account(80_000.0), step=0.5)
    assert [r["kind"] for r in _rows(b)] == ["firing"]  # not "early because of a restart"
    _run(b, clock, 0.5, each=lambda: fed.account(80_000.0), step=0.5)
    assert clock() == fired_at + 60
    assert [(r["kind"], r["idem"].split(":")[2]) for r in _rows(b)] == [("firing", "0"), ("repeat", "1")]


def test_a_repeat_missed_while_down_waits_for_the_bot_then_comes_once(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path, _cfg(repeat_s=60))
    fired_at = clock()
    _run(a, clock, 50, each=lambda: feed.account(80_000.0))
    clock.advance(80)  # down across the first and second repeat (t+60, t+120)
    fed = feed.restored()
    b = make_service(fed, _cfg(repeat_s=60), tmp_path)
    _run(b, clock, 5)  # the bot is not heard yet: the restored drawdown is not confirmed
    assert [r["kind"] for r in _rows(b)] == ["firing"]
    _run(b, clock, 1, each=lambda: fed.account(80_000.0))  # heard, still in drawdown: confirmed
    assert [r["kind"] for r in _rows(b)] == ["firing", "repeat"]
    _run(b, clock, fired_at + 180 - clock() - 1, each=lambda: fed.account(80_000.0))
    assert len(_rows(b)) == 2
    _run(b, clock, 1, each=lambda: fed.account(80_000.0))
    assert [r["idem"].split(":")[2] for r in _rows(b)] == ["0", "2", "3"]


def test_pending_for_timer_continues_from_before_the_restart(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(thresholds={"max_drawdown": {"value": 0.1, "for": 60}})
    a = make_service(feed, cfg, tmp_path)
    feed.account(100_000.0)
    feed.account(80_000.0)
    a.evaluate()
    since = clock()
    _run(a, clock, 30, each=lambda: feed.account(80_000.0))
    assert _rows(a) == [] and [x.status for x in a.active()] == ["pending"]
    clock.advance(10)  # down 10 s
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 19, each=lambda: fed.account(80_000.0))
    assert _rows(b) == []
    _run(b, clock, 1, each=lambda: fed.account(80_000.0))
    assert clock() == since + 60 and _sent(b) == [("max_drawdown", "firing")]


def test_alert_of_a_bot_unknown_after_restart_ends_once_as_unverified(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    _drawdown(feed, clock, tmp_path, _cfg(repeat_s=10))
    clock.advance(5)
    empty = Feed(clock)  # a fresh data dir beside the old alerts file: nothing known of b1
    b = make_service(empty, _cfg(repeat_s=10), tmp_path)
    _run(b, clock, STALE_AFTER_S - 1)
    assert [r["kind"] for r in _rows(b)] == ["firing"]  # no repeat of an unverifiable alert meanwhile
    _run(b, clock, 1)
    _run(b, clock, 300)
    rows = _rows(b)
    assert [r["kind"] for r in rows] == ["firing", "resolved"] and b.active() == ()
    p = rows[1]["payload"]
    assert p["after_restart"]["why"] == "unknown_bot"
    text = "\n".join([messages.headline(p), *messages.detail_lines(p)])
    assert "RESOLVED UNVERIFIED" in text and "NOT VERIFIED" in text and "check that b1 is running" in text


def test_bot_without_saved_state_that_reports_again_is_evaluated_but_never_cleared_blindly(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = _drawdown(feed, clock, tmp_path)
    feed.health(kill_switch="triggered")
    a.evaluate()
    assert sorted(_sent(a)) == [("kill_switch", "firing"), ("max_drawdown", "firing")]
    clock.advance(5)
    empty = Feed(clock)  # state lost: the drawdown's peak is gone with it
    b = make_service(empty, _cfg(repeat_s=600), tmp_path)
    empty.health(kill_switch="triggered")  # heard before the first evaluation: still no saved state
    _run(b, clock, 60, each=lambda: empty.health(kill_switch="triggered"))
    rows = _rows(b)
    assert [(r["payload"]["rule"], r["kind"]) for r in rows[2:]] == [("max_drawdown", "resolved")]
    assert rows[2]["payload"]["after_restart"]["why"] == "unknown_bot"  # not an all-clear
    assert [x.rule for x in b.active()] == ["kill_switch"]  # still true: still firing, not re-sent


def test_no_stale_alert_for_a_bot_that_is_heard_again_after_the_restart(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={})
    a = make_service(feed, cfg, tmp_path)
    _run(a, clock, 20, each=feed.health)
    clock.advance(3 * STALE_AFTER_S)  # down longer than the stale limit
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 2)  # the bot's next event takes a moment to arrive
    _run(b, clock, 100, each=fed.health)
    assert _rows(b) == [] and b.active() == ()


def test_a_bot_dead_during_the_outage_turns_stale_one_stale_period_after_the_restart(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={})
    a = make_service(feed, cfg, tmp_path)
    _run(a, clock, 20, each=feed.health)
    clock.advance(3 * STALE_AFTER_S)
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 1)
    restarted = clock()
    _run(b, clock, STALE_AFTER_S - 1)
    assert _rows(b) == []
    _run(b, clock, 1)
    assert clock() == restarted + STALE_AFTER_S and _sent(b) == [("stale", "firing")]


def test_a_stale_alert_firing_before_the_restart_stays_firing(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={})
    a = make_service(feed, cfg, tmp_path)
    feed.health()
    _run(a, clock, STALE_AFTER_S + 2)
    assert _sent(a) == [("stale", "firing")]
    clock.advance(10)
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    _run(b, clock, 200)
    assert _sent(b) == [("stale", "firing")] and [x.rule for x in b.active()] == ["stale"]
    fed.health()  # it comes back
    _run(b, clock, 1)
    assert _sent(b) == [("stale", "firing"), ("stale", "resolved")]
    assert "after_restart" not in _rows(b)[1]["payload"]


_OLD_SCHEMA = """
CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, key TEXT NOT NULL, status TEXT NOT NULL,
    severity TEXT NOT NULL, updated_at REAL NOT NULL, doc TEXT NOT NULL);
CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, idem TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL, channel TEXT NOT NULL, dest TEXT NOT NULL, kind TEXT NOT NULL,
    prio INTEGER NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL, due_at REAL NOT NULL,
    lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT, sent_at REAL);
"""


def _gap(feed: Feed, bot: str) -> None:
    """A sequence gap on ``bot``: its events-lost counter moves."""
    feed.health(bot=bot)
    feed._seq[bot] = itertools.count(next(feed._seq[bot]) + 5)
    feed.health(bot=bot)


def _to_old_layout(data: Path, scratch: Path) -> None:
    """Rewrite the alerts file in the layout of a monitor from before rule memory (same rows)."""
    path = data / "alerts.sqlite3"
    with sqlite3.connect(scratch) as db:
        db.executescript(_OLD_SCHEMA)
        db.execute("ATTACH ? AS cur", (str(path),))
        db.execute("INSERT INTO alerts SELECT * FROM cur.alerts")
        db.execute("INSERT INTO notifications SELECT * FROM cur.notifications")
    for suffix in ("", "-wal", "-shm"):
        (data / f"alerts.sqlite3{suffix}").unlink(missing_ok=True)
    scratch.rename(path)


def test_a_file_from_before_rule_memory_opens_and_does_not_refire_counters(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    cfg = _cfg(events={"stale": False, "counter_hold_s": 100})
    a = make_service(feed, cfg, tmp_path)
    _gap(feed, "b1")
    a.evaluate()
    _run(a, clock, 150, each=lambda: feed.health(bot="b1"))  # b1's alert fired and resolved
    _gap(feed, "b2")
    a.evaluate()  # b2's is firing
    assert _sent(a) == [("events_lost", "firing"), ("events_lost", "resolved"), ("events_lost", "firing")]
    a.outbox.close()
    _to_old_layout(tmp_path / "data", tmp_path / "old.sqlite3")
    clock.advance(10)
    fed = feed.restored()
    b = make_service(fed, cfg, tmp_path)
    assert not b.engine.previous.memory_known
    restarted = clock() + 1

    def both() -> None:
        fed.health(bot="b1")
        fed.health(bot="b2")

    _run(b, clock, 100, each=both)  # unchanged counters are not moves: nothing re-fires
    assert len(_rows(b)) == 3 and [x.bot for x in b.active()] == ["b2"]
    _run(b, clock, 1, each=both)  # b2's held from the restart (its last move is not in the file)
    assert clock() == restarted + 100 and _sent(b)[3:] == [("events_lost", "resolved")]
    with sqlite3.connect(tmp_path / "data" / "alerts.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_file_from_a_newer_monitor_stops_start_up(tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "alerts.sqlite3") as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(SchemaError, match="schema version 99, newer"):
        make_service(Feed(FakeClock()), _cfg(), tmp_path)
