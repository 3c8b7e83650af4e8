"""State re-sends to the stateful channel types (Alertmanager): their notices, and theirs only.

A stateful service (its ``ChannelType`` says ``stateful=True``) keeps an alert only while it
is told about it: every firing alert notified to such a channel is re-sent every
``resend_s`` of that channel (a ``refresh`` notice), and a resolved one keeps being re-sent
for :data:`RESOLVED_RESEND_S`, so a service peer that was down, restarted or joined late
learns the state.  Repeats and escalation steps are the service's own job there: this module
takes the stateful channels out of the engine's ``repeat`` and ``escalation`` notices.

Survives a restart: the engine restores its firing alerts, and the resolves still being
re-sent are read back once through ``load_ended`` (the alerts ended since then).  The
notices it returns go through the engine's one gate like every other notice.

Pure: the engine hands it its alerts, transitions and time; it keeps only when each
(alert, channel) was last sent, bounded by the alerts it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alerts.channels import registry
from alerts.config import AlertsSettings
from alerts.notification import REFRESH_EVENT
from alerts.states import FIRING, RESOLVED, Alert, Notice

#: How long a resolve keeps being re-sent: long enough for a peer back from a short outage.
RESOLVED_RESEND_S = 900.0
#: The engine's notices that a stateful service makes itself.
_THEIRS = ("repeat", "escalation")


def stateful_channels(settings: AlertsSettings) -> dict[str, float]:
    """Configured channels of a stateful type -> their re-send period (``resend_s``)."""
    return {
        name: float(cfg.resend_s)
        for name, cfg in settings.channels.items()
        if getattr(registry.TYPES.get(cfg.type), "stateful", False)
    }


def without_stateful(notices: list[tuple[Alert, Notice]], stateful: dict[str, float]) -> list:
    """The engine's repeats and escalation steps, minus the channels that do their own."""
    out = []
    for alert, n in notices:
        if n.kind in _THEIRS:
            kept = tuple(c for c in n.channels if c not in stateful)
            if not kept:
                continue
            n = Notice(n.alert_id, n.kind, kept, n.n)
        out.append((alert, n))
    return out


class StateRefresh:
    """When each alert was last told to each stateful channel, and the resolves still re-sent."""

    def __init__(self, load_ended: Callable[[float], list[Alert]]) -> None:
        self._load_ended: Callable[[float], list[Alert]] | None = load_ended
        self._sent: dict[tuple[str, str], float] = {}
        self._ended: dict[str, Alert] = {}

    def notices(
        self,
        settings: AlertsSettings,
        alerts: Iterable[Alert],
        notices: list[tuple[Alert, Notice]],
        now: float,
    ) -> list[tuple[Alert, Notice]]:
        """``notices`` without repeats/escalation for stateful channels, plus the re-sends now due."""
        stateful = stateful_channels(settings)
        if not stateful:
            return notices
        if self._load_ended is not None:  # the resolves of the previous run still being re-sent
            self._ended.update({a.alert_id: a for a in self._load_ended(now - RESOLVED_RESEND_S)})
            self._load_ended = None
        kept = without_stateful(notices, stateful)
        self._note_sent(kept, stateful, now)
        firing = [a for a in alerts if a.status == FIRING]
        self._ended = _still_resent(self._ended, {a.key for a in firing}, now)
        due = [(a, n) for a in [*firing, *self._ended.values()] for n in self._due(a, stateful, now)]
        live = {a.alert_id for a in firing} | set(self._ended)
        self._sent = {k: t for k, t in self._sent.items() if k[0] in live}
        return kept + due

    def _note_sent(self, notices: list[tuple[Alert, Notice]], stateful: dict[str, float], now: float) -> None:
        """A firing, failover or resolve to a stateful channel is a send of the state."""
        for alert, n in notices:
            for c in n.channels:
                if c in stateful:
                    self._sent[(alert.alert_id, c)] = now
            if alert.status == RESOLVED and any(c in stateful for c in alert.notified):
                self._ended[alert.alert_id] = alert

    def _due(self, alert: Alert, stateful: dict[str, float], now: float) -> list[Notice]:
        """One ``refresh`` notice per stateful channel of the alert whose period has passed."""
        out = []
        for c in alert.notified:
            period = stateful.get(c)
            if period is None or now - self._sent.get((alert.alert_id, c), float("-inf")) < period:
                continue
            self._sent[(alert.alert_id, c)] = now
            out.append(Notice(alert.alert_id, REFRESH_EVENT, (c,), round(now * 1000)))
        return out


def _still_resent(ended: dict[str, Alert], firing: set[str], now: float) -> dict[str, Alert]:
    """Resolves younger than 15 minutes, except those whose identity fires again: the service
    knows an alert by its labels, so an old episode's resolve would end the new one."""
    return {
        i: a
        for i, a in ended.items()
        if a.status == RESOLVED and a.key not in firing and now - (a.resolved_at or now) < RESOLVED_RESEND_S
    }
