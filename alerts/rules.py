"""Rule evaluation: a plain /api/metrics dict in, the set of true conditions out.

Pure: no I/O, no threads, no wall clock (``now`` is an argument), so every rule
is unit-testable with a dict and a number.  The only memory kept is for counter
rules (events lost, position mismatches, critical errors): those fire when the
counter *moves* and resolve after a quiet period, because the counters are
cumulative and would otherwise never resolve.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from alerts.config import THRESHOLD_SEVERITY, AlertsSettings, Rule, Threshold

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


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


@dataclass(frozen=True, slots=True)
class _Check:
    """A compiled threshold rule: metric path, comparison, limit."""

    rule: str
    path: tuple[str, ...]
    op: str
    value: Any
    for_s: float
    severity: str
    unit: str = ""
    bots: frozenset[str] | None = None


@dataclass(slots=True)
class Evaluation:
    """Result of one pass: the true conditions and which bots were seen at all."""

    active: dict[str, Observation] = field(default_factory=dict)
    bots: frozenset[str] = frozenset()


_THRESHOLD_DEFS = {  # name -> (metric path, op, unit, words)
    "max_latency_ms": (None, ">", " ms", "latency"),
    "min_daily_pnl": (("daily_pnl",), "<", "", "daily P&L"),
    "max_drawdown": (("drawdown",), ">", "", "drawdown"),
    "max_errors_5m": (("errors", "last_5m"), ">", "", "errors in 5 min"),
}


class RuleSet:
    """The compiled rules of one AlertsSettings; ``evaluate`` is called per metrics version."""

    def __init__(self, settings: AlertsSettings, stale_after_s: float) -> None:
        self.settings = settings
        self.events = settings.events
        self.stale_after_s = stale_after_s
        self.checks = _compile(settings)
        # counter memory: (rule, bot) -> (last value seen, time it last moved)
        self._counters: dict[tuple[str, str], tuple[Any, float | None]] = {}

    def rule_names(self) -> frozenset[str]:
        """Every rule name this set can produce; alerts of other rules are orphans after a reload."""
        names = {c.rule for c in self.checks}
        ev = self.events
        flags = {
            "kill_switch": ev.kill_switch,
            "circuit_breaker": ev.circuit_breaker,
            "api_down": ev.api_down,
            "api_down_critical": ev.api_down,
            "critical_error": ev.critical_error,
            "stale": ev.stale,
            "events_lost": ev.events_lost,
            "position_mismatch": ev.position_mismatch,
        }
        names.update(n for n, on in flags.items() if on)
        return frozenset(names)

    def evaluate(self, metrics: dict, now: float) -> Evaluation:
        bots = metrics.get("bots") or {}
        out: dict[str, Observation] = {}
        for bot, doc in bots.items():
            for obs in self._bot(bot, doc, now):
                out[obs.key] = obs
        return Evaluation(out, frozenset(bots))

    def _bot(self, bot: str, doc: dict, now: float) -> Iterable[Observation]:
        for check in self.checks:
            if check.bots is None or bot in check.bots:
                obs = _threshold(check, bot, doc)
                if obs:
                    yield obs
        yield from self._events(bot, doc, now)

    def _events(self, bot: str, doc: dict, now: float) -> Iterable[Observation]:
        ev = self.events
        health = doc.get("health") or {}
        if ev.kill_switch and health.get("kill_switch") == "triggered":
            yield Observation(
                "kill_switch",
                bot,
                "critical",
                "kill switch TRIGGERED",
                value="triggered",
                threshold="armed",
                op="==",
            )
        if ev.circuit_breaker and health.get("circuit_breaker") == "open":
            yield Observation(
                "circuit_breaker",
                bot,
                "critical",
                "circuit breaker OPEN",
                value="open",
                threshold="closed",
                op="==",
            )
        if ev.api_down:
            yield from self._apis(bot, health.get("apis") or {})
        if ev.stale:
            yield from self._stale(bot, doc)
        yield from self._counter_rules(bot, doc, now)

    def _apis(self, bot: str, apis: dict) -> Iterable[Observation]:
        for api, status in sorted(apis.items()):
            if status != "down":
                continue
            labels = (("api", str(api)),)
            yield Observation(
                "api_down",
                bot,
                "warning",
                f"API {api} is DOWN",
                value="down",
                threshold="up",
                op="==",
                labels=labels,
            )
            after = self.events.api_down_critical_after_s
            yield Observation(
                "api_down_critical",
                bot,
                "critical",
                f"API {api} DOWN for over {after:g} s",
                value="down",
                threshold="up",
                op="==",
                for_s=after,
                labels=labels,
            )

    def _stale(self, bot: str, doc: dict) -> Iterable[Observation]:
        age = doc.get("last_event_age_s")
        stale = doc.get("stale") is True if age is None else age > self.stale_after_s
        if stale:
            words = "no event ever" if age is None else f"no event for {age:.0f} s"
            yield Observation(
                "stale",
                bot,
                "critical",
                f"bot silent: {words} (limit {self.stale_after_s:g} s)",
                value=age,
                threshold=self.stale_after_s,
                op=">",
            )

    def _counter_rules(self, bot: str, doc: dict, now: float) -> Iterable[Observation]:
        ev = self.events
        errors = doc.get("errors") or {}
        crit = errors.get("last_critical")
        if ev.critical_error and self._moved(
            "critical_error", bot, _crit_id(crit), now, ev.critical_error_hold_s
        ):
            what = f"{crit.get('component')}: {crit.get('message')}" if isinstance(crit, dict) else "?"
            yield Observation(
                "critical_error",
                bot,
                "critical",
                f"critical error: {what}",
                value=crit.get("ts") if isinstance(crit, dict) else None,
            )
        lost = (doc.get("events") or {}).get("lost") or 0
        if ev.events_lost and self._moved("events_lost", bot, lost or None, now, ev.counter_hold_s):
            yield Observation(
                "events_lost",
                bot,
                "warning",
                f"{lost} events lost (sequence gaps)",
                value=lost,
                threshold=0,
                op=">",
            )
        mism = doc.get("position_mismatches") or 0
        if ev.position_mismatch and self._moved(
            "position_mismatch", bot, mism or None, now, ev.counter_hold_s
        ):
            yield Observation(
                "position_mismatch",
                bot,
                "warning",
                f"{mism} position mismatch(es) between snapshot and fills",
                value=mism,
                threshold=0,
                op=">",
            )

    def _moved(self, rule: str, bot: str, current: Any, now: float, hold_s: float) -> bool:
        """True while a counter changed less than ``hold_s`` ago (None = nothing yet)."""
        last, moved_at = self._counters.get((rule, bot), (None, None))
        if current is not None and current != last:
            moved_at = now
        self._counters[(rule, bot)] = (current, moved_at)
        return moved_at is not None and now - moved_at < hold_s


def _crit_id(crit: Any) -> Any:
    if not isinstance(crit, dict):
        return None
    return (crit.get("ts"), crit.get("component"), crit.get("message"))


def _compile(settings: AlertsSettings) -> list[_Check]:
    checks: list[_Check] = []
    t = settings.thresholds
    for name, (path, op, unit, _words) in _THRESHOLD_DEFS.items():
        spec = getattr(t, name)
        if spec is None:
            continue
        if isinstance(spec, Threshold) and not spec.enabled:
            continue
        if isinstance(spec, Threshold):
            value, for_s, sev = spec.value, spec.for_s, spec.severity or THRESHOLD_SEVERITY[name]
        else:
            value, for_s, sev = float(spec), 0.0, THRESHOLD_SEVERITY[name]
        if path is None:
            path = ("latency_ms", t.latency_stat)
        checks.append(_Check(name, path, op, value, for_s, sev, unit))
    checks.extend(_rule_check(r) for r in settings.rules if r.enabled)
    return checks


def _rule_check(r: Rule) -> _Check:
    bots = frozenset(r.bots) if r.bots is not None else None
    return _Check(r.name, tuple(r.metric.split(".")), r.op, r.value, r.for_s, r.severity, "", bots)


def lookup(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path of a metrics dict, or None when any step is missing."""
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _threshold(check: _Check, bot: str, doc: dict) -> Observation | None:
    value = lookup(doc, check.path)
    if not _comparable(value, check.value):
        return None  # no data (e.g. no latency sample in the window) is not a crossing
    if not OPS[check.op](value, check.value):
        return None
    metric = ".".join(check.path)
    summary = f"{metric} {_fmt(value)}{check.unit} {check.op} {_fmt(check.value)}{check.unit}"
    return Observation(
        check.rule,
        bot,
        check.severity,
        summary,
        value=value,
        threshold=check.value,
        op=check.op,
        for_s=check.for_s,
    )


def _comparable(value: Any, limit: Any) -> bool:
    if value is None:
        return False
    if isinstance(limit, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(limit, bool)
    if isinstance(limit, (int, float)):
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, str)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1e6 else f"{x:,.0f}"
    return str(x)
