"""The safety invariants and the fleet-wide limits: one row per rule, as alerts/catalog.py does.

Kept beside the catalog (it would outgrow one module): the switches under ``alerts.safety``,
the numbers they read (each with its :class:`~alerts.catalog.Range`, the settings' bound and the
form's check), and the limits on the "All bots" totals under ``alerts.fleet``.  Importing it
registers the rules' titles and their metrics' names in the catalog's tables (``TITLES``,
``METRICS``); alerts/rule_settings.py imports it, so every reader of the alert settings has them.

Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.catalog import (
    ANY_NUMBER,
    FRACTION,
    METRICS,
    POSITIVE,
    TITLES,
    Metric,
    Range,
    Severity,
    ThresholdRule,
)

NON_NEGATIVE = Range(0.0, what="a number of seconds, 0 or more")
SECONDS = Range(0.0, 86400.0, low_open=True, what="a number of seconds above 0, at most a day")
ORDERS_PER_MIN = Range(1.0, 100_000.0, what="a whole number of orders between 1 and 100000")


@dataclass(frozen=True, slots=True)
class SafetyRule:
    """A safety invariant: what a bot does, checked against what it says (``alerts.safety.<name>``).

    Its facts are kept by the pure core as events are applied (core/safety.py), so it
    fires at the first evaluation after the event that broke it; its conditions are code
    in alerts/safety_rules.py, its switch, severity, words and metric here.
    """

    name: str  # its switch under alerts.safety
    severity: Severity
    label: str  # the form's switch
    condition: str  # the Rules table
    title: str  # its name in alert texts
    metric: str | None = None  # the figure the Rules table shows
    default: bool = True

    @property
    def shown(self) -> str:
        return self.title

    @property
    def settings_key(self) -> str:
        return f"alerts.safety.{self.name}"


@dataclass(frozen=True, slots=True)
class SafetyLimit:
    """A number the safety rules read (``alerts.safety.<name>``); ``None`` = see its label."""

    name: str
    default: float | None
    label: str
    unit: str
    range: Range

    @property
    def settings_key(self) -> str:
        return f"alerts.safety.{self.name}"


SAFETY: tuple[SafetyRule, ...] = (
    SafetyRule(
        "trading_after_stop",
        "critical",
        "Trading after kill switch / breaker",
        "a new order, or a fill that opens or increases a position, more than {grace_s} after the stop",
        "Trading after stop",
        "safety.new_risk_after_stop",
    ),
    SafetyRule(
        "orders_open_after_kill",
        "critical",
        "Orders left open after kill switch",
        "orders still open {orders_open_after_stop_s} after the kill switch triggered",
        "Orders open after kill switch",
        "safety.open_orders_after_kill",
    ),
    SafetyRule(
        "protection_missed",
        "critical",
        "Bot's drawdown protection did not act",
        "the monitor's drawdown above {max_drawdown} without a kill switch within {grace_s}",
        "Protection did not act",
        "drawdown",
    ),
    SafetyRule(
        "runaway_orders",
        "critical",
        "Runaway orders",
        "more than {max_orders_per_min} new orders a minute, or an order id re-sent as new",
        "Runaway orders",
        "safety.orders_per_min",
    ),
    SafetyRule(
        "stale_mark",
        "warning",
        "Stale mark behind a position",
        "an open position's symbol has had no price for {mark_stale_after_s}",
        "Stale mark",
        "safety.oldest_mark_age_s",
    ),
    SafetyRule(
        "book_disagrees",
        "warning",
        "Snapshot disagrees with the fills",
        "the newest snapshot's positions differ from the monitor's accounting",
        "Snapshot disagrees",
        "safety.book_disagreements",
    ),
)

SAFETY_LIMITS: tuple[SafetyLimit, ...] = (
    SafetyLimit("grace_s", 2.0, "Grace after a stop (s)", "s", NON_NEGATIVE),
    SafetyLimit("orders_open_after_stop_s", 30.0, "Orders may stay open after kill switch (s)", "s", SECONDS),
    SafetyLimit(
        "max_drawdown",
        None,
        "Independent max drawdown (fraction; empty = the max drawdown threshold)",
        "pct",
        FRACTION,
    ),
    SafetyLimit("max_orders_per_min", 120.0, "Max new orders per minute", "count", ORDERS_PER_MIN),
    SafetyLimit("mark_stale_after_s", 60.0, "Mark stale after (s)", "s", SECONDS),
)

#: Limits on the "All bots" totals, one alert per currency (``alerts.fleet.<name>``; off by default).
#: The metric is a field of a currency's :class:`core.documents.FleetTotals`.
FLEET: tuple[ThresholdRule, ...] = (
    ThresholdRule(
        "min_daily_pnl",
        "daily_pnl",
        "<",
        None,
        "critical",
        "All bots: minimum total daily P&L",
        "money",
        ANY_NUMBER,
        "All bots min daily P&L",
    ),
    ThresholdRule(
        "max_drawdown",
        "drawdown",
        ">",
        None,
        "critical",
        "All bots: max drawdown of the summed equity (fraction)",
        "pct",
        FRACTION,
        "All bots max drawdown",
    ),
    ThresholdRule(
        "max_exposure",
        "exposure_gross",
        ">",
        None,
        "critical",
        "All bots: max gross exposure",
        "money",
        POSITIVE,
        "All bots max exposure",
    ),
)

#: The alert scope of the fleet rules (the "All bots" totals); no bot id can be this.
FLEET_SCOPE = "(all bots)"
#: A fleet rule's alert name: ``fleet_<name>`` (its settings key stays ``alerts.fleet.<name>``).
FLEET_PREFIX = "fleet_"

TITLES.update({r.name: r.title for r in SAFETY})
TITLES.update({FLEET_PREFIX + r.name: r.shown for r in FLEET})
METRICS.update(
    {
        "safety.since_stop_s": Metric("time since stop", "s"),
        "safety.since_kill_switch_s": Metric("time since kill switch", "s"),
        "safety.new_risk_after_stop": Metric("risk added after stop", "count"),
        "safety.exits_after_stop": Metric("exits after stop", "count"),
        "safety.open_orders_after_kill": Metric("orders open after kill switch", "count"),
        "safety.orders_per_min": Metric("new orders per minute", "count"),
        "safety.duplicate_orders": Metric("order ids re-sent as new", "count"),
        "safety.mark_age_s": Metric("mark age of", "s"),
        "safety.oldest_mark_age_s": Metric("oldest mark age", "s"),
        "safety.book_disagreements": Metric("snapshot disagreements", "count"),
    }
)
