"""Delivery: per-channel workers that drain the outbox, with rate limits, retries and digests.

A worker owns one channel.  Each pass (``run_once``) claims the due rows of every
destination whose rate limit allows a message now, sends each destination's rows
as one message (a digest when there are several, most severe first), and records
the typed result in the outbox: sent, retry at a time (the server's
``Retry-After`` exactly, else exponential backoff with jitter), or dead-lettered.
Time comes from the injected clock, so tests drive ``run_once`` on a fake clock
and the thread loop is just ``run_once`` + wait.

While the alert store fails (disk full), the notifications the evaluator could
not write wait in memory (alerts/held.py): each pass sends those first, with the
same limits, retries and results, and a claimed row's outcome that the file
refuses is kept and written before the worker claims again.

Every outcome is one ``key=value`` log line per notification (common/logline.py):
``alert_delivered``, ``alert_delivery_failed`` (with the attempt and the error's
class), ``alert_dead_lettered``.  A line never carries a destination or an error's
full text: a webhook URL or a token may be in them, and a class (``HTTP 503``,
``URLError``) is what an operator greps for.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from alerts.channels.base import DELIVERED, PERMANENT, BaseChannel, Limit, Result
from alerts.config import Delivery
from alerts.held import HeldStore
from alerts.outbox import Outbox, Row
from common.logline import line

log = logging.getLogger("alerts.delivery")


class RateLimiter:
    """Token buckets keyed by channel+destination; pure arithmetic on the times it is given."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._blocked: dict[str, float] = {}  # key -> not before (a server's Retry-After)
        self._lock = threading.Lock()

    def _tokens(self, lim: Limit, now: float) -> float:
        tokens, at = self._buckets.get(lim.key, (lim.burst, now))
        return min(lim.burst, tokens + max(0.0, now - at) * lim.rate)

    def ready_at(self, limits: list[Limit], now: float) -> float:
        """Earliest time one message may go out under all of ``limits``."""
        with self._lock:
            t = now
            for lim in limits:
                t = max(t, self._blocked.get(lim.key, now))
                missing = 1.0 - self._tokens(lim, now)
                if missing > 1e-9:
                    t = max(t, now + missing / lim.rate)
            return t

    def take(self, limits: list[Limit], now: float) -> None:
        with self._lock:
            for lim in limits:
                self._buckets[lim.key] = (self._tokens(lim, now) - 1.0, now)

    def block(self, limits: list[Limit], until: float) -> None:
        """The server said wait: nothing goes to this destination before ``until``."""
        with self._lock:
            for lim in limits[:1]:
                self._blocked[lim.key] = max(until, self._blocked.get(lim.key, until))


@dataclass(slots=True)
class Health:
    """What status() shows per channel."""

    ok: bool = True
    last_error: str | None = None
    last_ok_at: float | None = None
    last_error_at: float | None = None
    failures: int = 0  # failed attempts since start (a counter: GET /metrics)


class ChannelWorker:
    """Drains one channel's rows from the outbox."""

    def __init__(
        self,
        channel: BaseChannel,
        outbox: Outbox,
        limiter: RateLimiter,
        cfg: Delivery,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        held: HeldStore | None = None,
    ) -> None:
        self.channel, self.outbox, self.limiter, self.cfg, self.clock = channel, outbox, limiter, cfg, clock
        self.held = held or HeldStore()  # notifications the store could not write: sent from memory
        self.rng = rng or random.Random()
        self.health = Health()
        self.wake = threading.Event()
        self._secrets = channel.secrets()

    @property
    def name(self) -> str:
        return self.channel.name

    def run_once(self) -> float | None:
        """One pass; returns when the next pass is worth doing (None = nothing queued)."""
        dests = self.channel.destinations()
        for dest in dests:
            self._drain(dest, held=True)
        try:
            self.held.replay_deferred(self.outbox)  # outcomes the file refused, before claiming again
            for dest in dests:
                self._drain(dest)
            return self._next_wake(dests)
        except sqlite3.DatabaseError as exc:  # the store fails: said once, held rows still go out
            self.held.fail(exc, self.clock())
            due = self.held.next_due(self.name).values()
            return min(due, default=self.clock() + 1.0)

    def _drain(self, dest: str, held: bool = False) -> None:
        """Send what one destination may receive now: one message per rate-limit token.

        A rate-limited destination gets one message per pass (a digest of up to
        ``batch`` rows); an unlimited one (webhooks) gets every due row now.
        """
        limits = self.channel.limits(dest)
        now = self.clock()
        if self.limiter.ready_at(limits, now) > now:
            return
        batch = min(self.channel.batch_max, self.cfg.max_batch)
        limit = batch if limits else 100 * batch
        if held:
            rows = self.held.take(self.name, dest, now, limit)
        else:
            rows = self.outbox.claim(self.name, [dest], now, self.cfg.lease_s, limit)
        for i in range(0, len(rows), batch):
            if i and self.limiter.ready_at(limits, self.clock()) > self.clock():
                self._release([r.id for r in rows[i:]])
                return
            self._deliver(dest, rows[i : i + batch])

    def _next_wake(self, dests: list[str]) -> float | None:
        """Earliest moment a destination has a due row *and* its rate limit allows a message."""
        now = self.clock()
        due = self.outbox.next_due_by_dest(self.name)
        for dest, at in self.held.next_due(self.name).items():
            due[dest] = min(at, due.get(dest, at))
        times = [
            max(t, self.limiter.ready_at(self.channel.limits(d), now)) for d, t in due.items() if d in dests
        ]
        return min(times, default=None)

    def _deliver(self, dest: str, rows: list[Row]) -> None:
        rows = self._buildable(rows)
        if not rows:
            return
        limits = self.channel.limits(dest)
        self.limiter.take(limits, self.clock())
        try:
            result = self.channel.send(dest, rows)
        except Exception as exc:  # a channel bug must not kill the worker
            log.exception(line("alert_channel_crashed", channel=self.name, error=type(exc).__name__))
            result = Result("transient", f"internal error {type(exc).__name__}")
        self._record(dest, rows, result, limits)

    def _buildable(self, rows: list[Row]) -> list[Row]:
        """The rows whose message can be built; each other one is dead-lettered alone, with why.

        Building is deterministic: a row that cannot be built now never can, so retrying it
        would only hold back (for a day of retries) the alerts that share its digest.
        """
        try:
            self.channel.render(rows)
            return rows
        except Exception:
            if len(rows) == 1:
                return self._unbuildable(rows)
        good = []
        for row in rows:
            try:
                self.channel.render([row])
            except Exception:
                self._unbuildable([row])
                continue
            good.append(row)
        return good

    def _unbuildable(self, rows: list[Row]) -> list[Row]:
        (row,) = rows
        try:
            self.channel.render(rows)
        except Exception as exc:
            error = self.scrub(f"message could not be built: {type(exc).__name__}: {exc}")[:300]
            self._log(
                logging.ERROR, "alert_dead_lettered", [row], reason="unbuildable", error=type(exc).__name__
            )
            self._dead([row.id], error, self.clock())
        return []

    def _log(self, level: int, event: str, rows: list[Row], **extra: object) -> None:
        """One line per notification: which alert, bot, rule and severity, on which channel."""
        for r in rows:
            p = r.payload if isinstance(r.payload, dict) else {}
            log.log(
                level,
                line(
                    event,
                    alert_id=r.alert_id,
                    bot=p.get("bot"),
                    rule=p.get("rule"),
                    severity=p.get("severity"),
                    kind=r.kind,
                    channel=self.name,
                    **extra,
                ),
            )

    def _record(self, dest: str, rows: list[Row], result: Result, limits: list[Limit]) -> None:
        now = self.clock()
        ids = [r.id for r in rows]
        if result.status == DELIVERED:
            self._outcome("sent", ids, now)
            self.health = Health(True, None, now, self.health.last_error_at, self.health.failures)
            self._log(logging.INFO, "alert_delivered", rows, digest=len(rows))
            return
        error = self.scrub(result.error or result.status)
        self.health = Health(False, error, self.health.last_ok_at, now, self.health.failures + 1)
        cls = error_class(error)
        tried = max(r.attempts for r in rows)  # attempts before this one (the claim counts this one)
        attempt = tried + 1
        if result.status == PERMANENT:
            self._log(logging.ERROR, "alert_delivery_failed", rows, attempt=attempt, error=cls, retry=False)
            self._log(logging.ERROR, "alert_dead_lettered", rows, reason="permanent", error=cls)
            self._dead(ids, error, now)
            return
        oldest = min(r.created_at for r in rows)
        if now - oldest > self.cfg.give_up_after_s:
            self._log(logging.ERROR, "alert_delivery_failed", rows, attempt=attempt, error=cls, retry=False)
            self._log(
                logging.ERROR, "alert_dead_lettered", rows, reason="gave_up", error=cls, after_s=now - oldest
            )
            self._dead(ids, f"gave up after retries: {error}", now)
            return
        delay = result.retry_after if result.retry_after is not None else self.backoff(tried)
        if result.retry_after is not None:
            self.limiter.block(limits, now + delay)
        self._log(
            logging.WARNING, "alert_delivery_failed", rows, attempt=attempt, error=cls, retry_in_s=delay
        )
        self._outcome("retry", ids, now, error, now + delay)

    def _dead(self, ids: list[int], error: str, now: float) -> None:
        self._outcome("dead", ids, now, error)

    def _release(self, ids: list[int]) -> None:
        self._outcome("release", ids, self.clock())

    def _outcome(self, what: str, ids: list[int], now: float, error: str = "", due_at: float = 0.0) -> None:
        """Record a send's outcome: a held row's in memory, a claimed row's in the file.

        A claimed row whose outcome the file refuses (the disk filled meanwhile) keeps it
        for later: written before this worker claims again, so it is not sent twice.
        """
        held = [i for i in ids if i < 0]
        if held:
            self.held.settle(held, what, now, error or None, due_at)
        claimed = [i for i in ids if i >= 0]
        if not claimed:
            return
        method, args = {
            "sent": ("sent", (claimed, now)),
            "dead": ("dead", (claimed, error, now)),
            "retry": ("retry", (claimed, due_at, error)),
            "release": ("release", (claimed,)),
        }[what]
        try:
            getattr(self.outbox, method)(*args)
        except sqlite3.DatabaseError as exc:
            self.held.fail(exc, now)
            self.held.defer(method, *args)

    def backoff(self, attempts: int) -> float:
        """Exponential backoff (0.5 s x1.5 by default, capped) with +-20 % jitter against thundering herds."""
        base = min(
            self.cfg.backoff_max_s,
            self.cfg.backoff_initial_s * self.cfg.backoff_factor ** max(0, attempts - 1),
        )
        return min(self.cfg.backoff_max_s, base * (0.8 + 0.4 * self.rng.random()))

    def scrub(self, text: str) -> str:
        """Errors may echo a URL or a token (PTB's InvalidToken does): mask every secret."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


#: Where an error text stops being its class: the detail after it may echo a body, a URL or a token.
_CLASS_END = (":", "(", "\n")


def error_class(error: str) -> str:
    """``HTTP 503: <body>`` -> ``HTTP 503``; ``URLError: <reason>`` -> ``URLError`` (for a log line).

    The channels' error texts start with their class (a status, an exception name, a
    service's error code); everything after it is left out of the log.
    """
    cut = min((i for i in (error.find(c) for c in _CLASS_END) if i >= 0), default=len(error))
    return error[:cut].strip()[:60] or "error"


class WorkerThread(threading.Thread):
    """Runs a ChannelWorker until stopped; sleeps until the next due row, a wake-up, or 1 s."""

    def __init__(self, worker: ChannelWorker, stop: threading.Event, clock: Callable[[], float]) -> None:
        super().__init__(name=f"alerts-{worker.name}", daemon=True)
        self.worker, self.stop, self.clock = worker, stop, clock

    def run(self) -> None:
        while not self.stop.is_set():
            self.worker.wake.clear()  # before the pass: a wake-up during it is not lost
            try:
                next_at = self.worker.run_once()
            except Exception:  # keep delivering; the error is logged
                log.exception(line("alert_worker_pass_failed", channel=self.worker.name))
                next_at = self.clock() + 1.0
            wait = 1.0 if next_at is None else min(1.0, max(0.0, next_at - self.clock()))
            if wait > 0:
                self.worker.wake.wait(wait)
