"""Settings of the alert engine (``alerts:``).

The ``storage:`` section is the app's: ``core.storage_settings``.

Plain msgspec Structs so that ``app.settings`` can mount them into the one
settings document and report a bad key with its file and path, and so tests can
build them with keyword arguments.  Every default is the shipped value (what
settings.yaml shows): the safety rules are on even in a file that does not
mention them, and with no channel configured alerts show on the dashboard only.

The rule and route settings are in ``alerts.rule_settings`` (the built-in rules'
keys and defaults come from ``alerts.catalog``); the channel types (their
fields, secrets and requirements) from ``alerts.channels.registry``.
Secrets (tokens, passwords, webhook URLs) are written as ``${VAR}`` in
settings.yaml and resolved from the environment by the loader.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

import msgspec

from alerts.catalog import SEVERITIES, Severity
from alerts.channels import registry
from alerts.rule_settings import (
    _S,
    Escalation,
    EventRules,
    FleetLimits,
    Name,
    NonNeg,
    Op,
    Positive,
    Route,
    Rule,
    SafetySettings,
    Threshold,
    Thresholds,
    ThresholdValue,
    default_routes,
)

# The rule and route settings live in alerts.rule_settings (the pure core reads them); they are
# re-exported here so that settings code has one place to import from.
__all__ = ["SEVERITIES", "Escalation", "Op", "Severity", "Threshold", "ThresholdValue"]

#: Any registered channel type's settings, told apart by ``type`` (see alerts/channels/registry.py).
ChannelConfig = registry.config_union()


class Delivery(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Outbox and retry behaviour."""

    lease_s: Positive = 5.0  # a claimed row is re-sent this long after a crash mid-send
    backoff_initial_s: Positive = 0.5
    backoff_factor: Annotated[float, msgspec.Meta(ge=1)] = 1.5
    backoff_max_s: Positive = 60.0
    failover_after_s: Positive = 60.0  # critical not confirmed by any channel -> all channels
    give_up_after_s: Positive = 86400.0  # transient failures past this are dead-lettered
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 500  # alerts per digest message
    #: Dead-lettered and delivered notifications (and ended alerts) older than this are pruned hourly.
    retention_days: Positive = 30.0


class Watchdog(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Dead man's switch: GET ``url`` every ``interval_s`` so the monitor's death is noticed."""

    url: str | None = None
    interval_s: Positive = 60.0
    timeout_s: Positive = 10.0


class AlertsSettings(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``alerts:`` section of settings.yaml."""

    enabled: bool = True
    thresholds: Thresholds = Thresholds()
    events: EventRules = EventRules()
    rules: list[Rule] = []
    safety: SafetySettings = SafetySettings()  # what a bot does against what it says (alerts/safety_rules.py)
    fleet: FleetLimits = FleetLimits()  # limits on the "All bots" totals, per currency
    routes: dict[Severity, Route] = msgspec.field(default_factory=default_routes)
    channels: dict[Name, ChannelConfig] = {}  # type: ignore[valid-type]
    delivery: Delivery = Delivery()
    watchdog: Watchdog = Watchdog()
    tick_s: Positive = 1.0  # periodic evaluation for time-based rules (stale, for, repeats)
    min_interval_s: NonNeg = 0.05  # at most ~20 evaluations/s however fast events arrive
    #: This monitor's name (Alertmanager's ``monitor`` label); null = the host name.  The two
    #: monitors of a highly available pair give the same name, so their alerts are one.
    instance: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None

    def __post_init__(self) -> None:
        names = set(self.channels)
        for sev, route in self.routes.items():
            used = list(route.channels) + [c for e in route.escalate for c in e.channels]
            unknown = sorted(set(used) - names)
            if unknown:
                raise ValueError(f"routes.{sev} names unknown channels {unknown}")
        rule_names = [r.name for r in self.rules]
        if len(rule_names) != len(set(rule_names)):
            raise ValueError("rules: names must be unique")

    def monitor_name(self) -> str:
        """``instance``, or the host name when it is not set."""
        return self.instance or socket.gethostname()

    def route(self, severity: str) -> Route:
        """The route of a severity; a missing severity is dashboard-only."""
        return self.routes.get(severity, Route())  # type: ignore[call-overload]


def with_channel_types(alerts: Any) -> Any:
    """A channel named after its type may leave ``type:`` out; add it before validation.

    Only the name of a registered type implies one (``webhook: {urls: [...]}``);
    any other name without ``type:`` is left alone and refused by validation.
    """
    if not isinstance(alerts, dict) or not isinstance(alerts.get("channels"), dict):
        return alerts
    channels = {
        name: (
            {"type": name, **cfg}
            if isinstance(cfg, dict) and "type" not in cfg and name in registry.TYPES
            else cfg
        )
        for name, cfg in alerts["channels"].items()
    }
    return {**alerts, "channels": channels}


def untyped_channel(alerts: Any) -> str | None:
    """The first channel that neither says ``type:`` nor is named after a type, or None."""
    chans = alerts.get("channels") if isinstance(alerts, dict) else None
    if not isinstance(chans, dict):
        return None
    return next((str(n) for n, c in chans.items() if isinstance(c, dict) and "type" not in c), None)
