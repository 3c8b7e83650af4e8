"""How the alert engine applies silences: the gate's stage, what it records, and the release.

A silence mutes an alert's firing, repeat, escalation and failover notices at the
engine's one gate (``Engine.gate`` asks :meth:`Silencing.muted`); the rules are still
evaluated and the alert is still shown firing.  What a muted notice would have
told is recorded on the alert (``suppressed``, and ``notified`` without the channels
it never told), so that:

* a resolve is sent only to channels that were told the alert fired (none if its
  firing was muted), and the failover never re-sends what was muted;
* when the silence ends (its end passes, or someone expires it) and the alert still
  fires, it is notified once, then: one firing notice to every channel that should
  know of it by now (its route's, the escalation steps passed, every channel after
  a failover).  The engine's tick notices the end; no event is needed.

Tests and reports are never silenced.  The silences themselves are written to the
alert store before the call that made or expired them returns
(``alerts/silence_store.py``); the pure rules are ``alerts/silences.py``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import replace

from alerts import silences
from alerts.alert_log import fields
from alerts.catalog import SEVERITIES
from alerts.config import AlertsSettings
from alerts.notification import Notification
from alerts.outbox import Outbox
from alerts.silences import Silence, SilenceOutcome
from alerts.states import FIRING, Alert, Notice
from common.logline import line

log = logging.getLogger("alerts.engine")

#: The notices a silence mutes (a resolve of a firing that was told is still sent).
MUTED_EVENTS = frozenset({"firing", "repeat", "escalation", "failover"})
#: At most this many silences listed at once (active or ended within 5 days): a bound on
#: what any front end can make the monitor keep.
MAX_LISTED = 1000


class Silencing:
    """The silences' part of the engine; shares its alerts, its lock and its outbox."""

    alerts: dict[str, Alert]
    outbox: Outbox
    settings: AlertsSettings
    new_id: Callable[[], str]
    verifying: frozenset[str]
    max_silence_s: float
    _now: float

    def _init_silences(self, max_silence_s: float) -> None:
        """``max_silence_s``: the longest silence allowed (``silences.max_duration_s``; settable live)."""
        self.max_silence_s = max_silence_s
        self.silences: dict[str, Silence] = {s.id: s for s in self.outbox.silences.listed(float("-inf"))}
        self._index: silences.ActiveIndex | None = None
        self._muted: list[tuple[str, str, tuple[str, ...]]] = []  # (alert id, event, channels) of this pass

    # ---- the gate's stage ----------------------------------------------------
    def muted(self, n: Notification, now: float) -> bool:
        """Whether a silence mutes ``n`` now (recorded, so the alert keeps what it was not told)."""
        if n.kind != "alert" or n.event not in MUTED_EVENTS:
            return False
        bot, rule = str(n.payload.get("bot", "")), str(n.payload.get("rule", ""))
        if self._active(now).silencing(bot, rule, n.severity, now) is None:
            return False
        self._muted.append((n.subject, n.event, n.channels))
        return True

    def _record_muted(self, changed: list[Alert]) -> list[Alert]:
        """Write onto each alert what its muted notices did not tell; the alerts to store."""
        muted, self._muted = self._muted, []
        by_id = {a.alert_id: a for a in self.alerts.values()}
        for alert_id, event, channels in muted:
            a = by_id.get(alert_id)
            if a is None or event == "repeat":  # a repeat restates what was told: nothing to record
                continue
            a = replace(a, suppressed=True, notified=tuple(c for c in a.notified if c not in channels))
            by_id[alert_id] = self.alerts[a.key] = a
            changed = [c for c in changed if c.alert_id != alert_id] + [a]
        return changed

    # ---- the release -----------------------------------------------------------
    def _release(self, now: float, changed: list[Alert], notices: list[tuple[Alert, Notice]]) -> None:
        """Alerts whose notices were muted and that no silence mutes any more: one firing notice now."""
        for key, a in list(self.alerts.items()):
            if not a.suppressed or a.status != FIRING or key in self.verifying:
                continue
            if self._active(now).silencing(a.bot, a.rule, a.severity, now) is not None:
                continue
            chans = tuple(c for c in self._due_channels(a) if c not in a.notified)
            new = replace(a, suppressed=False, notified=a.notified + chans, updated_at=now, released_at=now)
            self.alerts[key] = new
            changed.append(new)
            if chans:
                notices.append((new, Notice(a.alert_id, "firing", chans, n=int(now))))
                log.warning(line("alert_silence_ended", **fields(new), channels=",".join(chans)))

    def _due_channels(self, a: Alert) -> list[str]:
        """Every channel that should know of a firing alert by now."""
        chans = list(a.policy.get("channels") or [])
        for step in (a.policy.get("escalate") or [])[: a.escalations]:
            chans += step["channels"]
        if a.failed_over:
            chans += list(self.settings.channels)
        return list(dict.fromkeys(chans))

    # ---- commands ----------------------------------------------------------------
    def _make_silence(
        self, bot: str, rule: str, severity: str, duration_s: float | None, comment: str, by: str, now: float
    ) -> SilenceOutcome:
        """Validate, write (before returning), then apply a new silence."""
        known = silences.rule_choices(r.name for r in self.settings.rules)
        why = silences.refusal(
            bot,
            rule,
            severity,
            duration_s,
            max_duration_s=self.max_silence_s,
            rules=known,
            severities=SEVERITIES,
        )
        if not why and sum(silences.listed(s, now) for s in self.silences.values()) >= MAX_LISTED:
            why = f"At most {MAX_LISTED} silences are listed at once: expire some first."
        if why:
            return SilenceOutcome(None, refused=why)
        s = silences.make(
            "s-" + self.new_id(),
            bot,
            rule,
            severity,
            now=now,
            duration_s=duration_s or 0.0,
            author=by,
            comment=comment,
        )
        try:
            self.outbox.silences.put(s, now)
        except sqlite3.DatabaseError as exc:
            return SilenceOutcome(None, refused=f"The alert store cannot write now ({exc}): not silenced.")
        self.silences = {**self.silences, s.id: s}  # copied on write: the snapshot reads it unlocked
        self._now = max(self._now, now)
        log.warning(
            line("silence_created", id=s.id, bot=bot, rule=rule, severity=severity, until=s.ends_at, by=by)
        )
        return SilenceOutcome(s)

    def _expire_silence(self, silence_id: str, by: str, now: float) -> bool:
        """End an active silence now, written before returning; False if none such is active."""
        s = self.silences.get(silence_id)
        if s is None or not silences.active(s, now):
            return False
        ended = silences.expire(s, now, by)
        self.outbox.silences.put(ended, now)
        self.silences = {**self.silences, silence_id: ended}
        self._now = max(self._now, now)
        log.warning(line("silence_expired", id=silence_id, by=by))
        return True

    @property
    def now(self) -> float:
        """The engine's latest time (its last evaluation or command): what "active" is judged at."""
        return self._now

    def listed_silences(self, now: float) -> tuple[Silence, ...]:
        """Active silences first (soonest end first), then those ended within 5 days (newest first)."""
        return silences.in_list_order(list(self.silences.values()), now)

    def silence_of(self, alert: Alert) -> Silence | None:
        """The silence muting ``alert`` at the engine's latest time (what the page says of it)."""
        now = self._now
        return self._active(now).silencing(alert.bot, alert.rule, alert.severity, now)

    def _active(self, now: float) -> silences.ActiveIndex:
        """The index of the silences active at ``now``, rebuilt when they changed or one ended."""
        index, source = self._index, self.silences
        if index is None or not index.valid(source, now):
            index = self._index = silences.ActiveIndex(source, now)
        return index
