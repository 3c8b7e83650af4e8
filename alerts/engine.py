"""The evaluator: metrics in, alert transitions and notifications into the outbox.

``Engine`` is the synchronous heart (tests call ``evaluate`` on a fake clock);
``EvaluatorThread`` runs it on every store change (coalesced: it reads the newest
version, however many changes happened meanwhile) and on a periodic tick for
time-based rules.  It never talks to a channel: it only writes to SQLite and
wakes the workers, so a dead Slack cannot slow it, let alone ingest.  After each
evaluation it republishes the dashboard's alert snapshot (alerts/snapshot.py); the
thread is alerts/evaluator.py.

A restart changes no alert: how the engine takes back the previous run's alerts and
verifies them against the restored state is alerts/restart_checks.py.

Every notice becomes outbox rows in one place, :meth:`Engine.gate`: an alert's firing,
repeat, escalation, failover and resolve, a Test Alert, a report.  Each arrives there
as a typed :class:`~alerts.notification.Notification` (its kind, its channels, its
payload frozen at enqueue time) and leaves as one row per channel destination; a
check that must see every message (a silence, a route) belongs in that one method.

An operator running the monitor headless reads its log: every alert fired,
resolved, escalated, failed over or acknowledged is one ``key=value`` line
(common/logline.py, worded by alerts/alert_log.py), written once the transition is on disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable

import msgspec

from alerts import notices as notices_mod
from alerts import states
from alerts.alert_log import fields, log_transitions
from alerts.config import AlertsSettings
from alerts.held import HeldStore
from alerts.notification import Notification, Report
from alerts.outbox import NewRow, Outbox
from alerts.restart_checks import RestartChecks, position
from alerts.rules import Evaluation, Observation, RuleSet, identity
from alerts.silences import DEFAULT_MAX_DURATION_S, SilenceOutcome
from alerts.silencing import Silencing
from alerts.state_refresh import StateRefresh
from alerts.states import FIRING, Alert, Notice
from common.logline import line
from core.documents import MetricsDocument

log = logging.getLogger("alerts.engine")

#: Fields whose change must reach the disk (the rest, like the current value, is display only).
_MATERIAL = (
    "status",
    "notified",
    "escalations",
    "repeats",
    "acked_at",
    "failed_over",
    "fired_at",
    "severity",
    "suppressed",
)


#: Seconds between two heartbeats written to the outbox: the "stopped at about" of the next start.
HEARTBEAT_S = 1.0


def _material(a: Alert | None) -> tuple | None:
    return None if a is None else tuple(getattr(a, f) for f in _MATERIAL)


class Engine(RestartChecks, Silencing):
    """Alert states of every identity, persisted through the outbox. Thread-safe."""

    def __init__(
        self,
        outbox: Outbox,
        settings: AlertsSettings,
        *,
        stale_after_s: float,
        dashboard_url: str,
        dests_of: Callable[[str], list[str]],
        new_id: Callable[[], str] | None = None,
        restored_bots: Iterable[str] | None = None,
        held: HeldStore | None = None,
        max_silence_s: float = DEFAULT_MAX_DURATION_S,
    ) -> None:
        """``restored_bots``: the bots the store holds before any event of this run arrived (what the
        restore brought back); without it, those the first evaluation sees."""
        self.outbox, self.settings, self.dests_of = outbox, settings, dests_of
        self.dashboard_url, self.stale_after_s = dashboard_url, stale_after_s
        self.held = held or HeldStore()  # what the store could not write, while it fails
        self.new_id = new_id or (lambda: uuid.uuid4().hex[:16])
        self.alerts: dict[str, Alert] = {a.key: a for a in outbox.load_active()}
        self.previous = outbox.previous  # what the file says of the run before this one
        self.rules = RuleSet(settings, stale_after_s)
        self.rules.adopt_memory(outbox.load_memory(), None if self.previous.memory_known else self._seed)
        self.started_at: float | None = None  # when this run began evaluating (start(), else the first)
        self._begun = False
        # firing alerts taken over from the previous run, not yet seen true with their bot heard again
        self.carried: set[str] = {k for k, a in self.alerts.items() if a.status == FIRING}
        # bots with carried alerts whose state the store did not bring back: their alerts cannot be verified
        self.stateless: frozenset[str] = frozenset()
        self._restored = None if restored_bots is None else frozenset(restored_bots)
        self._alive_at = float("-inf")  # last heartbeat written
        self._now = 0.0  # time of the evaluation under way
        self._confirmed: set[str] = set()  # alert ids known delivered somewhere (no failover needed)
        self.failing: set[str] = set()  # critical alerts nobody confirmed past the deadline
        # bots forgotten by the operator whose absence no evaluation has seen yet (see forget())
        self._forgotten: set[str] = set()
        self._init_verifying()
        self._init_silences(max_silence_s)
        self._lock = threading.RLock()
        self.refresh = StateRefresh(outbox.load_ended_since)  # state re-sends to stateful channels

    def start(self, now: float) -> None:
        """The evaluator starts: events arriving from now on are this run's ("heard again")."""
        with self._lock:
            if self.started_at is None:
                self.started_at = now

    def _seed(self, rule: str, bot: str) -> float | None:
        """Memory of a counter from a file that never saved it: seen, moved now if its alert is open."""
        return self._now if identity(rule, bot) in self.alerts else None

    # ---- evaluation -----------------------------------------------------
    def evaluate(self, metrics: MetricsDocument, now: float) -> int:
        """Apply one metrics document at time ``now``; returns notifications enqueued."""
        with self._lock:
            self._now = now
            ev = self.rules.evaluate(metrics, now)
            if self._forgotten:
                self._drop_forgotten(ev)
            if not self._begun:
                self._begin(ev, now)
                self._restored_at = {b: position(metrics, b) for b in metrics.bots}
            heard = self._heard_since_start(metrics, now)
            active = self._restart_grace(ev, heard, now)
            self.verifying = self._behind(metrics, ev) if self._unverified else frozenset()
            changed: list[Alert] = []
            notices: list[tuple[Alert, Notice]] = []
            moves: list[tuple[Alert | None, Alert | None]] = []
            for key in (set(active) | set(self.alerts)) - self.verifying:
                old = self.alerts.get(key)
                new, ns = self._next(key, old, active.get(key), ev, metrics, heard, now)
                self._track(key, old, new, changed)
                notices += [(new, n) for n in ns]
                moves.append((old, new))
            self._release(now, changed, notices)
            self._failover(now, changed, notices)
            notices = self.refresh.notices(self.settings, self.alerts.values(), notices, now)
            n = self._commit(changed, notices, now)
            log_transitions(moves, notices)
            return n

    def _next(
        self,
        key: str,
        old: Alert | None,
        obs: Observation | None,
        ev: Evaluation,
        metrics: MetricsDocument,
        heard: frozenset[str],
        now: float,
    ) -> tuple[Alert | None, list[Notice]]:
        """One alert's next state and its notices: its step, then its repeats due, then its evidence."""
        if obs is None and old is not None and old.bot not in ev.bots:
            new, ns = self._unknown_bot(key, old, now)
        else:
            because = self._because(key, old)
            ends = obs is None and old is not None and old.status == FIRING
            words = self.rules.all_clear(old.rule, old.bot, old.labels, metrics) if ends else None
            new, ns = states.step(old, obs, now, self.settings.route, self.new_id, because, words)
            self._settle(key, obs, old, heard, now)
        if new is not None and new.status == FIRING:
            new, more = states.due(new, now, repeat=not self._unconfirmed(key, now))
            ns += more
        if new is not None and _material(new) != _material(old):
            new = states.with_evidence(new, position(metrics, new.bot))
        return new, ns

    def _drop_forgotten(self, ev: Evaluation) -> None:
        """A document read before a bot was forgotten must not raise its alerts again."""
        ev.active = {k: o for k, o in ev.active.items() if o.bot not in self._forgotten}
        self._forgotten &= ev.bots  # once a document without the bot was seen, it is an ordinary bot again

    def _track(self, key: str, old: Alert | None, new: Alert | None, changed: list[Alert]) -> None:
        if new is None:
            self.alerts.pop(key, None)
            if old is not None and old.status != states.PENDING:
                changed.append(old)
            elif old is not None:  # a pending alert that flapped away: forget it on disk too
                changed.append(states.close(old, old.updated_at))
            return
        if new.status in (FIRING, states.PENDING):
            self.alerts[key] = new
        else:
            self.alerts.pop(key, None)
        if _material(new) != _material(old):
            changed.append(new)

    def _unconfirmed_critical(self) -> list[Alert]:
        """Firing critical alerts sent somewhere that no channel has confirmed yet."""
        return [
            a
            for a in self.alerts.values()
            if a.status == FIRING
            and a.severity == "critical"
            and a.notified
            and a.alert_id not in self._confirmed
        ]

    def _failover(self, now: float, changed: list[Alert], notices: list[tuple[Alert, Notice]]) -> None:
        """A critical alert no channel confirmed within the deadline goes to every channel at once."""
        deadline = self.settings.delivery.failover_after_s
        cands = self._unconfirmed_critical()
        if not cands:
            self.failing.clear()
            return
        try:
            delivery = self.outbox.delivery_of([a.alert_id for a in cands])
        except sqlite3.DatabaseError:  # the store fails (said once): decide when it can be read again
            return
        failing = set()
        from_memory = self.held.delivered()
        for a in cands:
            d = delivery[a.alert_id]
            if d.sent or a.alert_id in from_memory:
                self._confirmed.add(a.alert_id)
                continue
            all_dead = d.dead > 0 and d.pending == 0
            late = now - (a.released_at or a.fired_at or now) >= deadline  # since it was told
            if (all_dead or late) and not a.failed_over:
                log.error(
                    line(
                        "alert_failover",
                        **fields(a),
                        not_delivered_by=",".join(a.notified),
                        why="all dead-lettered" if all_dead else f"no delivery within {deadline:g} s",
                    )
                )
                new, ns = states.failover(a, list(self.settings.channels), now)
                self.alerts[a.key] = new
                changed.append(new)
                notices += [(new, n) for n in ns]
            elif a.failed_over and (all_dead or late):
                failing.add(a.alert_id)
        self._set_failing(failing)

    def _set_failing(self, failing: set[str]) -> None:
        """Say once when critical alerts reached no channel even after failover, and once when that ends."""
        if failing - self.failing:
            log.critical(
                line(
                    "alert_delivery_failing",
                    alerts=len(failing),
                    alert_ids=",".join(sorted(failing)),
                    why="critical alerts reached no channel, not even after failover",
                )
            )
        elif self.failing and not failing:
            log.info(line("alert_delivery_failing_resolved"))
        self.failing = failing

    def _commit(
        self, changed: list[Alert], notices: list[tuple[Alert, Notice]], now: float, by: str | None = None
    ) -> int:
        """States, notifications, counter memory and the heartbeat: one transaction.

        ``by``: the operator whose action caused these notices (recorded in their payload).
        """
        memory = self.rules.take_memory()
        alive = now - self._alive_at >= HEARTBEAT_S
        actor = {"by": by} if by else {}
        rows = self.gate(
            [notices_mod.of_alert(a, n, {**self.payload(a, n.kind, now), **actor}) for a, n in notices], now
        )
        changed = self._record_muted(changed)
        if not self.held.failing and not changed and not rows and not memory:
            if alive:
                self._store(lambda: self.outbox.heartbeat(now), now)
                self._alive_at = now
            return 0
        n = self._write(changed, rows, now, memory=memory, alive=alive)
        if alive:
            self._alive_at = now
        return n

    def _write(self, alerts: list[Alert], rows: list[NewRow], now: float, **kw: object) -> int:
        """Write to the store, or hold in memory while it fails (the workers send held rows from there)."""
        memory = kw.get("memory") or {}
        if not self.held.failing:
            try:
                return self.outbox.write(alerts, rows, now, **kw)  # type: ignore[arg-type]
            except sqlite3.DatabaseError as exc:  # disk full, I/O error: the alerts go on in memory
                self.held.fail(exc, now)
            except Exception:
                self.rules.remember_unsaved(memory)  # saved with the next successful write
                raise
        self.rules.remember_unsaved(memory)  # saved with the next successful write
        self.held.hold(alerts, rows, now)
        self._write_back(now)
        return len(rows)

    def _write_back(self, now: float) -> None:
        """While the store fails, about once a second: try to write everything held."""
        memory = self.rules.take_memory()
        try:
            self.held.write_back(lambda a, r: self.outbox.write_held(a, r, now, memory=memory), now)
        except sqlite3.DatabaseError:
            self.rules.remember_unsaved(memory)  # still failing: said once already
        else:
            if self.held.failing:
                self.rules.remember_unsaved(memory)

    def _store(self, write: Callable[[], object], now: float) -> None:
        """A write with nothing to hold (the heartbeat): a failure marks the store failing."""
        try:
            write()
        except sqlite3.DatabaseError as exc:
            self.held.fail(exc, now)

    def mark_stopped(self, now: float) -> None:
        """A graceful stop records its exact time: the next start's "stopped at"."""
        with self._lock:
            if self.held.failing:
                self.held.next_try = 0.0  # a last try, whenever the previous one was
                self._write_back(now)
            else:
                self.outbox.write([], [], now, alive=True)  # with an fsync: nothing comes after it

    def gate(self, notifications: list[Notification], now: float) -> list[NewRow]:
        """The one place where notices become outbox rows: one row per channel destination.

        Every notification passes here, whatever its kind (an alert's firing, repeat,
        escalation, failover or resolve, a Test Alert, a report): a check that must see
        every message (a silence, a route) is added here and nowhere else.  An unknown
        channel gets a row to dead-letter, so the miss is shown, never silent.
        """
        rows = []
        for n in notifications:
            if self.muted(n, now):  # a silence: not sent, and the alert records what it was not told
                continue
            payload = dict(n.payload)
            for channel in n.channels:
                for dest in self.dests_of(channel) or ["unconfigured"]:
                    idem = f"{n.key}:{channel}:{dest}"
                    rows.append(NewRow(idem, n.subject, channel, dest, n.event, n.severity, payload))
        return rows

    def payload(self, alert: Alert, kind: str, now: float) -> dict:
        """Everything a message needs, frozen at enqueue time, with a restart's facts for its resolve."""
        facts = notices_mod.restart_facts(alert, self.previous.last_alive, self.started_at)
        payload = notices_mod.alert_payload(alert, kind, now, self.dashboard_url)
        return {**payload, **facts, "monitor": self.settings.monitor_name()}

    # ---- commands -------------------------------------------------------
    def ack(self, alert_id: str, by: str, now: float) -> bool:
        """Stop escalation and repeats of a firing alert; False if no such firing alert."""
        with self._lock:
            for key, a in self.alerts.items():
                if a.alert_id == alert_id and a.status == FIRING:
                    new = states.ack(a, by, now)
                    self.alerts[key] = new
                    self._write([new], [], now)
                    if new is not a:
                        log.info(line("alert_acknowledged", by=by, **fields(new)))
                    return True
            return False

    def forget(self, bot: str, now: float, by: str | None = None) -> int:
        """Close every alert of ``bot`` (the operator forgot it); returns how many.

        A firing alert that was sent somewhere is resolved there with the note
        "bot forgotten by the operator", so nobody is left waiting for an all-clear;
        ``by`` (the actor: ``dashboard``, ``api``, ``telegram:<id>``) is recorded with it.
        """
        with self._lock:
            self._forgotten.add(bot)
            gone = [a for a in self.alerts.values() if a.bot == bot]
            changed: list[Alert] = []
            notices: list[tuple[Alert, Notice]] = []
            moves: list[tuple[Alert | None, Alert | None]] = []
            for old in gone:
                self.carried.discard(old.key)
                new, ns = states.clear(old, now, states.FORGOTTEN)
                self._track(old.key, old, new, changed)
                notices += [(new, n) for n in ns]
                moves.append((old, new))
            notices = self.refresh.notices(self.settings, self.alerts.values(), notices, now)
            if changed or notices:
                self._commit(changed, notices, now, by)
            log_transitions(moves, notices)
            return len(gone)

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float | None, comment: str, by: str, now: float
    ) -> SilenceOutcome:
        """Mute the notices matching (bot, rule, severity) for ``duration_s``; written before returning."""
        with self._lock:
            return self._make_silence(bot, rule, severity, duration_s, comment, by, now)

    def unsilence(self, silence_id: str, by: str, now: float) -> bool:
        """End a silence now; an alert it muted that still fires is notified at once (``by`` named)."""
        with self._lock:
            if not self._expire_silence(silence_id, by, now):
                return False
            changed: list[Alert] = []
            notices: list[tuple[Alert, Notice]] = []
            self._release(now, changed, notices)
            if changed or notices:
                self._commit(changed, notices, now, by)
            return True

    def reload(self, settings: AlertsSettings, now: float) -> None:
        """New rules and routes; firing alerts keep their policy; nothing is re-sent."""
        with self._lock:
            old_rules = self.rules
            self.settings = settings
            self.rules = RuleSet(settings, self.stale_after_s)
            self.rules.continue_from(old_rules)
            names = self.rules.rule_names()
            gone = [a for a in self.alerts.values() if a.rule not in names]
            for a in gone:
                del self.alerts[a.key]
            if gone:
                log.info(line("alerts_closed_on_reload", alerts=len(gone), why="their rules were removed"))
                self._write([states.close(a, now) for a in gone], [], now)

    def enqueue_test(self, channels: list[str], now: float, by: str | None = None) -> str:
        """A test notification (kind ``test``) through the real pipeline (gate, outbox, workers, retries).

        ``by``: who asked for it, recorded in its payload (the history shows it).
        """
        n = notices_mod.test("test-" + self.new_id(), channels, now, self.dashboard_url)
        if by:
            n = msgspec.structs.replace(n, payload={**n.payload, "by": by})
        return self._enqueue(n, now)

    def enqueue_report(
        self,
        report: Report,
        channels: list[str],
        now: float,
        report_id: str | None = None,
        by: str | None = None,
    ) -> str:
        """A report (kind ``report``: a title and label/value lines) through the same pipeline.

        ``report_id`` is its idempotency key's prefix (the daily report's ``report:daily:<date>``):
        a second report with the same id is a no-op, across restarts, since the outbox keeps the
        key.  Without one the report is new.  ``by``: who asked for it (the history shows it).
        """
        n = notices_mod.report(
            report_id or "report-" + self.new_id(), report, channels, now, self.dashboard_url
        )
        if by:
            n = msgspec.structs.replace(n, payload={**n.payload, "by": by})
        return self._enqueue(n, now)

    def _enqueue(self, notification: Notification, now: float) -> str:
        monitor = {"monitor": self.settings.monitor_name()}  # who sent it (Alertmanager's label)
        notification = msgspec.structs.replace(notification, payload={**notification.payload, **monitor})
        with self._lock:
            self._write([], self.gate([notification], now), now)
            return notification.subject

    def open_alerts(self) -> tuple[list[Alert], frozenset[str]]:
        """Open alerts in display order (``states.active_order``) and the keys held as verifying."""
        with self._lock:
            return sorted(self.alerts.values(), key=states.active_order), self.verifying
