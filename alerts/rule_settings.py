"""The settings of rules and routes (``alerts.thresholds``, ``events``, ``rules``, ``routes``).

Kept apart from alerts/config.py because the pure rule and state code reads
them: config.py also holds the channel settings, whose modules do I/O, and the
pure core must not import those even indirectly.  alerts/config.py re-exports
everything here, so settings code imports from one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from alerts import catalog, safety_catalog
from alerts.catalog import SEVERITIES, Severity
from collectors.events import ID_PATTERN, BotId

__all__ = ["SEVERITIES", "Severity"]

Op = Literal[">", ">=", "<", "<=", "==", "!="]
NonNeg = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
#: Channel and rule names follow the rule of bot ids (collectors.events.ID_PATTERN).
Name = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]


class _S(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: immutable, keyword-only, unknown keys are errors (typos must not pass silently)."""


class Threshold(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Long form of a threshold: ``{value: 200, for: 30, severity: critical}``."""

    value: float
    for_s: NonNeg = msgspec.field(default=0.0, name="for")
    severity: Severity | None = None
    enabled: bool = True  # off keeps the value in the file (the dashboard's switch), unlike null


ThresholdValue = float | Threshold | None


def _bounded(rule: catalog.ThresholdRule) -> object:
    """A row's settings type: its value, short or long form, within the row's range, or null.

    The long form is a subtype of :class:`Threshold` whose ``value`` carries the bounds,
    so everything that reads a threshold (``isinstance(spec, Threshold)``) is unchanged.
    """
    value = Annotated[float, msgspec.Meta(**rule.range.bounds())]
    long = _section(f"Threshold_{rule.name}", [("value", value)], Threshold)
    return value | long | None


def _section(name: str, fields: list[tuple[str, object, object]], base: type) -> type:
    """A settings section with one field per catalog row, as strict as every written-out section."""
    return msgspec.defstruct(
        name, fields, bases=(base,), module=__name__, frozen=True, kw_only=True, forbid_unknown_fields=True
    )


class _ThresholdOptions(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    latency_stat: Literal["p95", "max"] = "p95"  # which windowed latency figure max_latency_ms checks


#: The shipped threshold rules, one field per row of ``alerts.catalog.THRESHOLDS``
#: (default = the row's default, bounds = the row's range); null disables a rule.
Thresholds = _section(
    "Thresholds", [(t.name, _bounded(t), t.default) for t in catalog.THRESHOLDS], _ThresholdOptions
)


class Rule(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A further threshold rule on any per-bot metric of /api/metrics (dotted path)."""

    name: Name
    metric: str  # e.g. "latency_ms.by_op.submit.p95", "exposure_gross", "stale"
    op: Op = ">"
    value: float | bool | str
    for_s: NonNeg = msgspec.field(default=0.0, name="for")
    severity: Severity = "warning"
    bots: list[BotId] | None = None  # restrict to these bots; null = every bot
    enabled: bool = True  # off = not evaluated, kept in the file


class _EventOptions(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    api_down_critical_after_s: NonNeg = 120.0  # an API down this long -> critical
    critical_error_hold_s: Positive = 300.0  # a critical error alert stays firing this long after the newest
    counter_hold_s: Positive = 300.0  # lost/mismatch alerts resolve after this quiet time


#: The event rules, one switch per row of ``alerts.catalog.EVENTS`` (all on by default).
EventRules = _section("EventRules", [(e.name, bool, e.default) for e in catalog.EVENTS], _EventOptions)


class Escalation(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """After ``after_s`` of firing without an ack, also notify ``channels``."""

    after_s: NonNeg
    channels: list[Name]


class Route(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a severity goes. No channels = dashboard only."""

    channels: list[Name] = []
    repeat_interval_s: Positive | None = None  # null = never repeat
    escalate: list[Escalation] = []
    send_resolved: bool = True


def default_routes() -> dict[str, Route]:
    """The shipped routes: dashboard only, critical repeated every 15 min, warning every hour."""
    return {
        "critical": Route(repeat_interval_s=900.0),
        "warning": Route(repeat_interval_s=3600.0),
        "info": Route(),
    }


def _limit(limit: safety_catalog.SafetyLimit) -> object:
    value = Annotated[float, msgspec.Meta(**limit.range.bounds())]
    return value if limit.default is not None else value | None


#: The safety invariants (``alerts.safety``): one switch per row of ``alerts.safety_catalog.SAFETY``
#: (all on by default) and the numbers they read, one per row of ``SAFETY_LIMITS``.
SafetySettings = msgspec.defstruct(
    "SafetySettings",
    [(r.name, bool, r.default) for r in safety_catalog.SAFETY]
    + [(x.name, _limit(x), x.default) for x in safety_catalog.SAFETY_LIMITS],
    bases=(_S,),
    module=__name__,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
)


def _fleet_limit(rule: catalog.ThresholdRule) -> object:
    """One limit for every currency, or one per currency code (``{USD: -500, EUR: -450}``); null = off."""
    value = Annotated[float, msgspec.Meta(**rule.range.bounds())]
    return value | dict[Annotated[str, msgspec.Meta(min_length=1, max_length=16)], value] | None


#: Limits on the "All bots" totals per currency (``alerts.fleet``), one per row of ``safety_catalog.FLEET``.
FleetLimits = msgspec.defstruct(
    "FleetLimits",
    [(r.name, _fleet_limit(r), r.default) for r in safety_catalog.FLEET],
    bases=(_S,),
    module=__name__,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
)
