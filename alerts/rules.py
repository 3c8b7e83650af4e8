"""Rule evaluation: the typed /api/metrics document in, the set of true conditions out.

Pure: no I/O, no threads, no wall clock (``now`` is an argument), so every rule
is unit-testable with a document and a number.  The only memory kept is for counter
rules (events lost, position mismatches, critical errors): those fire when the
counter *moves* and resolve after a quiet period, because the counters are
cumulative and would otherwise never resolve.  The engine saves that memory with
the alert states (``take_memory``) and hands it back after a restart
(``adopt_memory``): a counter the restored store shows unchanged is not a move.

Each observation states its fact in words a trader reads (alerts/messages.py):
``circuit breaker OPEN (was closed)``, ``drawdown 12.40% > limit 10.00%``; and
:meth:`RuleSet.all_clear` words the end of one with the figure as it is now
(``drawdown 8.10% back within limit 10.00%``).  Words are made here, next to the
conditions, so a rule and what it says cannot drift apart.

What a metric path means lives in alerts/metric_paths.py (:func:`lookup`,
:func:`metric_problem`, both importable from here too); the threshold rules
compiled into checks in alerts/thresholds.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alerts import catalog, messages, safety_catalog
from alerts.metric_paths import lookup
from alerts.metric_paths import metric_problem as metric_problem  # settings import it from here
from alerts.safety_rules import SafetyRules
from alerts.thresholds import OPS, Check, comparable, compile_checks
from core.documents import BotMetrics, ErrorEntry, MetricsDocument
from core.monitor_documents import PersistenceStatus

if TYPE_CHECKING:
    from alerts.config import AlertsSettings

#: Severity of each event rule, as the rule table defines it.
_SEVERITY: dict[str, str] = {e.name: e.severity for e in catalog.EVENTS}


@dataclass(frozen=True, slots=True)
class Observation:
    """One condition that currently holds, for one alert identity (rule + bot + labels)."""

    rule: str
    bot: str
    severity: str
    summary: str  # what crossed what, in words
    value: Any = None
    threshold: Any = None
    op: str | None = None
    for_s: float = 0.0
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The alert identity; stable across restarts and reloads."""
        return identity(self.rule, self.bot, self.labels)


def identity(rule: str, bot: str, labels: Iterable[tuple[str, str]] = ()) -> str:
    parts = [rule, bot] + [f"{k}={v}" for k, v in labels]
    return "|".join(parts)


@dataclass(slots=True)
class Evaluation:
    """Result of one pass: the true conditions and which bots were seen at all."""

    active: dict[str, Observation] = field(default_factory=dict)
    bots: frozenset[str] = frozenset()


class RuleSet:
    """The compiled rules of one AlertsSettings; ``evaluate`` is called per metrics version."""

    def __init__(self, settings: AlertsSettings, stale_after_s: float) -> None:
        self.events = settings.events
        self.stale_after_s = stale_after_s
        self.checks = compile_checks(settings)
        self.safety = SafetyRules(settings)  # the safety invariants and fleet limits (alerts/safety_rules.py)
        # counter memory: (rule, bot) -> (last value seen, time it last moved)
        self._counters: dict[tuple[str, str], tuple[Any, float | None]] = {}
        self._dirty: set[tuple[str, str]] = set()  # entries changed since the last take_memory()
        # counter identities that have no memory yet and must not count as a move (see adopt_memory)
        self._seed: Callable[[str, str], float | None] | None = None
        # (rule, bot) -> the switch's last state that was not the alarm (the "was closed" of a text)
        self._before: dict[tuple[str, str], str] = {}

    def continue_from(self, old: RuleSet) -> None:
        """Carry the counter memory of the set this one replaces: a reload must not re-arm counter rules."""
        self._counters, self._dirty, self._seed = old._counters, old._dirty, old._seed
        self._before = old._before

    def adopt_memory(
        self,
        memory: dict[tuple[str, str], tuple[Any, float | None]],
        seed: Callable[[str, str], float | None] | None = None,
    ) -> None:
        """Start from the memory a previous run saved, so an unchanged counter is not a move.

        ``seed`` is for a file that never saved memory: at the next evaluation a counter
        with no memory takes its current value as already seen, moved at ``seed(rule, bot)``
        (None = not recently; a time keeps an alert that was firing on that counter held).
        """
        self._counters = dict(memory)
        self._seed = seed

    def remember_unsaved(self, entries: dict[tuple[str, str], tuple[Any, float | None]]) -> None:
        """Entries a failed write did not save: offered again by the next ``take_memory``."""
        self._dirty.update(k for k in entries if k in self._counters)

    def take_memory(self) -> dict[tuple[str, str], tuple[Any, float | None]]:
        """The memory entries changed since the last call (what must be saved with the alerts)."""
        out = {k: self._counters[k] for k in self._dirty if k in self._counters}
        self._dirty.clear()
        return out

    def rule_names(self) -> frozenset[str]:
        """Every rule name this set can produce; alerts of other rules are orphans after a reload."""
        names = {c.rule for c in self.checks}
        for ev in catalog.EVENTS:
            if getattr(self.events, ev.name):
                names.update(ev.rule_names)
        return frozenset(names | self.safety.rule_names())

    def evaluate(self, metrics: MetricsDocument, now: float) -> Evaluation:
        bots = metrics.bots
        out: dict[str, Observation] = {}
        for bot, doc in bots.items():
            for obs in self._capped(bot, list(self._bot(bot, doc, now))):
                out[obs.key] = obs
        seen = frozenset(bots)
        refused = metrics.collector.rejected_by_reason.get("too_many_bots")
        if refused:  # the collector reports a condition of the monitor itself
            seen |= {catalog.MONITOR}
            for obs in self._bot_cap(refused, now):
                out[obs.key] = obs
        if isinstance(metrics.persistence, PersistenceStatus):  # the running monitor reports on itself
            seen |= {catalog.MONITOR}
            for obs in self._monitor(metrics.persistence):
                out[obs.key] = obs
        if self.safety.fleet_on:  # the "All bots" totals are a scope of their own
            seen |= {safety_catalog.FLEET_SCOPE}
            for found in self.safety.observe_fleet(metrics.fleet):
                obs = Observation(bot=safety_catalog.FLEET_SCOPE, **found)
                out[obs.key] = obs
        self._seed = None  # seeding is for the first evaluation after an old file was opened
        if len(self._before) > 2 * len(bots):  # bounded: only bots still in the document
            self._before = {k: v for k, v in self._before.items() if k[1] in bots}
        return Evaluation(out, seen)

    def all_clear(
        self, rule: str, bot: str, labels: Iterable[tuple[str, str]], metrics: MetricsDocument
    ) -> str | None:
        """The end of an alert in words, with the figure as it is now; None when its bot is unknown.

        ``drawdown 8.10% back within limit 10.00%``, ``circuit breaker closed again``: the
        resolve states what is true now, never the condition that just stopped holding.
        """
        if bot == catalog.MONITOR:
            return self._monitor_clear(rule)
        if bot == safety_catalog.FLEET_SCOPE:
            return self.safety.fleet_clear(rule, dict(labels), metrics.fleet)
        doc = metrics.bots.get(bot)
        if doc is None:
            return None
        check = next((c for c in self.checks if c.rule == rule), None)
        if check is not None:
            now = lookup(doc, check.path)
            current = now if comparable(now, check.value) else None
            return messages.back_within(check.name, current, check.op, check.value, check.unit, doc.currency)
        return self._event_clear(rule, doc, dict(labels)) or self.safety.all_clear(rule, doc)

    def _monitor_clear(self, rule: str) -> str | None:
        if rule == "too_many_bots":
            return f"no new bot refused for {messages.duration(self.events.counter_hold_s)}"
        if rule == "journal_failing":
            return "state journal writing again"
        return None

    def _event_clear(self, rule: str, doc: BotMetrics, labels: dict[str, str]) -> str | None:
        ev, health = self.events, doc.health
        hold = messages.duration(ev.counter_hold_s)
        if rule == "kill_switch":
            return _back("kill switch", health.kill_switch, "armed", "triggered")
        if rule == "circuit_breaker":
            return _back("circuit breaker", health.circuit_breaker, "closed", "open")
        if rule in ("api_down", "api_down_critical"):
            return _api_clear(labels.get("api", "?"), health.apis)
        if rule == "stale":
            age = doc.last_event_age_s
            return "publishing again" + ("" if age is None else f": last event {messages.duration(age)} ago")
        if rule == "critical_error":
            return f"no new critical error for {messages.duration(ev.critical_error_hold_s)}"
        if rule == "events_lost":
            return f"no further event lost for {hold} ({doc.events.lost:,} lost in total)"
        if rule == "position_mismatch":
            return f"no new position mismatch for {hold} ({doc.position_mismatches:,} in total)"
        if rule == "too_many_alerts":
            return f"at most {catalog.MAX_ALERTS_PER_BOT} conditions again: each one alerted on its own"
        return None

    def _capped(self, bot: str, found: list[Observation]) -> list[Observation]:
        """At most ``MAX_ALERTS_PER_BOT`` alerts per bot: the most severe, then one for the rest."""
        cap = catalog.MAX_ALERTS_PER_BOT
        if len(found) <= cap or not self.events.too_many_alerts:
            return found
        found.sort(key=lambda o: (catalog.urgent_first(o.severity), o.key))
        kept, rest = found[: cap - 1], found[cap - 1 :]
        names = ", ".join(sorted({catalog.title(o.rule) for o in rest}))
        meta = Observation(
            "too_many_alerts",
            bot,
            _SEVERITY["too_many_alerts"],
            f"{len(rest)} more conditions than a bot may hold as alerts ({cap}), not alerted one by one:"
            f" {names}; see the dashboard",
            value=len(found),
            threshold=cap,
            op=">",
        )
        return [*kept, meta]

    def _bot_cap(self, refused: int | None, now: float) -> Iterable[Observation]:
        """A bot refused at ``limits.max_bots`` (a counter move, like the counter rules)."""
        hold = self.events.counter_hold_s
        if self.events.too_many_bots and self._moved("too_many_bots", catalog.MONITOR, refused, now, hold):
            yield Observation(
                "too_many_bots",
                catalog.MONITOR,
                _SEVERITY["too_many_bots"],
                f"bot cap reached: {refused:,} message{'s' if refused != 1 else ''} of new bots refused"
                " (limits.max_bots); raise the cap or forget bots that are gone",
                value=refused,
                threshold=0,
                op=">",
            )

    def _monitor(self, persistence: PersistenceStatus) -> Iterable[Observation]:
        """Conditions of the monitor itself, under the scope ``catalog.MONITOR``."""
        journal = persistence.journal
        if self.events.journal_failing and journal.state == "failing":
            yield Observation(
                "journal_failing",
                catalog.MONITOR,
                _SEVERITY["journal_failing"],
                f"state journal failing: {journal.failure}; the state is kept in memory only",
                value="failing",
                threshold="ok",
                op="==",
            )

    def _bot(self, bot: str, doc: BotMetrics, now: float) -> Iterable[Observation]:
        for check in self.checks:
            if check.bots is None or bot in check.bots:
                obs = _threshold(check, bot, doc)
                if obs:
                    yield obs
        yield from self._events(bot, doc, now)
        for found in self.safety.observe(doc):
            yield Observation(bot=bot, **found)

    def _events(self, bot: str, doc: BotMetrics, now: float) -> Iterable[Observation]:
        ev = self.events
        health = doc.health
        for on, rule, state, alarm, normal in (
            (ev.kill_switch, "kill_switch", health.kill_switch, "triggered", "armed"),
            (ev.circuit_breaker, "circuit_breaker", health.circuit_breaker, "open", "closed"),
        ):
            if on and self._switch(rule, bot, state, alarm):
                said = f"{rule.replace('_', ' ')} {alarm.upper()}{self._was(rule, bot)}"
                yield Observation(rule, bot, _SEVERITY[rule], said, value=alarm, threshold=normal, op="==")
        if ev.api_down:
            yield from self._apis(bot, health.apis)
        if ev.stale:
            yield from self._stale(bot, doc)
        yield from self._counter_rules(bot, doc, now)

    def _switch(self, rule: str, bot: str, state: str | None, alarm: str) -> bool:
        """Whether a switch is in its alarm state; remembers the state it was in before."""
        if state is not None and state != alarm:
            self._before[(rule, bot)] = state
        return state == alarm

    def _was(self, rule: str, bot: str) -> str:
        """`` (was closed)``: the switch's state before the alarm, when this run saw it."""
        before = self._before.get((rule, bot))
        return "" if before is None else f" (was {messages.shown(before)})"

    def _apis(self, bot: str, apis: dict[str, str]) -> Iterable[Observation]:
        down = sorted(api for api, status in apis.items() if status == "down")
        if len(down) > catalog.MAX_APIS_DOWN_ALERTS:  # one alert for all: identities stay bounded
            shown = ", ".join(down[:10]) + (", ..." if len(down) > 10 else "")
            what = f"{len(down)} APIs DOWN"
            yield from self._api_down(bot, "*", f"{what}: {shown}", what)
            return
        for api in down:
            yield from self._api_down(bot, str(api), f"API {api} DOWN", f"API {api} DOWN")

    def _api_down(self, bot: str, label: str, summary: str, what: str) -> Iterable[Observation]:
        labels = (("api", label),)
        yield Observation(
            "api_down",
            bot,
            _SEVERITY["api_down"],
            summary,
            value="down",
            threshold="up",
            op="==",
            labels=labels,
        )
        after = self.events.api_down_critical_after_s
        yield Observation(
            "api_down_critical",
            bot,
            catalog.SEVERITIES[-1],  # the escalation: down too long is the most severe
            f"{what} for over {messages.duration(after)}",
            value="down",
            threshold="up",
            op="==",
            for_s=after,
            labels=labels,
        )

    def _stale(self, bot: str, doc: BotMetrics) -> Iterable[Observation]:
        age = doc.last_event_age_s
        stale = doc.stale if age is None else age > self.stale_after_s
        if stale:
            words = "no event received yet" if age is None else f"no event for {messages.duration(age)}"
            yield Observation(
                "stale",
                bot,
                _SEVERITY["stale"],
                f"stale: {words} (limit {messages.duration(self.stale_after_s)})",
                value=age,
                threshold=self.stale_after_s,
                op=">",
            )

    def _counter_rules(self, bot: str, doc: BotMetrics, now: float) -> Iterable[Observation]:
        ev = self.events
        crit = doc.errors.last_critical
        if ev.critical_error and self._moved(
            "critical_error", bot, _crit_id(crit), now, ev.critical_error_hold_s
        ):
            what = "critical error" if crit is None else f"critical error in {crit.component}: {crit.message}"
            yield Observation(
                "critical_error",
                bot,
                _SEVERITY["critical_error"],
                what,
                value=None if crit is None else crit.ts,
            )
        lost = doc.events.lost
        if ev.events_lost and self._moved("events_lost", bot, lost or None, now, ev.counter_hold_s):
            yield Observation(
                "events_lost",
                bot,
                _SEVERITY["events_lost"],
                f"{lost:,} event{'s' if lost != 1 else ''} lost (gaps in the bot's sequence)",
                value=lost,
                threshold=0,
                op=">",
            )
        mism = doc.position_mismatches
        if ev.position_mismatch and self._moved(
            "position_mismatch", bot, mism or None, now, ev.counter_hold_s
        ):
            yield Observation(
                "position_mismatch",
                bot,
                _SEVERITY["position_mismatch"],
                f"{mism:,} position mismatch{'es' if mism != 1 else ''} between snapshot and fills",
                value=mism,
                threshold=0,
                op=">",
            )

    def _moved(self, rule: str, bot: str, current: Any, now: float, hold_s: float) -> bool:
        """True while a counter changed less than ``hold_s`` ago (None = nothing yet)."""
        key = (rule, bot)
        if key not in self._counters and self._seed is not None:
            self._counters[key] = (current, self._seed(rule, bot))
        before = self._counters.get(key, (None, None))
        last, moved_at = before
        if current is not None and current != last and not _went_down(last, current):
            moved_at = now
        if (current, moved_at) != before:
            self._counters[key] = (current, moved_at)
            self._dirty.add(key)
        return moved_at is not None and now - moved_at < hold_s


def _went_down(last: Any, current: Any) -> bool:
    """A count that fell (a store that lost its state, losses recovered later) is not a new problem."""
    return isinstance(last, int) and isinstance(current, int) and current < last


def _crit_id(crit: ErrorEntry | None) -> tuple[float, str, str] | None:
    return None if crit is None else (crit.ts, crit.component, crit.message)


def _threshold(check: Check, bot: str, doc: BotMetrics) -> Observation | None:
    value = lookup(doc, check.path)
    if not comparable(value, check.value):
        return None  # no data (e.g. no latency sample in the window) is not a crossing
    if not OPS[check.op](value, check.value):
        return None
    return Observation(
        check.rule,
        bot,
        check.severity,
        messages.crossed(check.name, value, check.op, check.value, check.unit, doc.currency),
        value=value,
        threshold=check.value,
        op=check.op,
        for_s=check.for_s,
    )


def _back(name: str, state: str | None, normal: str, alarm: str) -> str:
    """``circuit breaker closed again``, ``kill switch disabled (no longer triggered)``."""
    if state == normal:
        return f"{name} {messages.shown(state)} again"
    if state is None or state == alarm:
        return f"{name} no longer {messages.shown(alarm)}"
    return f"{name} {messages.shown(state)} (no longer {messages.shown(alarm)})"


def _api_clear(api: str, apis: dict[str, str]) -> str:
    """``API binance up again``; for the aggregated alert (``api=*``), how many are down now."""
    if api == "*":
        down = sum(1 for status in apis.values() if status == "down")
        if not down:
            return "no API down any more"
        return f"{down} API{'s' if down != 1 else ''} down now, each with its own alert"
    return _back(f"API {api}", apis.get(api), "up", "down")
