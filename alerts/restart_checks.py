"""How the alert engine takes back the previous run's alerts and verifies them after a restart.

A restart changes no alert.  The engine takes back from SQLite the open alerts
(same id, ``fired_at``, repeat and escalation counts), the counter rules' memory and
the previous run's last heartbeat, and must be started only once the store is
restored.  Alerts carried over a restart are *unconfirmed* until their bot is heard
again: a carried alert whose condition is false by then resolves once, worded as
resolved while the monitor was down; its repeats wait for that confirmation (at
most ``stale_after_s``); a bot the restarted monitor does not know at all gets the
same ``stale_after_s`` to report before its alerts end as unverified; and no bot
is called stale before it had that time to be heard after the restart.

An alert is never decided on older evidence than the evidence that set it.  Each
alert remembers the position in its bot's stream (run, seq) of the evidence that
last changed it.  The restored state can be older than that (the previous run
evaluated events the journal had not committed yet): such a carried alert is
*verifying after restart* and stays exactly as it is (no resolve, no re-fire, no
repeat, no escalation) until the state has caught up past that position or the
bot's catch-up ended (alerts/states.py, ``behind_evidence``).

These are the :class:`~alerts.engine.Engine`'s own checks, kept in their own module so the engine
reads as evaluation, delivery and commands; they share the engine's state (its alerts, the
carried and verifying sets), which is why they are a base class of it, not a separate object.
"""

from __future__ import annotations

import logging

from alerts import catalog, states
from alerts.alert_log import behind_fields, fields
from alerts.outbox import Outbox, PreviousRun
from alerts.rules import Evaluation, Observation
from alerts.states import Alert, Notice, StreamPosition
from common.logline import line
from core.documents import MetricsDocument

log = logging.getLogger("alerts.engine")

#: Alerts resolved this long before the previous run's last heartbeat are checked after a restart
#: (the journal loses at most its commit interval, 1 s at most, of the events behind a resolve).
ENDED_LOOKBACK_S = 60.0


def position(metrics: MetricsDocument, bot: str) -> StreamPosition | None:
    """Where the document's state of ``bot`` stands in its stream; None for the monitor's own."""
    d = metrics.bots.get(bot)
    return None if d is None else StreamPosition(d.events.run, d.events.last_seq)


class RestartChecks:
    """The restart's part of the engine: carried alerts, the grace, verification against evidence."""

    alerts: dict[str, Alert]
    outbox: Outbox
    previous: PreviousRun
    stale_after_s: float
    started_at: float | None
    carried: set[str]
    stateless: frozenset[str]
    _begun: bool
    _restored: frozenset[str] | None

    def _init_verifying(self) -> None:
        """What the first evaluations compare with the restored state (see ``_behind``)."""
        # alerts that ended just before the restart: their resolve's evidence may be missing too
        self._ended = self._recently_ended()
        # carried (and just ended) alerts whose evidence the restored state was not compared with yet
        self._unverified: set[str] = {
            k for k, a in self.alerts.items() if a.evidence_seq is not None and a.bot != catalog.MONITOR
        } | set(self._ended)
        self._restored_at: dict[str, StreamPosition] = {}  # each bot's position as restored
        # carried alerts held because their bot's state is behind (all of them until the first evaluation)
        self.verifying: frozenset[str] = frozenset(self._unverified)  # (ended ones: no new episode yet)
        self._said_held: set[str] = set()  # held alerts whose alert_verifying line is written

    def _recently_ended(self) -> dict[str, Alert]:
        """Alerts of a bot resolved in the last minute of the previous run, newest per identity.

        A restored state that lacks the events which ended one would show its condition
        still true: a new episode must not fire on that older evidence.
        """
        since = (self.previous.last_alive or 0.0) - ENDED_LOOKBACK_S
        ended = {a.key: a for a in self.outbox.load_ended_since(since)}
        return {
            k: a
            for k, a in ended.items()
            if k not in self.alerts and a.evidence_seq is not None and a.bot != catalog.MONITOR
        }

    def _behind(self, metrics: MetricsDocument, ev: Evaluation) -> frozenset[str]:
        """Carried alerts whose bot's state is still older than their evidence (held as they are).

        An alert leaves this set for good once its bot's state caught up or its catch-up
        ended; one whose bot the store does not know is left to ``_unknown_bot``.
        """
        held = set()
        for key in sorted(self._unverified):
            a = self.alerts.get(key) or self._ended.get(key)
            if a is None or a.bot not in ev.bots:
                self._unverified.discard(key)
                continue
            pos = position(metrics, a.bot) or StreamPosition(None, None)
            catch_up = metrics.collector.catch_up.get(a.bot)
            restored = self._restored_at.get(a.bot, pos)
            if states.behind_evidence(a, pos, catch_up.state if catch_up else None, restored):
                if key not in self._said_held:
                    self._said_held.add(key)
                    log.warning(line("alert_verifying", **fields(a), **behind_fields(a, pos)))
                held.add(key)
            else:
                self._unverified.discard(key)
                self._ended.pop(key, None)
                if key in self._said_held:
                    log.info(line("alert_verified", **fields(a), run=pos.run, seq=pos.seq))
        return frozenset(held)

    def _begin(self, ev: Evaluation, now: float) -> None:
        """The first evaluation of this run: note which carried alerts' bots the store did not restore."""
        self._begun = True
        if self.started_at is None:
            self.started_at = now
        known = ev.bots if self._restored is None else self._restored
        self.stateless = frozenset(
            self.alerts[k].bot for k in self.carried if self.alerts[k].bot not in known
        )

    def _because(self, key: str, old: Alert | None) -> str | None:
        """How a clear of this alert is worded: ordinary, at a restart, or unverifiable."""
        if key not in self.carried or old is None:
            return None
        return states.UNKNOWN_BOT if old.bot in self.stateless else states.OUTAGE

    def _settle(
        self, key: str, obs: Observation | None, old: Alert | None, heard: frozenset[str], now: float
    ) -> None:
        """A carried alert stops being one once it cleared, or was seen true with its bot heard again
        (or through the whole grace: the restored facts are then all there will be)."""
        if obs is None or old is None or old.bot in heard or not self._in_grace(now):
            self.carried.discard(key)

    def _in_grace(self, now: float) -> bool:
        """The first ``stale_after_s`` of this run: the time any bot gets to be heard again."""
        return self.started_at is not None and now - self.started_at < self.stale_after_s

    def _heard_since_start(self, metrics: MetricsDocument, now: float) -> frozenset[str]:
        """Bots with an event that arrived during this run (not only restored from before it)."""
        up = now - (self.started_at if self.started_at is not None else now)
        return frozenset(
            b for b, d in metrics.bots.items() if d.last_event_age_s is not None and d.last_event_age_s <= up
        )

    def _restart_grace(self, ev: Evaluation, heard: frozenset[str], now: float) -> dict[str, Observation]:
        """No *new* stale alert for a bot not yet heard in this run's first ``stale_after_s``.

        Its age counts from its last event before the restart, and while the monitor
        was down nothing could arrive: a live bot would look stale until its next
        event.  An alert already open (a bot silent before the restart) is unaffected.
        """
        if not self._in_grace(now):
            return ev.active
        return {
            k: o
            for k, o in ev.active.items()
            if not (o.rule == "stale" and k not in self.alerts and o.bot not in heard)
        }

    def _unknown_bot(self, key: str, old: Alert, now: float) -> tuple[Alert | None, list[Notice]]:
        """An alert whose bot the store does not know (restarted without its state).

        Kept as it is for ``stale_after_s`` (the bot may report and be evaluated), then
        ended once, as unverified: repeating it forever would cry wolf about a bot
        nothing is known of, and resolving it silently would hide that.
        """
        if self._in_grace(now):
            return old, []
        self.carried.discard(key)
        return states.clear(old, now, states.UNKNOWN_BOT)

    def _unconfirmed(self, key: str, now: float) -> bool:
        """A carried alert's repeat waits until its bot is heard again (at most ``stale_after_s``)."""
        return key in self.carried and self._in_grace(now)
