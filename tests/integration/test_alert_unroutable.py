"""Pending notifications of a channel that left the settings are dead-lettered with the reason (SQLite)."""

from __future__ import annotations

from werkzeug import Response

from alerts.history import row_state
from alerts.read_model import DeliveryCounts
from tests.support.alerts import FakeClock, Feed, make_service, settings, webhook_channel

REASON = "channel 'hook' is not configured: it was removed from the settings"


def _pending_hook(httpserver, tmp_path):
    """A service whose webhook answers 503: the kill-switch notification stays pending for retry."""
    httpserver.expect_request("/hook").respond_with_response(Response("busy", status=503))
    clock = FakeClock()
    feed = Feed(clock)
    cfg = settings(
        channels={"hook": webhook_channel(httpserver.url_for("/hook"))},
        routes={"critical": {"channels": ["hook"]}},
    )
    svc = make_service(feed, cfg, tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    [row] = svc.outbox.notifications(channel="hook")
    assert row.status == "pending" and row.attempts == 1
    return svc


def test_reload_without_the_channel_dead_letters_its_pending_rows(httpserver, tmp_path) -> None:
    svc = _pending_hook(httpserver, tmp_path)
    svc.reload(settings())
    [row] = svc.outbox.notifications(channel="hook")
    assert (row.status, row.last_error) == ("dead", REASON)
    assert row.lease_until is None
    assert row_state(row).state == "dead-lettered"
    assert svc.outbox.channel_counts()["hook"] == DeliveryCounts(pending=0, dead=1)
    svc.stop()


def test_restart_without_the_channel_dead_letters_its_pending_rows(httpserver, tmp_path) -> None:
    _pending_hook(httpserver, tmp_path).stop()
    again = make_service(Feed(FakeClock()), settings(), tmp_path)  # same SQLite file, no channel
    [row] = again.outbox.notifications(channel="hook")
    assert (row.status, row.last_error) == ("dead", REASON)
    again.stop()


def test_a_removed_destination_is_dead_lettered_and_the_kept_one_is_not(httpserver, tmp_path) -> None:
    httpserver.expect_request("/hook").respond_with_response(Response("busy", status=503))
    url = httpserver.url_for("/hook")
    feed = Feed(FakeClock())
    routes = {"critical": {"channels": ["hook"]}}
    svc = make_service(
        feed, settings(channels={"hook": webhook_channel(url, urls=[url, url])}, routes=routes), tmp_path
    )
    feed.health(kill_switch="triggered")
    svc.pump()
    svc.reload(settings(channels={"hook": webhook_channel(url)}, routes=routes))
    rows = {r.dest: r for r in svc.outbox.notifications(channel="hook")}
    assert rows["0"].status == "pending"
    assert rows["1"].status == "dead" and "is not configured" in (rows["1"].last_error or "")
    svc.stop()
