"""The alert engine's log lines: one ``key=value`` line per transition an operator must see.

Kept apart from the engine so that every place that decides a transition (evaluation, failover,
the restart's checks) words it the same way; the logger keeps the engine's name, ``alerts.engine``.
"""

from __future__ import annotations

import logging

from alerts import messages, states
from alerts.states import FIRING, Alert, Notice, StreamPosition
from common.logline import line

log = logging.getLogger("alerts.engine")

#: Notices that are a log line of their own (firing and resolve are logged as transitions,
#: a failover where it is decided).
_NOTICE_EVENTS = {"escalation": "alert_escalated", "repeat": "alert_repeated"}


def behind_fields(a: Alert, pos: StreamPosition) -> dict[str, object]:
    """Where an alert's evidence stands and where its bot's state stands now."""
    return {"evidence_run": a.evidence_run, "evidence_seq": a.evidence_seq, "run": pos.run, "seq": pos.seq}


def fields(a: Alert) -> dict[str, object]:
    """The fields every alert log line carries (the alert, the bot, the rule, the severity)."""
    return {"alert_id": a.alert_id, "bot": a.bot, "rule": a.rule, "severity": a.severity}


def log_transitions(
    moves: list[tuple[Alert | None, Alert | None]], notices: list[tuple[Alert, Notice]]
) -> None:
    """One line per alert that fired or resolved, and per escalation, failover and repeat sent."""
    for old, new in moves:
        was = old.status if old is not None else None
        if new is None or new.status == was:
            continue
        if new.status == FIRING:
            log.warning(line("alert_fired", **fields(new), what=new.summary))
        elif new.status == states.RESOLVED and was == FIRING:
            what = messages.what({"kind": "resolved", **new.to_dict(), **_why(new)})
            because = new.resolved_because or "cleared"
            level = logging.WARNING if because == states.UNKNOWN_BOT else logging.INFO  # not an all-clear
            log.log(level, line("alert_resolved", **fields(new), because=because, what=what))
    for a, n in notices:
        event = _NOTICE_EVENTS.get(n.kind)
        if event:
            log.warning(line(event, **fields(a), channels=",".join(n.channels)))


def _why(a: Alert) -> dict:
    return {"after_restart": {"why": a.resolved_because}} if a.resolved_because else {}
