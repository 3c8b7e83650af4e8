"""The sequencer with runs and catch-up: seq is per run, a start asks every known bot at once."""

from __future__ import annotations

from collectors.recovery import RESEND_S, Sequencer
from tests.support.clock import FakeClock

TIMEOUT = 2.0


class Feed:
    """Drives a Sequencer the way the collector does: the fast path checks seq and run."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.seq = Sequencer(TIMEOUT, 1000, self.clock)
        self.applied: list[tuple[str, str | None, int]] = []

    def push(self, bot: str, run: str | None, *seqs: int) -> None:
        s = self.seq
        for n in seqs:
            item = (bot, run, n)
            if s.expected.get(bot) == n and s.runs.get(bot) == run:
                s.expected[bot] = n + 1
                self.applied.append(item)
            else:
                self.applied.extend(s.offer(bot, n, item, run))

    def take(self) -> list[tuple[str, int, int | None, str | None]]:
        out = list(self.seq.requests)
        self.seq.requests.clear()
        return out


def test_a_new_run_is_never_applied_under_the_old_runs_numbers() -> None:
    f = Feed()
    f.push("a", "r1", 0, 1, 2)
    f.push("a", "r2", 3, 4)  # the old run's next numbers, from a new run: not in order
    assert f.applied == [("a", "r1", 0), ("a", "r1", 1), ("a", "r1", 2)]
    assert f.take() == [("a", 0, 2, "r2")]  # the new run is asked from its own start
    f.push("a", "r2", 0, 1, 2)  # its replay
    assert [x for x in f.applied if x[1] == "r2"] == [("a", "r2", n) for n in range(5)]
    assert f.seq.recovered == {"a": 3}
    assert not f.seq.pending


def test_the_old_runs_missing_part_is_given_up_when_a_new_run_starts() -> None:
    f = Feed()
    f.push("a", "r1", 0, 1, 5)  # 2..4 asked for, 5 held
    assert f.take() == [("a", 2, 4, "r1")]
    f.push("a", "r2", 0)  # the bot restarted before answering
    assert f.applied[-2:] == [("a", "r1", 5), ("a", "r2", 0)]
    assert f.seq.given_up == [("a", 2, 4, "the bot started a new run")]
    f.push("a", "r1", 2, 3, 4)  # a late answer of the old run is not applied to the new one
    assert f.applied[-1] == ("a", "r2", 0)


def test_answers_of_another_run_are_ignored() -> None:
    f = Feed()
    f.push("a", "r2", 0, 1, 5)
    assert f.seq.unavailable("a", 2, 4, "r1") == []  # an old run's answer
    assert f.seq.pending
    assert f.seq.unavailable("a", 2, 4, "r2") == [("a", "r2", 5)]


def test_catch_up_asks_at_once_and_again_until_the_bot_answers() -> None:
    f = Feed()
    f.seq.start_catch_up({"a": 9, "b": 3}, {"a": "r1"}, extra=["c", "a"])
    assert {bot: c.state for bot, c in f.seq.catch_up.items()} == dict.fromkeys("abc", "asking")
    f.seq.resend()
    assert f.take() == [("a", 10, None, "r1"), ("b", 4, None, None), ("c", 0, None, None)]
    f.seq.resend()
    assert f.take() == []  # not before RESEND_S
    f.clock.advance(RESEND_S)
    f.applied.extend(f.seq.last("a", 9, "r1"))  # a: nothing was missing
    f.seq.resend()
    assert [r[0] for r in f.take()] == ["b", "c"]
    assert f.seq.catch_up["a"].state == "done"
    assert f.seq.catch_up["a"].asked == 1


def test_catch_up_applies_the_replay_then_what_arrived_live_meanwhile() -> None:
    f = Feed()
    f.seq.start_catch_up({"a": 9}, {"a": "r1"})
    f.seq.resend()
    f.push("a", "r1", 14, 15)  # live, sent after the request was answered: held
    f.applied.extend(f.seq.last("a", 13, "r1"))  # sent up to 13 when asked: 10..13 follow
    f.push("a", "r1", 10, 11, 12, 13)
    assert [n for _, _, n in f.applied] == [10, 11, 12, 13, 14, 15]
    cu = f.seq.catch_up["a"]
    assert (cu.state, cu.received, cu.lost) == ("done", 4, 0)
    assert f.seq.recovered == {"a": 4}


def test_catch_up_counts_what_the_bot_no_longer_holds() -> None:
    f = Feed()
    f.seq.start_catch_up({"a": 9}, {"a": "r1"})
    f.seq.resend()
    f.seq.last("a", 13, "r1")
    f.seq.unavailable("a", 10, 11, "r1")
    f.push("a", "r1", 12, 13)
    cu = f.seq.catch_up["a"]
    assert (cu.state, cu.received, cu.lost) == ("done", 2, 2)


def test_a_bot_that_never_answers_is_lost_after_the_timeout_and_its_live_events_go_on() -> None:
    f = Feed()
    f.seq.start_catch_up({"a": 9}, {"a": "r1"})
    f.seq.resend()
    f.push("a", "r1", 12)  # live, held behind the open catch-up
    f.clock.advance(TIMEOUT)
    f.applied.extend(f.seq.expire())
    cu = f.seq.catch_up["a"]
    assert (cu.state, cu.lost) == ("lost", 2)
    assert f.applied == [("a", "r1", 12)]


def test_a_bot_first_asked_without_a_run_adopts_the_run_it_answers_with() -> None:
    f = Feed()
    f.seq.start_catch_up({}, {}, extra=["c"])
    f.seq.resend()
    f.seq.last("c", 1, "rx")
    f.push("c", "rx", 0, 1, 2)
    assert [n for _, _, n in f.applied] == [0, 1, 2]
    assert f.seq.catch_up["c"].state == "done"
    assert f.seq.runs["c"] == "rx"


def test_a_new_run_during_catch_up_ends_the_old_runs_catch_up_as_lost() -> None:
    f = Feed()
    f.seq.start_catch_up({"a": 9}, {"a": "r1"})
    f.seq.resend()
    f.take()
    f.push("a", "r2", 3)
    assert f.seq.catch_up["a"].state == "lost"
    assert f.take() == [("a", 0, 2, "r2")]
