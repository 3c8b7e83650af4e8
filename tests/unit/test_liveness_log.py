"""The stale/back transitions the operator's log reports, on a fake clock.

Each look passes what the metrics document says of every bot (``stale`` and the
age of its last event); only changes come out, once each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from app.hub import Hub
from app.liveness_log import LivenessLog, LivenessWatcher, Transition
from collectors.events import Heartbeat
from core.config import CoreConfig
from core.store import StateStore
from tests.support.clock import FakeClock

THRESHOLD = 10.0


@dataclass(frozen=True)
class Seen:
    """One bot as the metrics document shows it."""

    last_event_age_s: float | None
    stale: bool


def live(age: float) -> Seen:
    return Seen(age, age > THRESHOLD)


def test_a_bot_going_silent_is_reported_stale_once_then_back_with_its_silence(
    fake_clock: FakeClock,
) -> None:
    tracker = LivenessLog(fake_clock)
    assert tracker.observe({"a": live(0.2)}, THRESHOLD) == []  # known and live: nothing to say
    fake_clock.advance(12.0)
    last_event_at = fake_clock() - 12.2
    assert tracker.observe({"a": live(12.2)}, THRESHOLD) == [Transition("stale", "a", 12.2, THRESHOLD)]
    fake_clock.advance(1.0)
    assert tracker.observe({"a": live(13.2)}, THRESHOLD) == []  # still stale: not said again
    fake_clock.advance(30.0)
    back = tracker.observe({"a": live(0.5)}, THRESHOLD)  # an event arrived 0.5 s before this look
    assert len(back) == 1
    assert (back[0].kind, back[0].bot) == ("back", "a")
    assert back[0].silent_s == pytest.approx(fake_clock() - 0.5 - last_event_at)  # 42.7 s of silence
    assert back[0].silent_s == pytest.approx(42.7)
    fake_clock.advance(1.0)
    assert tracker.observe({"a": live(1.5)}, THRESHOLD) == []


def test_only_the_bot_that_changed_is_reported(fake_clock: FakeClock) -> None:
    tracker = LivenessLog(fake_clock)
    tracker.observe({"a": live(1.0), "b": live(1.0)}, THRESHOLD)
    fake_clock.advance(15.0)
    changes = tracker.observe({"a": live(16.0), "b": live(0.1)}, THRESHOLD)
    assert [(c.kind, c.bot) for c in changes] == [("stale", "a")]


def test_bots_already_stale_at_the_first_look_are_reported(fake_clock: FakeClock) -> None:
    """A restarted monitor says at once which restored bots have not come back."""
    tracker = LivenessLog(fake_clock)
    changes = tracker.observe({"old": live(3600.0), "new": live(0.3)}, THRESHOLD)
    assert changes == [Transition("stale", "old", 3600.0, THRESHOLD)]


def test_a_forgotten_bot_is_dropped_and_is_news_again_when_it_returns(fake_clock: FakeClock) -> None:
    tracker = LivenessLog(fake_clock)
    tracker.observe({"a": live(20.0)}, THRESHOLD)
    assert tracker.observe({}, THRESHOLD) == []  # forgotten: no line, no "back" later
    fake_clock.advance(5.0)
    assert tracker.observe({"a": live(0.1)}, THRESHOLD) == []


def test_a_bot_that_never_sent_anything_has_no_age(fake_clock: FakeClock) -> None:
    tracker = LivenessLog(fake_clock)
    assert tracker.observe({"a": Seen(None, True)}, THRESHOLD) == [Transition("stale", "a", None, THRESHOLD)]
    back = tracker.observe({"a": live(0.2)}, THRESHOLD)
    assert [(c.kind, c.silent_s) for c in back] == [("back", None)]


def test_the_lines_are_key_value() -> None:
    assert Transition("stale", "a b", 12.34, 10.0).line() == (
        'event=bot_stale bot="a b" last_event_age_s=12.3 threshold_s=10'
    )
    assert (
        Transition("back", "a", 0.2, 10.0, 43.71).line()
        == "event=bot_back bot=a silent_s=43.7 threshold_s=10"
    )


def test_the_watcher_reads_the_hub_and_logs_each_change(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The thread's one look, without the thread: hub liveness in, log lines out."""
    hub = Hub(StateStore(CoreConfig(stale_after_s=THRESHOLD), fake_clock))
    watcher = LivenessWatcher(hub)
    hub.apply(Heartbeat(v=1, bot="a", seq=0, ts=fake_clock()))
    caplog.set_level(logging.INFO, logger="app.liveness_log")
    assert watcher.check() == []
    fake_clock.advance(THRESHOLD + 1)
    assert [c.kind for c in watcher.check()] == ["stale"]
    fake_clock.advance(4.0)
    hub.apply(Heartbeat(v=1, bot="a", seq=1, ts=fake_clock()))
    assert [c.kind for c in watcher.check()] == ["back"]
    hub.set_stale_after(60.0)  # a threshold saved from the form is the one reported
    fake_clock.advance(61.0)
    watcher.check()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("WARNING", "event=bot_stale bot=a last_event_age_s=11 threshold_s=10"),
        ("INFO", "event=bot_back bot=a silent_s=15 threshold_s=10"),
        ("WARNING", "event=bot_stale bot=a last_event_age_s=61 threshold_s=60"),
    ]
