"""The alert read model: what the page, ``GET /api/alerts`` and chat commands read of the alerts.

Typed and frozen (msgspec Structs), built once per change by the snapshot publisher
(alerts/snapshot.py) and shared by every reader: an open alert, a delivery-history
entry, the status (firing counts per bot, the alert store's health, each channel's
health and queue).  Readers read attributes; the JSON of ``/api/alerts`` is these
Structs encoded as they are (:func:`plain`).

Pure: built from the engine's states and the outbox's rows, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec

from alerts.catalog import MONITOR, SEVERITIES
from alerts.silences import Silence
from alerts.states import FIRING, Alert
from core.exposition import counter, gauge, labelled


class ActiveAlert(msgspec.Struct, frozen=True, kw_only=True):
    """A pending or firing alert, as stored, with what the page adds to it.

    ``verifying``: carried over a restart and held until its bot's state caught up.
    ``delivered``: the channels that confirmed delivering it.
    ``silence_id``, ``silenced_by``, ``silenced_until``: the silence muting its notices now
    (empty and None when none does); ``suppressed``: a notice of it was muted and not yet made up for.
    """

    alert_id: str
    key: str
    rule: str
    bot: str
    severity: str
    status: str
    since: float
    summary: str = ""
    value: Any = None
    threshold: Any = None
    op: str | None = None
    labels: dict[str, str] = {}
    fired_at: float | None = None
    resolved_at: float | None = None
    policy: dict[str, Any] = {}
    notified: tuple[str, ...] = ()
    escalations: int = 0
    repeats: int = 0
    acked_by: str | None = None
    acked_at: float | None = None
    failed_over: bool = False
    updated_at: float = 0.0
    resolved_because: str | None = None
    resolved_summary: str | None = None
    evidence_run: str | None = None
    evidence_seq: int | None = None
    verifying: bool = False
    delivered: tuple[str, ...] = ()
    suppressed: bool = False
    released_at: float | None = None
    silence_id: str = ""
    silenced_by: str = ""
    silenced_until: float | None = None

    @classmethod
    def of(
        cls,
        alert: Alert,
        *,
        verifying: bool = False,
        delivered: Iterable[str] = (),
        silence: Silence | None = None,
    ) -> ActiveAlert:
        muted = {}
        if silence is not None:
            muted = {
                "silence_id": silence.id,
                "silenced_by": silence.author,
                "silenced_until": silence.ended_at,
            }
        return cls(**alert.to_dict(), verifying=verifying, delivered=tuple(delivered), **muted)

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @property
    def escalation_steps(self) -> int:
        """How many escalation steps the route in force when it fired has (its ``policy`` stays
        the engine's own record; readers ask this)."""
        return len(self.policy.get("escalate") or ())


class DeliveryRow(msgspec.Struct, frozen=True, kw_only=True):
    """One stored notification row (one channel destination) with its delivery so far.

    What the outbox's typed queries return; ``payload`` is the message's facts as
    enqueued, ``kind`` the event it states (firing, resolved, test, ...).
    """

    id: int
    idem: str
    alert_id: str
    channel: str
    dest: str
    kind: str
    prio: int
    payload: dict[str, Any]
    created_at: float
    due_at: float
    lease_until: float | None = None
    attempts: int = 0
    status: str = "pending"
    last_error: str | None = None
    sent_at: float | None = None


class DeliveryCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many notification rows (of one alert, or one channel) are sent, pending, dead."""

    sent: int = 0
    pending: int = 0
    dead: int = 0


class ChannelResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One channel's result for one notification: the worst of its destinations.

    ``state``: delivered, sending, retrying, failed or dead-lettered.
    """

    state: str
    at: float | None = None
    error: str | None = None
    attempt: int | None = None
    next_try: float | None = None


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One notification of the delivery history, with a result per channel.

    ``kind`` is the notification's kind (alert, test, report); ``event`` what it
    said of its subject (firing, repeat, escalation, failover, resolved, test);
    ``state`` that event as a message words it (``RESOLVED (while the monitor was down)``).
    """

    key: str
    alert_id: str
    kind: str
    event: str
    state: str
    created_at: float
    severity: str | None
    bot: str | None
    rule: str | None
    title: str
    summary: str | None
    what: str
    channels: dict[str, ChannelResult]
    #: the operator whose action made this notification (a Test Alert, a forget): ``dashboard``,
    #: ``api``, ``telegram:<user id>``; None for what the rules sent on their own
    by: str | None = None


class StoreStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The alert store (alerts.sqlite3): ok, or failing with what is held in memory meanwhile."""

    ok: Annotated[bool, gauge("1 while the alert store accepts writes.", name="alert_store_up")] = True
    error: str | None = None
    failing_since: float | None = None
    resumed_at: float | None = None
    held_alerts: int = 0
    held_notifications: Annotated[
        int,
        gauge("Notifications held in memory while the store refuses writes.", name="alert_store_held"),
    ] = 0
    dropped: int = 0


class ChannelStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One channel's health and queue as the status banner shows it (never a secret)."""

    ok: Annotated[bool, gauge("1 unless the channel's last delivery failed.", name="alert_channel_up")]
    last_error: str | None = None
    pending: Annotated[int, gauge("Notifications waiting to be sent.", name="alert_deliveries_pending")] = 0
    dead: Annotated[int, gauge("Stored notifications given up on.", name="alert_deliveries_dead")] = 0
    failed: Annotated[
        int, counter("Delivery attempts that failed since start.", name="alert_deliveries_failed")
    ] = 0


class AlertStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The alert status: banner, Health tab, ``/api/alerts``.

    ``firing`` counts the alerts of the view it was narrowed to (:meth:`for_view`);
    ``firing_by_bot`` holds every bot's count, the monitor's own alerts under ``(monitor)``.
    """

    firing: int = 0
    delivery_failing: bool = False
    store: StoreStatus = StoreStatus()
    channels: Annotated[dict[str, ChannelStatus], labelled("Per channel, by name.", "channel")] = {}
    firing_by_bot: dict[str, int] = {}
    #: Firing alerts per severity, every severity listed (0 when none).
    firing_by_severity: Annotated[
        dict[str, int], gauge("Firing alerts by severity.", name="alerts_firing", key_label="severity")
    ] = {}

    def for_view(self, bot: str | None) -> AlertStatus:
        """As a view of one bot sees it (its alerts and the monitor's own); None = every bot."""
        if bot is None or (self.firing and not self.firing_by_bot):
            return self
        n = self.firing_by_bot.get(bot, 0) + self.firing_by_bot.get(MONITOR, 0)
        return msgspec.structs.replace(self, firing=n)

    @classmethod
    def failed(cls, error: str) -> AlertStatus:
        """What a page shows when the alert service could not say: delivery failing, and why."""
        return cls(delivery_failing=True, channels={"engine": ChannelStatus(ok=False, last_error=error)})


def firing_by_bot(active: Iterable[ActiveAlert]) -> dict[str, int]:
    """Firing alerts per bot (the monitor's own under its scope): what a view's count is made of."""
    out: dict[str, int] = {}
    for a in active:
        if a.status == FIRING:
            out[a.bot] = out.get(a.bot, 0) + 1
    return out


def in_view(bot: str | None, view: str | None) -> bool:
    """Whether an alert of ``bot`` belongs to a view: every bot (None), or its bot plus the monitor's."""
    return view is None or bot in (view, MONITOR)


def plain(value: Any) -> Any:
    """A read-model value as JSON-ready builtins (what ``/api/alerts`` serves)."""
    return msgspec.to_builtins(value)


def status_of(
    active: tuple[ActiveAlert, ...],
    failing: bool,
    store: StoreStatus,
    channels: Mapping[str, ChannelStatus],
) -> AlertStatus:
    """The status of a snapshot, its firing counts taken from its open alerts."""
    by_bot = firing_by_bot(active)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for a in active:
        if a.status == FIRING:
            by_severity[a.severity] = by_severity.get(a.severity, 0) + 1
    return AlertStatus(
        firing=sum(by_bot.values()),
        delivery_failing=failing,
        store=store,
        channels=dict(channels),
        firing_by_bot=by_bot,
        firing_by_severity=by_severity,
    )
