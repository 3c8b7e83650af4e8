"""The alert state machine: inactive -> pending (during ``for``) -> firing -> resolved.

Pure: every function takes ``now`` and returns the new state plus the
notifications it calls for; nothing here sends, sleeps or reads a clock.  This is
where the dedup promise lives: a notice is emitted only on a state change
(firing, resolved), on a due repeat, on a due escalation step, or on failover.
Evaluating the same facts twice, at the same time, emits nothing the second time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from alerts.catalog import urgent_first
from alerts.rule_settings import Route
from alerts.rules import Observation

PENDING, FIRING, RESOLVED, CLOSED = "pending", "firing", "resolved", "closed"
#: Why an alert carried over a monitor restart ended without being seen to clear live:
#: its condition was already false when the monitor came back (``OUTAGE``), or its bot
#: is unknown to the restarted monitor, so it can no longer be evaluated (``UNKNOWN_BOT``).
OUTAGE, UNKNOWN_BOT = "outage", "unknown_bot"
#: Closed because the operator forgot its bot (Health tab): nothing more will be known of it.
FORGOTTEN = "forgotten"


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification to enqueue: which alert, why, to which channels; ``n`` makes it unique."""

    alert_id: str
    kind: str  # firing | repeat | escalation | failover | resolved
    channels: tuple[str, ...]
    n: int = 0

    @property
    def key(self) -> str:
        return f"{self.alert_id}:{self.kind}:{self.n}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert identity's current episode. Immutable; transitions return a copy."""

    alert_id: str
    key: str
    rule: str
    bot: str
    severity: str
    status: str
    since: float  # when the condition was first seen true in this episode
    summary: str = ""
    value: Any = None
    threshold: Any = None
    op: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    fired_at: float | None = None
    resolved_at: float | None = None
    policy: dict = field(default_factory=dict)  # the route in force when it fired
    notified: tuple[str, ...] = ()  # channels told it is firing
    escalations: int = 0  # escalation steps done
    repeats: int = 0
    acked_by: str | None = None
    acked_at: float | None = None
    failed_over: bool = False
    updated_at: float = 0.0
    resolved_because: str | None = None  # OUTAGE | UNKNOWN_BOT; None = seen to clear live
    resolved_summary: str | None = None  # the all-clear in words, with the figure when it cleared
    # where in its bot's stream the evidence that last changed this alert was (metrics.bots[bot].events);
    # None for a monitor-scoped alert, or one stored by a monitor that did not record it
    evidence_run: str | None = None
    evidence_seq: int | None = None
    # a silence muted a notice of it (its firing, an escalation, a failover): ``notified`` lacks the
    # channels not told, and when no silence mutes it any more it is notified once (alerts/silencing.py)
    suppressed: bool = False
    released_at: float | None = None  # when a silence's end let its firing be told (failover counts from it)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"] = dict(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Alert:
        d = {k: v for k, v in d.items() if k in _FIELDS}  # a newer file's extra fields are not ours
        d["labels"] = tuple(sorted((d.get("labels") or {}).items()))
        d["notified"] = tuple(d.get("notified") or ())
        return cls(**d)


_FIELDS = frozenset(Alert.__dataclass_fields__)


def active_order(a: Alert | Mapping[str, Any]) -> tuple[int, bool, float]:
    """Sort key of open alerts wherever they are listed: severity (critical first), then
    firing before pending, then the oldest first (the longest-standing problem on top)."""
    get = a.get if isinstance(a, Mapping) else lambda k: getattr(a, k)
    return (urgent_first(get("severity")), get("status") != FIRING, get("since") or 0.0)


def policy_of(route: Route) -> dict:
    """Freeze a route into the alert, so a later reload does not change its escalation."""
    return {
        "channels": list(route.channels),
        "repeat_interval_s": route.repeat_interval_s,
        "escalate": [{"after_s": e.after_s, "channels": list(e.channels)} for e in route.escalate],
        "send_resolved": route.send_resolved,
    }


def step(
    alert: Alert | None,
    obs: Observation | None,
    now: float,
    route_for: Callable[[str], Route],
    new_id: Callable[[], str],
    because: str | None = None,
    all_clear: str | None = None,
) -> tuple[Alert | None, list[Notice]]:
    """Advance one identity given whether its condition holds now (``obs``) or not (None).

    ``because`` says why a clear is not an ordinary one (``OUTAGE``, ``UNKNOWN_BOT``);
    ``all_clear`` is what the resolve says (``circuit breaker closed again``).
    """
    if alert is None:
        if obs is None:
            return None, []
        alert = Alert(
            alert_id=new_id(),
            key=obs.key,
            rule=obs.rule,
            bot=obs.bot,
            severity=obs.severity,
            status=PENDING,
            since=now,
            labels=obs.labels,
            updated_at=now,
        )
        alert = _observe(alert, obs)
    elif obs is None:
        return clear(alert, now, because, all_clear)
    else:
        alert = _observe(alert, obs)
    if alert.status == PENDING and now - alert.since >= obs.for_s:
        return _fire(alert, now, route_for(alert.severity))
    return alert, []


def _observe(alert: Alert, obs: Observation) -> Alert:
    """Refresh what is shown (value, summary) without any notification."""
    return replace(alert, summary=obs.summary, value=obs.value, threshold=obs.threshold, op=obs.op)


def _fire(alert: Alert, now: float, route: Route) -> tuple[Alert, list[Notice]]:
    policy = policy_of(route)
    chans = tuple(policy["channels"])
    fired = replace(alert, status=FIRING, fired_at=now, policy=policy, notified=chans, updated_at=now)
    return fired, ([Notice(alert.alert_id, "firing", chans)] if chans else [])


def clear(
    alert: Alert, now: float, because: str | None = None, all_clear: str | None = None
) -> tuple[Alert | None, list[Notice]]:
    """The condition no longer holds: a pending alert vanishes silently (flap), a firing one resolves."""
    if alert.status == PENDING:
        return None, []
    resolved = replace(
        alert,
        status=RESOLVED,
        resolved_at=now,
        updated_at=now,
        resolved_because=because,
        resolved_summary=all_clear,
    )
    if alert.notified and alert.policy.get("send_resolved", True):
        return resolved, [Notice(alert.alert_id, "resolved", alert.notified)]
    return resolved, []


def due(alert: Alert, now: float, *, repeat: bool = True) -> tuple[Alert, list[Notice]]:
    """Time-driven notices of a firing alert: escalation steps and repeats (none once acked).

    ``repeat=False`` holds a due repeat back (it is sent at a later call, the missed
    periods collapsed into one): a repeat restates a fact, so it waits until the fact
    is confirmed after a restart; an escalation step never waits.
    """
    if alert.status != FIRING or alert.acked_at is not None or alert.fired_at is None:
        return alert, []
    alert, notices = _escalate(alert, now)
    if not repeat:
        return alert, notices
    alert, more = _repeat(alert, now)
    return alert, notices + more


def _escalate(alert: Alert, now: float) -> tuple[Alert, list[Notice]]:
    steps = alert.policy.get("escalate") or []
    notices: list[Notice] = []
    while alert.escalations < len(steps) and now >= alert.fired_at + steps[alert.escalations]["after_s"]:
        new = tuple(c for c in steps[alert.escalations]["channels"] if c not in alert.notified)
        if new:
            notices.append(Notice(alert.alert_id, "escalation", new, alert.escalations))
        alert = replace(
            alert, escalations=alert.escalations + 1, notified=alert.notified + new, updated_at=now
        )
    return alert, notices


def _repeat(alert: Alert, now: float) -> tuple[Alert, list[Notice]]:
    interval = alert.policy.get("repeat_interval_s")
    if not interval or not alert.notified:
        return alert, []
    periods = math.floor((now - alert.fired_at) / interval)
    if periods <= alert.repeats:
        return alert, []
    # Missed periods (monitor was down) collapse into one repeat: no burst after a restart.
    alert = replace(alert, repeats=periods, updated_at=now)
    return alert, [Notice(alert.alert_id, "repeat", alert.notified, periods)]


def ack(alert: Alert, by: str, now: float) -> Alert:
    """Acknowledge: stops escalation and repeats; the resolve notice is still sent."""
    if alert.acked_at is not None:
        return alert
    return replace(alert, acked_by=by, acked_at=now, updated_at=now)


def failover(alert: Alert, all_channels: list[str], now: float) -> tuple[Alert, list[Notice]]:
    """Nobody confirmed a critical alert in time: tell every other configured channel at once."""
    new = tuple(c for c in all_channels if c not in alert.notified)
    alert = replace(alert, failed_over=True, notified=alert.notified + new, updated_at=now)
    return alert, ([Notice(alert.alert_id, "failover", new)] if new else [])


#: A bot's catch-up after a restart that is over: what the state will hold of the run is in it.
CATCH_UP_ENDED = frozenset({"done", "lost"})


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a bot's state stands in its event stream: its run, the newest seq applied in it."""

    run: str | None
    seq: int | None


def with_evidence(alert: Alert, at: StreamPosition | None) -> Alert:
    """Remember the position of the evidence that just changed ``alert`` (None: not a bot's)."""
    if at is None or at.seq is None:
        return alert
    return replace(alert, evidence_run=at.run, evidence_seq=at.seq)


def behind_evidence(
    alert: Alert, state: StreamPosition, catch_up: str | None, restored: StreamPosition
) -> bool:
    """True while the bot's state is older than the evidence that set ``alert``.

    After a restart the restored state can lack the newest events the previous run
    evaluated (they were applied, but the journal had not committed them).  Deciding
    on it would resolve, re-fire or repeat on older facts than those that set the
    alert, so the alert waits, unchanged, until the state has caught up past the
    evidence (same run, seq reached) or the bot's catch-up ended (``done``, ``lost``).
    A different run cannot be compared by seq: it waits only while the catch-up asks.
    A run that is unknown on both sides and whose seq went back below the restored
    one is a bot that restarted its sequence: a different run.
    """
    if alert.evidence_seq is None or catch_up in CATCH_UP_ENDED:
        return False
    same_run = state.run == alert.evidence_run
    if same_run and state.run is None and _restarted(state, restored):
        same_run = False
    if same_run:
        return state.seq is None or state.seq < alert.evidence_seq
    return catch_up == "asking"


def _restarted(state: StreamPosition, restored: StreamPosition) -> bool:
    return state.seq is not None and restored.seq is not None and state.seq < restored.seq


def close(alert: Alert, now: float) -> Alert:
    """Silently end an alert whose rule was removed by a reload (a reload sends nothing)."""
    return replace(alert, status=CLOSED, resolved_at=now, updated_at=now)
