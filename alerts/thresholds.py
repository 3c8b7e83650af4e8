"""Threshold checks: the threshold rules of the settings compiled once, compared per pass (pure).

``alerts.thresholds`` (the catalog's rules, alerts/catalog.py) and the further
``alerts.rules`` of the settings become :class:`Check` objects when a rule set is
built, so evaluating one per bot and pass is a path lookup and one comparison.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alerts import catalog
from alerts.rule_settings import Rule, Threshold

if TYPE_CHECKING:
    from alerts.config import AlertsSettings

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled threshold rule: metric path, comparison, limit."""

    rule: str
    path: tuple[str, ...]
    op: str
    value: Any
    for_s: float
    severity: str
    unit: str = ""  # how its values are shown (alerts.catalog.UNITS)
    bots: frozenset[str] | None = None

    @property
    def name(self) -> str:
        """The metric as a trader says it (``latency p95``, ``daily P&L``)."""
        return catalog.metric(".".join(self.path)).name


def compile_checks(settings: AlertsSettings) -> list[Check]:
    """The enabled threshold rules of ``alerts.catalog`` and the further rules, as checks."""
    checks: list[Check] = []
    t = settings.thresholds
    for rule in catalog.THRESHOLDS:
        spec = getattr(t, rule.name)
        if spec is None or (isinstance(spec, Threshold) and not spec.enabled):
            continue
        if isinstance(spec, Threshold):
            value, for_s, sev = spec.value, spec.for_s, spec.severity or rule.severity
        else:
            value, for_s, sev = float(spec), 0.0, rule.severity
        checks.append(Check(rule.name, rule.path(t.latency_stat), rule.op, value, for_s, sev, rule.unit))
    checks.extend(_rule_check(r) for r in settings.rules if r.enabled)
    return checks


def _rule_check(r: Rule) -> Check:
    bots = frozenset(r.bots) if r.bots is not None else None
    unit = catalog.metric(r.metric).unit
    return Check(r.name, tuple(r.metric.split(".")), r.op, r.value, r.for_s, r.severity, unit, bots)


def comparable(value: Any, limit: Any) -> bool:
    if value is None:
        return False
    if isinstance(limit, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(limit, bool)
    if isinstance(limit, (int, float)):
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, str)
