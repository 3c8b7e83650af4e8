"""The built-in alert rules and the severity scale: one row per rule, read by everything else.

Why one table: a rule's metric, comparison, default, severity, settings key and
label used to be restated in the settings types, the evaluator, the dashboard's
form and its Rules table, and a copy that drifted changed what a trader saw
without changing what fired.  Here each fact is written once:

* :data:`THRESHOLDS` are the numeric rules under ``alerts.thresholds``
  (``alerts.config.Thresholds`` is built from them, ``alerts.rules`` compiles
  them, the form and the Rules table list them);
* :data:`EVENTS` are the on/off rules under ``alerts.events`` (their conditions
  are code in ``alerts.rules``; their switch, default, severity and label live here);
* :data:`SEVERITIES` is the severity scale, least urgent first; every sort or
  comparison of severities goes through :func:`rank` or :func:`urgent_first`.

Pure data: no I/O, nothing imported from the rest of the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["info", "warning", "critical"]
#: The severity scale, least urgent first.
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def rank(severity: object) -> int:
    """Position on the scale (critical highest); an unknown severity ranks below info."""
    return _RANK.get(severity, -1)  # type: ignore[arg-type]


def urgent_first(severity: object) -> int:
    """Sort key that puts the most severe first (critical, warning, info, then unknown)."""
    return len(SEVERITIES) - 1 - rank(severity)


#: The scale most severe first, as the form and the routes list it.
URGENT_FIRST: tuple[str, ...] = tuple(sorted(SEVERITIES, key=urgent_first))


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A numeric rule: ``<metric> <op> <value>`` on each bot's /api/metrics document.

    ``metric`` is a dotted path; ``None`` means the latency figure chosen by
    ``alerts.thresholds.latency_stat`` (``latency_ms.p95`` or ``latency_ms.max``).
    ``form`` names the form's check for the value (see app/dashboard/settings_form.py).
    """

    name: str  # the rule name and its key under alerts.thresholds
    metric: str | None
    op: str
    default: float | None  # None = off unless the settings give a value
    severity: Severity
    label: str
    unit: str = ""
    form: str = "numopt"

    @property
    def settings_key(self) -> str:
        return f"alerts.thresholds.{self.name}"

    def path(self, latency_stat: str) -> tuple[str, ...]:
        return tuple((self.metric or f"latency_ms.{latency_stat}").split("."))


@dataclass(frozen=True, slots=True)
class EventRule:
    """An on/off rule under ``alerts.events``; ``rules`` are the alert names it can raise."""

    name: str  # its key under alerts.events
    severity: Severity
    label: str  # what the form's switch says
    condition: str  # what the Rules table says
    metric: str | None = None  # the figure the Rules table shows as the current value
    default: bool = True
    rules: tuple[str, ...] = ()  # alert rule names; () = just ``name``

    @property
    def settings_key(self) -> str:
        return f"alerts.events.{self.name}"

    @property
    def rule_names(self) -> tuple[str, ...]:
        return self.rules or (self.name,)


THRESHOLDS: tuple[ThresholdRule, ...] = (
    ThresholdRule("max_latency_ms", None, ">", 500.0, "warning", "Max latency (ms)", " ms", "posopt"),
    ThresholdRule("min_daily_pnl", "daily_pnl", "<", None, "critical", "Minimum daily P&L", "", "numopt"),
    ThresholdRule(
        "max_drawdown",
        "drawdown",
        ">",
        0.10,
        "critical",
        "Max drawdown (fraction, 0.10 = 10 %)",
        "",
        "fracopt",
    ),
    ThresholdRule(
        "max_errors_5m", "errors.last_5m", ">", 20.0, "warning", "Max errors per 5 minutes", "", "posopt"
    ),
)

EVENTS: tuple[EventRule, ...] = (
    EventRule(
        "kill_switch", "critical", "Kill switch triggered", "kill switch == triggered", "health.kill_switch"
    ),
    EventRule(
        "circuit_breaker",
        "critical",
        "Circuit breaker open",
        "circuit breaker == open",
        "health.circuit_breaker",
    ),
    EventRule(
        "api_down",
        "warning",
        "Exchange API down (warning, then critical)",
        "an API == down",
        rules=("api_down", "api_down_critical"),
    ),
    EventRule("critical_error", "critical", "Critical error event", "critical error event"),
    EventRule(
        "stale", "critical", "Bot silent / stale", "last event age > {stale_after_s:g} s", "last_event_age_s"
    ),
    EventRule("events_lost", "warning", "Events lost", "events lost increases", "events.lost"),
    EventRule(
        "position_mismatch", "warning", "Position mismatch", "mismatches increase", "position_mismatches"
    ),
    EventRule(
        "too_many_bots",
        "critical",
        "Bot cap reached (monitor)",
        "a new bot id was refused: limits.max_bots bots are already known",
    ),
    EventRule(
        "too_many_alerts",
        "critical",
        "Too many alerts on one bot",
        "more conditions on one bot than alerts it may hold at once",
    ),
    EventRule(
        "journal_failing",
        "critical",
        "State journal failing (monitor)",
        "the monitor's state journal cannot write (disk full, disk too slow)",
    ),
)

#: The alert scope of conditions of the monitor itself (not of a bot); no bot id can be this.
MONITOR = "(monitor)"

#: Alert identities are bounded per bot, so one bot can never flood the outbox or the channels.
#: More APIs down than this on one bot are one aggregated alert (label ``api=*``) ...
MAX_APIS_DOWN_ALERTS = 5
#: ... and a bot holds at most this many alerts at once; what is over becomes one
#: ``too_many_alerts`` alert that names how many conditions it stands for.
MAX_ALERTS_PER_BOT = 20

THRESHOLD: dict[str, ThresholdRule] = {t.name: t for t in THRESHOLDS}
EVENT: dict[str, EventRule] = {e.name: e for e in EVENTS}


def event_label(rule: EventRule) -> str:
    """The form's switch label: what it watches and, unless the label says it, its severity."""
    return rule.label if "(" in rule.label else f"{rule.label} ({rule.severity})"
