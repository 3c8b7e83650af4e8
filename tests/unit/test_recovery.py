"""The per-bot sequencer of collectors/recovery.py: order across gaps, requests, give-up rules."""

from __future__ import annotations

import random

import pytest

from collectors.recovery import (
    HOLDING,
    ReplayRange,
    Sequencer,
    decode_range,
    encode_request,
    encode_unavailable,
)
from tests.support.clock import FakeClock

TIMEOUT = 2.0


class Feed:
    """Drives a Sequencer the way the collector does (fast path inline, slow path through offer)."""

    def __init__(self, max_held: int = 1000) -> None:
        self.clock = FakeClock()
        self.seq = Sequencer(TIMEOUT, max_held, self.clock)
        self.applied: list[tuple[str, int]] = []

    def push(self, bot: str, *seqs: int) -> None:
        for s in seqs:
            item = (bot, s)
            if self.seq.expected.get(bot) == s:
                self.seq.expected[bot] = s + 1
                self.applied.append(item)
            else:
                self.applied.extend(self.seq.offer(bot, s, item))

    def seqs(self, bot: str = "a") -> list[int]:
        return [s for b, s in self.applied if b == bot]

    def requests(self) -> list[tuple[str, int, int]]:
        out = [r[:3] for r in self.seq.requests]  # (bot, first, last): these bots send no run
        self.seq.requests.clear()
        return out


def test_in_order_passes_straight_through_and_asks_nothing() -> None:
    f = Feed()
    f.push("a", 0, 1, 2, 3)
    f.push("b", 7, 8)  # first sight of b: no history to ask for
    assert f.seqs("a") == [0, 1, 2, 3]
    assert f.seqs("b") == [7, 8]
    assert f.requests() == []
    assert not f.seq.pending


def test_gap_is_asked_for_held_and_filled_in_seq_order() -> None:
    f = Feed()
    f.push("a", 0, 1, 2, 6, 7)
    assert f.seqs() == [0, 1, 2]
    assert f.requests() == [("a", 3, 5)]
    assert f.seq.expected["a"] == HOLDING
    f.push("a", 3, 4)
    assert f.seqs() == [0, 1, 2, 3, 4]
    f.push("a", 5)
    assert f.seqs() == list(range(8))
    assert f.seq.recovered == {"a": 3}
    assert not f.seq.pending
    f.push("a", 8)  # back on the fast path
    assert f.seq.expected["a"] == 9


def test_resume_after_restart_shows_the_gap_at_the_first_event() -> None:
    f = Feed()
    f.seq.resume({"a": 41})
    f.push("a", 50)
    assert f.requests() == [("a", 42, 49)]
    f.push("a", *range(42, 50))
    assert f.seqs() == list(range(42, 51))


def test_duplicates_are_applied_once() -> None:
    f = Feed()
    f.push("a", 0, 4, 4, 5)  # 4 twice (held once), then the replay of 1..3 answered twice
    f.push("a", 1, 2, 3, 2)
    assert f.seqs() == [0, 1, 2, 3, 4, 5]
    f.push("a", 3)  # late, after the gap closed
    assert f.seqs() == [0, 1, 2, 3, 4, 5]
    assert f.seq.duplicates == 3
    assert f.seq.recovered == {"a": 3}


def test_timeout_gives_up_and_releases_what_was_held() -> None:
    f = Feed()
    f.push("a", 0, 5, 6)
    f.clock.advance(TIMEOUT - 0.01)
    assert f.seq.expire() == []
    f.clock.advance(0.02)
    f.applied.extend(f.seq.expire())
    assert f.seqs() == [0, 5, 6]  # the store sees the gap 1..4 and counts it lost
    assert f.seq.given_up == [("a", 1, 4, "no replay within 2s")]
    f.push("a", 2)  # the answer came too late: dropped, never applied out of order
    f.push("a", 7)
    assert f.seqs() == [0, 5, 6, 7]


def test_progress_extends_the_timeout() -> None:
    f = Feed()
    f.push("a", 0, 10)
    for s in range(1, 10):
        f.clock.advance(TIMEOUT * 0.9)
        assert f.seq.expire() == []
        f.push("a", s)
    assert f.seqs() == list(range(11))


def test_not_available_skips_the_range_and_applies_the_rest() -> None:
    f = Feed()
    f.push("a", 0, 10, 11)
    assert f.requests() == [("a", 1, 9)]
    f.applied.extend(f.seq.unavailable("a", 1, 6))  # the bot still has 7..9
    assert f.seqs() == [0]
    f.push("a", 7, 8, 9)
    assert f.seqs() == [0, 7, 8, 9, 10, 11]
    assert f.seq.recovered == {"a": 3}
    assert f.seq.given_up == [("a", 1, 6, "not available at the bot")]


def test_nothing_available_releases_at_once() -> None:
    f = Feed()
    f.push("a", 0, 3)
    f.applied.extend(f.seq.unavailable("a", 1, 2))
    assert f.seqs() == [0, 3]
    assert not f.seq.pending


def test_a_second_hole_is_asked_for_when_seen() -> None:
    f = Feed()
    f.push("a", 0, 3, 4, 8)
    assert f.requests() == [("a", 1, 2), ("a", 5, 7)]
    f.push("a", 6, 5, 7)  # the later hole filled first (replays may interleave)
    assert f.seqs() == [0]
    f.push("a", 2, 1)
    assert f.seqs() == list(range(9))
    assert f.seq.recovered == {"a": 5}


def test_seq_zero_during_a_gap_is_a_restart() -> None:
    f = Feed()
    f.push("a", 0, 1, 5, 0, 1)
    assert f.seqs() == [0, 1, 5, 0, 1]
    assert not f.seq.pending


def test_held_events_are_bounded() -> None:
    f = Feed(max_held=3)
    f.push("a", 0, 5, 6, 7)
    assert f.seqs() == [0]
    f.push("a", 8)  # a fourth held event: the hole is given up
    assert f.seqs() == [0, 5, 6, 7, 8]
    assert f.seq.given_up[-1][3] == "too many events held"


def test_stop_keeps_a_replaying_bot_for_asking_again_and_flushes_others() -> None:
    f = Feed()
    f.push("a", 0, 5)
    f.push("a", 1)  # a answered: it speaks the protocol
    f.push("raw", 0, 9)
    out = f.seq.stop()
    assert out == [("raw", 9)]
    assert "a" not in f.seq.expected  # re-seeded from the store when the collector opens again


def test_bots_are_independent() -> None:
    f = Feed()
    f.push("a", 0, 3)
    f.push("b", 0, 1, 2)
    assert f.seqs("b") == [0, 1, 2]
    assert f.seqs("a") == [0]


@pytest.mark.parametrize("seed", range(20))
def test_random_reorder_and_duplicates_apply_each_seq_once_in_order(seed: int) -> None:
    rng = random.Random(seed)
    f = Feed(max_held=10_000)
    n = 300
    live = sorted(rng.sample(range(1, n), n // 2))
    f.push("a", 0, *live)
    missing = sorted(set(range(max(live))) - {0, *live})
    replay = missing + rng.sample(missing, min(40, len(missing)))  # some answered twice
    rng.shuffle(replay)
    f.push("a", *replay)
    assert f.seqs() == list(range(max(live) + 1))
    assert f.seq.recovered["a"] == len(missing)
    assert not f.seq.pending


def test_wire_messages_round_trip() -> None:
    topic, payload = encode_request("bot-1", 5, 9)
    assert topic == b"replay"
    assert payload == b'{"bot":"bot-1","run":null,"from":5,"to":9}'
    assert decode_range(payload) == ReplayRange(bot="bot-1", first=5, last=9)
    assert decode_range(b'{"bot":"bot-1","from":5,"to":9}') == ReplayRange(bot="bot-1", first=5, last=9)
    topic, payload = encode_request("bot-1", 5, None, "r1")  # a catch-up: everything after 4
    assert payload == b'{"bot":"bot-1","run":"r1","from":5,"to":9007199254740992}'
    null_end = b'{"bot":"bot-1","run":"r1","from":5,"to":null}'
    assert decode_range(null_end) is None  # an answer never has an open end
    assert decode_range(null_end, open_end=True) == ReplayRange(bot="bot-1", run="r1", first=5, last=None)
    assert encode_unavailable("b", 1, 2)[0] == b"replay_unavailable"
    for bad in (b"{}", b"nope", b'{"bot":"b","from":5,"to":4}', b'{"bot":"b","from":-1,"to":4}'):
        assert decode_range(bad) is None


def test_the_recovered_note_is_counted_by_the_store_and_kept_by_the_journal() -> None:
    from collectors.events import Heartbeat
    from collectors.sink import Recovered
    from core import checkpoint
    from core.config import CoreConfig
    from core.store import StateStore

    items = [Heartbeat(v=1, bot="a", seq=s, ts=1.7e9 + s) for s in range(3)] + [Recovered(bot="a", count=2)]
    record = checkpoint.encode_record(1, 5.0, 3, items)
    arrival, received, decoded = checkpoint.decode_record(record[checkpoint.RECORD_OVERHEAD :])
    assert (arrival, received, decoded) == (5.0, 3, items)
    store = StateStore(CoreConfig(), FakeClock())
    store.apply_batch(decoded, arrival, received)
    events = store.metrics().bots["a"].events
    assert (events.received, events.recovered, events.lost) == (3, 2, 0)


def test_the_number_of_tracked_bots_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("collectors.recovery.MAX_TRACKED_BOTS", 3)
    f = Feed()
    for i in range(5):
        f.push(f"bot{i}", 0, 2)
    assert len(f.seq.expected) == 3
    assert f.seqs("bot4") == [0, 2]  # untracked: passed on as it comes
