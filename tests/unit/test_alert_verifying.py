"""An alert is never decided on older evidence than the evidence that set it.

The pure rule (``states.behind_evidence``) on its own, then the engine on a fake
clock: engine A sees a bot's drawdown fire, and is dropped as a SIGKILL drops it
before the journal committed the events that fired it; engine B starts on the same
SQLite file with a store restored *without* those events.  B must hold the alert
exactly as it was (no resolve, no re-fire, no repeat, no escalation), say it is
verifying, and decide normally only once the state caught up (the missing events
replayed) or the bot's catch-up ended.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from alerts import states
from alerts.states import Alert, StreamPosition
from core.config import CoreConfig
from core.monitor_documents import CatchUp
from core.store import StateStore
from tests.support.alerts import STALE_AFTER_S, FakeClock, Feed, make_service, settings

HOOK = {"type": "webhook", "urls": ["http://127.0.0.1:9/hook"]}  # never delivered: rows are read


def _alert(run: str | None = "r1", seq: int | None = 10) -> Alert:
    a = Alert("a1", "max_drawdown|b1", "max_drawdown", "b1", "critical", states.FIRING, 0.0)
    return states.with_evidence(a, StreamPosition(run, seq))


# ---- the pure rule ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "catch_up", "behind"),
    [
        (StreamPosition("r1", 9), None, True),  # same run, older: wait
        (StreamPosition("r1", 10), None, False),  # caught up to the evidence
        (StreamPosition("r1", 11), "asking", False),  # past it
        (StreamPosition("r1", None), None, True),  # nothing of the run yet
        (StreamPosition("r1", 3), "done", False),  # catch-up over: what is there is all there is
        (StreamPosition("r1", 3), "lost", False),
        (StreamPosition("r2", 1), "asking", True),  # another run: seqs not comparable, wait for catch-up
        (StreamPosition(None, 1), "asking", True),  # run unknown while asking
        (StreamPosition("r2", 1), None, False),  # another run and no catch-up under way
        (StreamPosition("r2", 1), "done", False),
    ],
)
def test_behind_evidence(state: StreamPosition, catch_up: str | None, behind: bool) -> None:
    assert states.behind_evidence(_alert(), state, catch_up, StreamPosition("r1", 5)) is behind


def test_no_position_means_nothing_to_wait_for() -> None:
    old = Alert("a1", "k", "max_drawdown", "b1", "critical", states.FIRING, 0.0)  # stored before positions
    assert states.behind_evidence(old, StreamPosition(None, 1), "asking", StreamPosition(None, 1)) is False


def test_unknown_runs_whose_seq_went_back_are_a_restarted_bot() -> None:
    a = _alert(run=None, seq=10)
    assert states.behind_evidence(a, StreamPosition(None, 6), None, StreamPosition(None, 6)) is True
    assert states.behind_evidence(a, StreamPosition(None, 2), None, StreamPosition(None, 6)) is False
    assert states.behind_evidence(a, StreamPosition(None, 2), "asking", StreamPosition(None, 6)) is True


def test_evidence_is_kept_with_the_state_and_old_states_still_load() -> None:
    a = _alert("r1", 42)
    back = Alert.from_dict(json.loads(json.dumps(a.to_dict())))
    assert (back.evidence_run, back.evidence_seq) == ("r1", 42)
    older = {k: v for k, v in a.to_dict().items() if not k.startswith("evidence_")}
    assert (Alert.from_dict(older).evidence_run, Alert.from_dict(older).evidence_seq) == (None, None)
    assert states.with_evidence(a, None) is a  # the monitor's own alerts have no stream


# ---- the engine ------------------------------------------------------------------------------
def _cfg() -> object:
    route = {
        "channels": ["hook"],
        "repeat_interval_s": 5,
        "escalate": [{"after_s": 8, "channels": ["hook2"]}],
    }
    return settings(
        channels={"hook": HOOK, "hook2": HOOK},
        routes={"critical": route, "warning": route},
        events={"stale": False},
    )


def _sent(svc) -> list[tuple[str, str]]:
    return [(r.payload["rule"], r.kind) for r in svc.outbox.notifications()]


def _without_last(feed: Feed, n: int) -> Feed:
    """The state as a restart restores it when the journal had not committed the last ``n`` batches."""
    store = StateStore(CoreConfig(stale_after_s=STALE_AFTER_S), clock=feed.clock)
    for arrival, received, items in feed._log.batches[:-n]:
        store.apply_batch(items, arrival, received)
    restored = Feed(feed.clock, store)
    restored._seq = feed._seq
    restored._log.batches = list(feed._log.batches[:-n])
    return restored


def _fired_then_killed(tmp_path):
    """Engine A fires on the 20 % drawdown; the restart's state lacks the event that fired it."""
    clock = FakeClock()
    feed = Feed(clock)
    a = make_service(feed, _cfg(), tmp_path)
    feed.account(100_000.0)
    a.evaluate()
    feed.account(80_000.0)  # the evidence: seq 2
    a.evaluate()
    assert _sent(a) == [("max_drawdown", "firing")]
    assert a.active()[0].evidence_seq == 2
    clock.advance(3)  # SIGKILL: no stop()
    fed = _without_last(feed, 1)
    assert fed.hub.metrics().bots["b1"].drawdown == 0.0  # the restored state: no drawdown yet
    return clock, fed, make_service(fed, _cfg(), tmp_path), feed._log.batches[-1:]


def _catch_up(svc, bot: str, state: str) -> None:
    """The collector's catch-up of ``bot`` as the metrics document reports it."""
    hub = svc.hub
    real = hub.metrics

    def metrics():
        doc = real()
        collector = msgspec.structs.replace(
            doc.collector, catch_up={bot: CatchUp(state=state, asked=1, received=0, lost=0)}
        )
        return msgspec.structs.replace(doc, collector=collector)

    hub.metrics = metrics


def test_an_alert_whose_evidence_the_restore_lacks_is_held_until_the_state_catches_up(tmp_path):
    clock, fed, b, lost = _fired_then_killed(tmp_path)
    before = b.active()[0]
    for _ in range(30):  # past the repeat (5 s) and the escalation step (8 s)
        clock.advance(1)
        b.evaluate()
    assert _sent(b) == [("max_drawdown", "firing")]  # no resolve, no re-fire, no repeat, no escalation
    held = b.active()[0]
    assert held.verifying is True
    assert msgspec.structs.replace(held, verifying=False) == msgspec.structs.replace(before, verifying=False)
    assert b.snapshot().active[0].verifying is True

    clock.advance(1)
    ((_, _, missing),) = lost  # the collector holds newer live events behind the gap and asks for it:
    fed.hub.apply_batch(missing, len(missing))  # the replay brings the state past the evidence
    b.evaluate()
    after = b.active()[0]
    assert after.verifying is False
    assert (after.alert_id, after.status) == (before.alert_id, "firing")
    assert ("max_drawdown", "resolved") not in _sent(b)


def test_a_held_alert_is_decided_once_the_catch_up_ended(tmp_path):
    clock, _fed, b, _ = _fired_then_killed(tmp_path)
    _catch_up(b, "b1", "asking")
    clock.advance(1)
    b.evaluate()
    assert b.active()[0].verifying is True and _sent(b) == [("max_drawdown", "firing")]
    _catch_up(b, "b1", "lost")  # what the bot no longer holds is gone: decide on what is there
    clock.advance(1)
    b.evaluate()
    assert ("max_drawdown", "resolved") in _sent(b)
    assert b.active() == ()


def test_an_alert_whose_evidence_was_committed_is_evaluated_at_once(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = make_service(feed, _cfg(), tmp_path)
    feed.account(100_000.0)
    feed.account(80_000.0)
    a.evaluate()
    clock.advance(3)
    b = make_service(feed.restored(), _cfg(), tmp_path)
    clock.advance(1)
    b.evaluate()
    assert b.active()[0].verifying is False


def test_an_alert_whose_resolve_the_restore_lacks_does_not_fire_again(tmp_path):
    clock = FakeClock()
    feed = Feed(clock)
    a = make_service(feed, _cfg(), tmp_path)
    feed.account(100_000.0)
    feed.account(80_000.0)
    a.evaluate()
    clock.advance(1)
    feed.account(100_000.0)  # the evidence of the resolve: seq 3
    a.evaluate()
    assert _sent(a) == [("max_drawdown", "firing"), ("max_drawdown", "resolved")]
    clock.advance(1)  # SIGKILL before the journal committed seq 3
    fed = _without_last(feed, 1)
    assert fed.hub.metrics().bots["b1"].drawdown == pytest.approx(0.2)  # the restored state: still down
    b = make_service(fed, _cfg(), tmp_path)
    for _ in range(5):
        clock.advance(1)
        b.evaluate()
    assert _sent(b) == [("max_drawdown", "firing"), ("max_drawdown", "resolved")]  # no new episode
    assert b.active() == ()
    ((_, _, missing),) = feed._log.batches[-1:]
    fed.hub.apply_batch(missing, len(missing))  # replayed: the recovery is in the state
    clock.advance(1)
    b.evaluate()
    fed.account(80_000.0)  # a real new drawdown after that is a new episode, as always
    clock.advance(1)
    b.evaluate()
    assert _sent(b)[-1] == ("max_drawdown", "firing")
    assert len(_sent(b)) == 3


def test_the_alerts_tab_says_verifying_after_restart() -> None:
    from alerts.read_model import ActiveAlert
    from app.dashboard.alerts_sections import _active_row

    assert (
        _active_row(ActiveAlert.of(_alert(), verifying=True))["status"] == "firing, verifying after restart"
    )
    assert _active_row(ActiveAlert.of(_alert(), verifying=False))["status"] == "firing"
