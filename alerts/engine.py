"""The evaluator: metrics in, alert transitions and notifications into the outbox.

``Engine`` is the synchronous heart (tests call ``evaluate`` on a fake clock);
``EvaluatorThread`` runs it on every store change (coalesced: it reads the newest
version, however many changes happened meanwhile) and on a periodic tick for
time-based rules.  It never talks to a channel: it only writes to SQLite and
wakes the workers, so a dead Slack cannot slow it, let alone ingest.  After each
evaluation it republishes the dashboard's alert snapshot (alerts/snapshot.py).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from alerts import states
from alerts.config import AlertsSettings
from alerts.outbox import NewRow, Outbox
from alerts.rules import RuleSet
from alerts.states import FIRING, Alert, Notice
from app.core.documents import MetricsDocument

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
)


def _material(a: Alert | None) -> tuple | None:
    return None if a is None else tuple(getattr(a, f) for f in _MATERIAL)


class Engine:
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
    ) -> None:
        self.outbox, self.settings, self.dashboard_url, self.dests_of = (
            outbox,
            settings,
            dashboard_url,
            dests_of,
        )
        self.stale_after_s = stale_after_s
        self.rules = RuleSet(settings, stale_after_s)
        self.new_id = new_id or (lambda: uuid.uuid4().hex[:16])
        self.alerts: dict[str, Alert] = {a.key: a for a in outbox.load_active()}
        self._confirmed: set[str] = set()  # alert ids known delivered somewhere (no failover needed)
        self.failing: set[str] = set()  # critical alerts nobody confirmed past the deadline
        self._lock = threading.RLock()

    # ---- evaluation -----------------------------------------------------
    def evaluate(self, metrics: MetricsDocument, now: float) -> int:
        """Apply one metrics document at time ``now``; returns notifications enqueued."""
        with self._lock:
            ev = self.rules.evaluate(metrics, now)
            changed: list[Alert] = []
            notices: list[tuple[Alert, Notice]] = []
            for key in set(ev.active) | set(self.alerts):
                old = self.alerts.get(key)
                obs = ev.active.get(key)
                if obs is None and old is not None and old.bot not in ev.bots:
                    new, ns = old, []  # the bot is not reporting at all (e.g. after a restart): keep as is
                else:
                    new, ns = states.step(old, obs, now, self.settings.route, self.new_id)
                if new is not None and new.status == FIRING:
                    new, more = states.due(new, now)
                    ns += more
                self._track(key, old, new, changed)
                notices += [(new, n) for n in ns]
            self._failover(now, changed, notices)
            return self._commit(changed, notices, now)

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

    def _failover(self, now: float, changed: list[Alert], notices: list[tuple[Alert, Notice]]) -> None:
        """A critical alert no channel confirmed within the deadline goes to every channel at once."""
        deadline = self.settings.delivery.failover_after_s
        cands = [
            a
            for a in self.alerts.values()
            if a.status == FIRING
            and a.severity == "critical"
            and a.notified
            and a.alert_id not in self._confirmed
        ]
        if not cands:
            self.failing.clear()
            return
        delivery = self.outbox.delivery_of([a.alert_id for a in cands])
        failing = set()
        for a in cands:
            d = delivery[a.alert_id]
            if d["sent"]:
                self._confirmed.add(a.alert_id)
                continue
            all_dead = d["dead"] > 0 and d["pending"] == 0
            late = now - (a.fired_at or now) >= deadline
            if (all_dead or late) and not a.failed_over:
                log.error(
                    "critical alert %s (%s on %s) not delivered by %s: failing over to all channels",
                    a.alert_id,
                    a.rule,
                    a.bot,
                    ",".join(a.notified),
                )
                new, ns = states.failover(a, list(self.settings.channels), now)
                self.alerts[a.key] = new
                changed.append(new)
                notices += [(new, n) for n in ns]
            elif a.failed_over and (all_dead or late):
                failing.add(a.alert_id)
        if failing - self.failing:
            log.critical("ALERT DELIVERY FAILING: %d critical alert(s) reached no channel", len(failing))
        self.failing = failing

    def _commit(self, changed: list[Alert], notices: list[tuple[Alert, Notice]], now: float) -> int:
        if not changed and not notices:
            return 0
        rows = [r for alert, n in notices for r in self.rows_for(alert, n, now)]
        return self.outbox.write(changed, rows, now)

    def rows_for(self, alert: Alert, notice: Notice, now: float) -> list[NewRow]:
        """One outbox row per channel destination; an unknown channel gets a row to dead-letter."""
        payload = self.payload(alert, notice.kind, now)
        rows = []
        for channel in notice.channels:
            for dest in self.dests_of(channel) or ["unconfigured"]:
                rows.append(
                    NewRow(
                        f"{notice.key}:{channel}:{dest}",
                        alert.alert_id,
                        channel,
                        dest,
                        notice.kind,
                        alert.severity,
                        payload,
                    )
                )
        return rows

    def payload(self, alert: Alert, kind: str, now: float) -> dict:
        """Everything a message needs, frozen at enqueue time (a digest later re-renders it)."""
        return {
            "alert_id": alert.alert_id,
            "kind": kind,
            "severity": alert.severity,
            "rule": alert.rule,
            "bot": alert.bot,
            "labels": dict(alert.labels),
            "summary": alert.summary,
            "value": alert.value,
            "threshold": alert.threshold,
            "op": alert.op,
            "since": alert.since,
            "fired_at": alert.fired_at,
            "resolved_at": alert.resolved_at,
            "acked_by": alert.acked_by,
            "now": now,
            "dashboard_url": self.dashboard_url,
        }

    # ---- commands -------------------------------------------------------
    def ack(self, alert_id: str, by: str, now: float) -> bool:
        """Stop escalation and repeats of a firing alert; False if no such firing alert."""
        with self._lock:
            for key, a in self.alerts.items():
                if a.alert_id == alert_id and a.status == FIRING:
                    new = states.ack(a, by, now)
                    self.alerts[key] = new
                    self.outbox.write([new], [], now)
                    return True
            return False

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
                log.info("reload: %d alert(s) of removed rules closed silently", len(gone))
                self.outbox.write([states.close(a, now) for a in gone], [], now)

    def enqueue_test(self, channels: list[str], now: float) -> str:
        """A test notification through the real pipeline (outbox, workers, retries)."""
        with self._lock:
            a = Alert(
                alert_id="test-" + self.new_id(),
                key="test",
                rule="test",
                bot="monitor",
                severity="info",
                status="test",
                since=now,
                summary="test alert: if you read this, this channel works",
                fired_at=now,
                updated_at=now,
            )
            n = Notice(a.alert_id, "test", tuple(channels))
            self.outbox.write([], self.rows_for(a, n, now), now)
            return a.alert_id

    def active(self) -> list[dict]:
        with self._lock:
            alerts = sorted(self.alerts.values(), key=lambda a: (a.status != FIRING, a.since))
            return [a.to_dict() for a in alerts]

    def firing_count(self) -> int:
        with self._lock:
            return sum(1 for a in self.alerts.values() if a.status == FIRING)


class EvaluatorThread(threading.Thread):
    """Evaluates on every hub change (coalesced) and every ``tick_s``; survives its own errors.

    ``on_enqueued`` wakes the delivery workers; ``on_evaluated`` publishes the state
    just committed (the alerts snapshot), so readers never query the outbox themselves.
    """

    def __init__(
        self,
        engine: Engine,
        hub,
        clock: Callable[[], float],
        stop: threading.Event,
        on_enqueued: Callable[[], None],
        on_evaluated: Callable[[], object] = lambda: None,
    ) -> None:
        super().__init__(name="alerts-evaluator", daemon=True)
        self.engine, self.hub, self.clock, self.stop = engine, hub, clock, stop
        self.on_enqueued, self.on_evaluated = on_enqueued, on_evaluated
        self.evaluations = 0

    #: Ended alerts kept in the outbox (with their delivered notifications); older ones are pruned
    #: hourly so the SQLite file stays bounded. Dead-lettered notifications are never pruned.
    KEEP_ENDED_ALERTS = 10_000
    PRUNE_EVERY_S = 3600.0

    def run(self) -> None:
        version = -1
        next_prune = 0.0
        while not self.stop.is_set():
            version = self.hub.wait_for_change(version, timeout=self.engine.settings.tick_s)
            if self.stop.is_set():
                break
            try:
                now = self.clock()
                if self.engine.evaluate(self.hub.metrics(), now):
                    self.on_enqueued()
                self.evaluations += 1
                if now >= next_prune:
                    self.engine.outbox.prune(self.KEEP_ENDED_ALERTS)
                    next_prune = now + self.PRUNE_EVERY_S
                self.on_evaluated()
                self.stop.wait(self.engine.settings.min_interval_s)  # coalesce bursts of changes
            except Exception:  # the safety net must not die of one bad document
                log.exception("alert evaluation failed")
                self.stop.wait(0.5)
