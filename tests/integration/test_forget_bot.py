"""The operator forgets a bot: out of the state, its alerts closed with a note, forgotten after a restart."""

from __future__ import annotations

from alerts import messages
from tests.support.alerts import FakeClock, Feed, make_service, settings

HOOK = {"type": "webhook", "urls": ["http://127.0.0.1:9/hook"]}  # never delivered: rows are read


def _cfg() -> object:
    route = {"channels": ["hook"], "repeat_interval_s": 60}
    return settings(
        channels={"hook": HOOK}, routes={"critical": route, "warning": route}, events={"stale": False}
    )


def _sent(svc) -> list[tuple[str, str, str]]:
    rows = [r.payload for r in svc.outbox.notifications()]
    return [(p["bot"], p["rule"], p["kind"]) for p in rows]


def _forget(feed: Feed, svc, bot: str) -> int:
    """What the operator facade's ``forget_bot`` does: the store first (journaled), then the alerts."""
    assert feed.hub.forget(bot) is True
    return svc.forget(bot)


def test_forgetting_a_bot_closes_its_alerts_with_the_note_and_only_its_own(tmp_path) -> None:
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(), tmp_path)
    for bot in ("gone", "kept"):
        feed.account(100_000.0, bot=bot)
        feed.account(80_000.0, bot=bot)  # a 20 % drawdown: critical
    svc.evaluate()
    assert sorted(a.bot for a in svc.active()) == ["gone", "kept"]
    assert _forget(feed, svc, "gone") == 1
    assert feed.hub.bots() == ["kept"]
    for _ in range(300):  # five repeat periods: nothing more about the forgotten bot
        clock.advance(1.0)
        feed.account(80_000.0, bot="kept")
        svc.evaluate()
    assert [a.bot for a in svc.active()] == ["kept"]
    gone = [s for s in _sent(svc) if s[0] == "gone"]
    assert gone == [("gone", "max_drawdown", "firing"), ("gone", "max_drawdown", "resolved")]
    closed = next(
        r.payload for r in svc.outbox.notifications() if r.payload["bot"] == "gone" and r.kind == "resolved"
    )
    text = "\n".join([messages.headline(closed), *messages.detail_lines(closed)])
    assert closed["note"] == "bot forgotten by the operator" and closed["note"] in text
    assert "CLOSED gone: bot forgotten by the operator; last known: drawdown" in text


def test_an_unknown_bot_is_not_forgotten_and_nothing_is_journaled(tmp_path) -> None:
    feed = Feed(FakeClock())
    feed.account(1.0, bot="b1")
    batches = len(feed._log.batches)
    assert feed.hub.forget("nobody") is False
    assert len(feed._log.batches) == batches


def test_a_restart_after_a_forget_keeps_the_bot_forgotten(tmp_path) -> None:
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(), tmp_path)
    feed.account(100_000.0, bot="gone")
    feed.account(80_000.0, bot="gone")
    feed.account(100_000.0, bot="kept")
    svc.evaluate()
    _forget(feed, svc, "gone")
    clock.advance(30)  # SIGKILL and restart on the journal
    fed = feed.restored()
    again = make_service(fed, _cfg(), tmp_path)
    for _ in range(120):
        clock.advance(1.0)
        fed.account(100_000.0, bot="kept")
        again.evaluate()
    assert fed.hub.bots() == ["kept"] and again.active() == ()
    assert [s for s in _sent(again) if s[0] == "gone"] == [
        ("gone", "max_drawdown", "firing"),
        ("gone", "max_drawdown", "resolved"),
    ]


def test_alerts_of_a_bot_unknown_after_a_restart_end_once_and_are_not_repeated(tmp_path) -> None:
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _cfg(), tmp_path)
    feed.account(100_000.0, bot="lost")
    feed.account(80_000.0, bot="lost")
    svc.evaluate()
    clock.advance(30)
    empty = Feed(clock)  # restarted without any state of the bot (journal lost)
    again = make_service(empty, _cfg(), tmp_path)
    for _ in range(600):  # ten repeat periods
        clock.advance(1.0)
        again.evaluate()
    assert again.active() == ()
    assert _sent(again) == [("lost", "max_drawdown", "firing"), ("lost", "max_drawdown", "resolved")]
