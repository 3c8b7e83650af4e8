"""The alert state machine field by field: what each transition records and which notices it emits.

Pure: every call takes ``now``.  The lifecycle below is written out in full (every
field of every state), so a transition that forgets a field, or stamps the wrong
time on it, fails here and not only when a dashboard shows a wrong "since".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from alerts import states
from alerts.config import Escalation, Route
from alerts.rules import Observation
from alerts.states import CLOSED, FIRING, PENDING, RESOLVED, Alert, Notice

T0 = 1_000.0  # not 0: a time that is added instead of subtracted shows
LABELS = (("api", "binance"),)
ROUTE = Route(
    channels=["chat"],
    repeat_interval_s=60.0,
    escalate=[
        Escalation(after_s=100.0, channels=["pager"]),
        Escalation(after_s=200.0, channels=["chat", "mail"]),
    ],
)
POLICY = {
    "channels": ["chat"],
    "repeat_interval_s": 60.0,
    "escalate": [{"after_s": 100.0, "channels": ["pager"]}, {"after_s": 200.0, "channels": ["chat", "mail"]}],
    "send_resolved": True,
}


def _obs(value: float, for_s: float = 30.0, severity: str = "critical") -> Observation:
    return Observation(
        "api_down",
        "b1",
        severity,
        f"API binance down ({value})",
        value=value,
        threshold=1,
        op=">",
        for_s=for_s,
        labels=LABELS,
    )


def _routes(**by_severity: Route) -> Callable[[str], Route]:
    """A route per severity; asking for any other severity is a mistake, so it raises."""
    return lambda severity: by_severity[severity]


def _ids() -> Callable[[], str]:
    n = itertools.count(1)
    return lambda: f"a{next(n)}"


def test_a_delayed_alert_from_pending_to_resolved_field_by_field() -> None:
    routes, new_id = _routes(critical=ROUTE, warning=Route()), _ids()
    pending, sent = states.step(None, _obs(5), T0, routes, new_id)
    assert sent == []
    assert pending == Alert(
        alert_id="a1",
        key="api_down|b1|api=binance",
        rule="api_down",
        bot="b1",
        severity="critical",
        status=PENDING,
        since=T0,
        summary="API binance down (5)",
        value=5,
        threshold=1,
        op=">",
        labels=LABELS,
        updated_at=T0,
    )
    pending, sent = states.step(pending, _obs(7), T0 + 29.9, routes, new_id)  # still inside `for`
    assert sent == []
    assert (pending.status, pending.value, pending.summary, pending.updated_at) == (
        PENDING,
        7,
        "API binance down (7)",
        T0,
    )
    firing, sent = states.step(pending, _obs(8), T0 + 30, routes, new_id)
    assert sent == [Notice("a1", "firing", ("chat",), 0)]
    assert firing == Alert(
        alert_id="a1",
        key="api_down|b1|api=binance",
        rule="api_down",
        bot="b1",
        severity="critical",
        status=FIRING,
        since=T0,
        summary="API binance down (8)",
        value=8,
        threshold=1,
        op=">",
        labels=LABELS,
        fired_at=T0 + 30,
        policy=POLICY,
        notified=("chat",),
        updated_at=T0 + 30,
    )
    fired = T0 + 30
    alert, sent = states.due(firing, fired + 59.9)
    assert (alert, sent) == (firing, [])
    alert, sent = states.due(alert, fired + 60)
    assert sent == [Notice("a1", "repeat", ("chat",), 1)]
    assert (alert.repeats, alert.updated_at, alert.escalations) == (1, fired + 60, 0)
    alert, sent = states.due(alert, fired + 99.9)
    assert sent == []
    alert, sent = states.due(alert, fired + 100)  # escalation step 1, exactly on time
    assert sent == [Notice("a1", "escalation", ("pager",), 0)]
    assert (alert.escalations, alert.notified, alert.updated_at) == (1, ("chat", "pager"), fired + 100)
    alert, sent = states.due(alert, fired + 120)  # the next repeat goes to everyone told so far
    assert sent == [Notice("a1", "repeat", ("chat", "pager"), 2)]
    alert, sent = states.due(alert, fired + 200)  # step 2 adds only the channel not yet told
    assert sent == [
        Notice("a1", "escalation", ("mail",), 1),
        Notice("a1", "repeat", ("chat", "pager", "mail"), 3),  # escalation first, then the repeat
    ]
    assert (alert.escalations, alert.notified) == (2, ("chat", "pager", "mail"))
    alert, sent = states.due(alert, fired + 10_000)  # missed periods collapse into one repeat
    assert sent == [Notice("a1", "repeat", ("chat", "pager", "mail"), 166)]
    assert (alert.escalations, alert.repeats, alert.updated_at) == (2, 166, fired + 10_000)
    resolved, sent = states.step(alert, None, fired + 10_001, routes, new_id)
    assert sent == [Notice("a1", "resolved", ("chat", "pager", "mail"), 0)]
    ended = {"status": RESOLVED, "resolved_at": fired + 10_001, "updated_at": fired + 10_001}
    assert resolved == Alert(**{**_fields(alert), **ended})


def _fields(alert: Alert) -> dict:
    return {name: getattr(alert, name) for name in Alert.__dataclass_fields__}


def test_an_alert_that_fires_at_once_uses_the_route_of_its_severity() -> None:
    routes = _routes(critical=Route(channels=["pager"]), warning=Route(channels=["chat"]))
    alert, sent = states.step(None, _obs(5, for_s=0, severity="warning"), T0, routes, _ids())
    assert alert is not None and (alert.status, alert.fired_at, alert.notified) == (FIRING, T0, ("chat",))
    assert sent == [Notice("a1", "firing", ("chat",), 0)]


def test_a_pending_alert_that_clears_vanishes_silently() -> None:
    routes = _routes(critical=ROUTE)
    pending, _ = states.step(None, _obs(5), T0, routes, _ids())
    assert states.step(pending, None, T0 + 10, routes, _ids()) == (None, [])


def test_nothing_observed_and_no_alert_stays_nothing() -> None:
    assert states.step(None, None, T0, _routes(critical=ROUTE), _ids()) == (None, [])


def test_a_route_without_channels_fires_and_resolves_on_the_dashboard_only() -> None:
    routes = _routes(critical=Route(repeat_interval_s=60.0))
    alert, sent = states.step(None, _obs(5, for_s=0), T0, routes, _ids())
    assert (alert.status, alert.notified, sent) == (FIRING, (), [])
    assert states.due(alert, T0 + 600) == (alert, [])  # no one to repeat to
    resolved, sent = states.step(alert, None, T0 + 601, routes, _ids())
    assert (resolved.status, resolved.resolved_at, sent) == (RESOLVED, T0 + 601, [])


def test_send_resolved_off_resolves_without_a_notice() -> None:
    routes = _routes(critical=Route(channels=["chat"], send_resolved=False))
    alert, _ = states.step(None, _obs(5, for_s=0), T0, routes, _ids())
    resolved, sent = states.step(alert, None, T0 + 5, routes, _ids())
    assert (resolved.status, sent) == (RESOLVED, [])


@pytest.mark.parametrize(
    "route", [Route(channels=["chat"]), Route(channels=["chat"], repeat_interval_s=None)]
)
def test_no_repeat_interval_means_no_repeat(route: Route) -> None:
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=route), _ids())
    assert states.due(alert, T0 + 86_400) == (alert, [])


def test_an_escalation_step_whose_channels_were_all_told_sends_nothing_but_counts() -> None:
    route = Route(channels=["chat"], escalate=[Escalation(after_s=10.0, channels=["chat"])])
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=route), _ids())
    alert, sent = states.due(alert, T0 + 10)
    assert (alert.escalations, alert.notified, sent) == (1, ("chat",), [])


def test_acknowledged_pending_or_resolved_alerts_owe_nothing() -> None:
    routes = _routes(critical=ROUTE)
    pending, _ = states.step(None, _obs(5), T0, routes, _ids())
    assert states.due(pending, T0 + 10_000) == (pending, [])
    firing, _ = states.step(pending, _obs(5), T0 + 30, routes, _ids())
    acked = states.ack(firing, "alice", T0 + 40)
    assert (acked.acked_by, acked.acked_at, acked.updated_at) == ("alice", T0 + 40, T0 + 40)
    assert states.ack(acked, "bob", T0 + 50) is acked  # the first acknowledgement stands
    assert states.due(acked, T0 + 10_000) == (acked, [])
    resolved, sent = states.step(acked, None, T0 + 10_001, routes, _ids())
    assert sent == [Notice("a1", "resolved", ("chat",), 0)]  # the resolve notice still goes
    assert states.due(resolved, T0 + 20_000) == (resolved, [])


def test_failover_tells_every_channel_not_yet_told() -> None:
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=ROUTE), _ids())
    alert, sent = states.failover(alert, ["chat", "mail", "pager"], T0 + 60)
    assert sent == [Notice("a1", "failover", ("mail", "pager"), 0)]
    assert (alert.failed_over, alert.notified, alert.updated_at) == (True, ("chat", "mail", "pager"), T0 + 60)
    again, sent = states.failover(alert, ["chat", "mail"], T0 + 70)
    assert sent == [] and again.failed_over


def test_close_ends_an_alert_silently() -> None:
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=ROUTE), _ids())
    closed = states.close(alert, T0 + 5)
    assert (closed.status, closed.resolved_at, closed.updated_at) == (CLOSED, T0 + 5, T0 + 5)


def test_an_alert_survives_its_stored_form() -> None:
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=ROUTE), _ids())
    stored = alert.to_dict()
    assert stored["labels"] == {"api": "binance"} and stored["notified"] == ("chat",)
    assert Alert.from_dict(stored) == alert
    assert Notice("a1", "repeat", ("chat",), 3).key == "a1:repeat:3"


def test_an_alert_stored_without_a_send_resolved_choice_still_announces_its_end() -> None:
    alert, _ = states.step(None, _obs(5, for_s=0), T0, _routes(critical=ROUTE), _ids())
    older = Alert.from_dict(
        {**alert.to_dict(), "policy": {"channels": ["chat"]}}
    )  # written before the choice
    _, sent = states.step(older, None, T0 + 5, _routes(critical=ROUTE), _ids())
    assert sent == [Notice("a1", "resolved", ("chat",), 0)]
