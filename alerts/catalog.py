"""The built-in alert rules and the severity scale: one row per rule, read by everything else.

Why one table: a rule's metric, comparison, default, severity, settings key and
label used to be restated in the settings types, the evaluator, the dashboard's
form and its Rules table, and a copy that drifted changed what a trader saw
without changing what fired.  Here each fact is written once:

* :data:`THRESHOLDS` are the numeric rules under ``alerts.thresholds``
  (``alerts.config.Thresholds`` is built from them, ``alerts.rules`` compiles
  them, the form and the Rules table list them); each row's :class:`Range` is
  the one statement of the values it accepts: the settings type's bounds and the
  form's check are both derived from it, so a file and the form refuse alike;
* :data:`EVENTS` are the on/off rules under ``alerts.events`` (their conditions
  are code in ``alerts.rules``; their switch, default, severity and label live here);
* :data:`SEVERITIES` is the severity scale, least urgent first; every sort or
  comparison of severities goes through :func:`rank` or :func:`urgent_first`;
* :data:`METRICS` names the figures of a bot's metrics document as a trader reads
  them and says how each is shown (``%``, ``ms``, money), so an alert on a custom
  rule reads like the dashboard's cards.

Every row has a ``title``: the rule's name in every text a human reads (the
Alerts tab, every channel's message); the settings key stays the identity.

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


#: Beyond any threshold a trader could mean; also keeps infinities (and NaN) out of every range.
MAGNITUDE = 1e15


@dataclass(frozen=True, slots=True)
class Range:
    """The values a threshold accepts, stated once.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``; ``what`` names the
    range as the refusal says it ("must be a positive number").  The settings type gets
    :meth:`bounds` as its msgspec constraints, the dashboard's form :meth:`holds` and
    :attr:`reason`: two checks from one statement cannot disagree.
    """

    low: float = -MAGNITUDE
    high: float = MAGNITUDE
    low_open: bool = False
    high_open: bool = False
    what: str = "a number"

    def holds(self, x: float) -> bool:
        """Whether ``x`` is inside; NaN never is (every comparison with it is false)."""
        above = self.low < x if self.low_open else self.low <= x
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def bounds(self) -> dict[str, float]:
        """The range as msgspec.Meta constraints: ``{"gt": 0.0, "le": 1e15}``."""
        return {
            ("gt" if self.low_open else "ge"): self.low,
            ("lt" if self.high_open else "le"): self.high,
        }

    @property
    def reason(self) -> str:
        """Why a value outside is refused, in the words of the file's error and the form alike."""
        return f"must be {self.what}"


POSITIVE = Range(0.0, low_open=True, what="a positive number")
FRACTION = Range(0.0, 1.0, low_open=True, what="a fraction between 0 and 1 (0.1 = 10 %)")
ANY_NUMBER = Range(what="a number")


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A numeric rule: ``<metric> <op> <value>`` on each bot's /api/metrics document.

    ``metric`` is a dotted path; ``None`` means the latency figure chosen by
    ``alerts.thresholds.latency_stat`` (``latency_ms.p95`` or ``latency_ms.max``).
    ``range`` is every value it accepts (settings bound and the form's check).
    ``unit`` says how its values are shown (see :data:`UNITS`).
    """

    name: str  # the rule name and its key under alerts.thresholds
    metric: str | None
    op: str
    default: float | None  # None = off unless the settings give a value
    severity: Severity
    label: str
    unit: str = ""
    range: Range = ANY_NUMBER
    title: str = ""  # its name in alert texts; empty = the settings key

    @property
    def shown(self) -> str:
        return self.title or self.name

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
    titles: tuple[str, ...] = ()  # their names in alert texts, one per rule name

    @property
    def shown(self) -> str:
        return self.titles[0] if self.titles else self.name

    @property
    def settings_key(self) -> str:
        return f"alerts.events.{self.name}"

    @property
    def rule_names(self) -> tuple[str, ...]:
        return self.rules or (self.name,)


THRESHOLDS: tuple[ThresholdRule, ...] = (
    ThresholdRule(
        "max_latency_ms", None, ">", 500.0, "warning", "Max latency (ms)", "ms", POSITIVE, "Max latency"
    ),
    ThresholdRule(
        "min_daily_pnl",
        "daily_pnl",
        "<",
        None,
        "critical",
        "Minimum daily P&L",
        "money",
        ANY_NUMBER,
        "Min daily P&L",
    ),
    ThresholdRule(
        "max_drawdown",
        "drawdown",
        ">",
        0.10,
        "critical",
        "Max drawdown (fraction, 0.10 = 10 %)",
        "pct",
        FRACTION,
        "Max drawdown",
    ),
    ThresholdRule(
        "max_errors_5m",
        "errors.last_5m",
        ">",
        20.0,
        "warning",
        "Max errors per 5 minutes",
        "count",
        POSITIVE,
        "Max errors in 5 min",
    ),
)

EVENTS: tuple[EventRule, ...] = (
    EventRule(
        "kill_switch",
        "critical",
        "Kill switch triggered",
        "kill switch is triggered",
        "health.kill_switch",
        titles=("Kill switch",),
    ),
    EventRule(
        "circuit_breaker",
        "critical",
        "Circuit breaker open",
        "circuit breaker is open",
        "health.circuit_breaker",
        titles=("Circuit breaker",),
    ),
    EventRule(
        "api_down",
        "warning",
        "Exchange API down (warning, then critical)",
        "an exchange API is down (critical when down for long)",
        rules=("api_down", "api_down_critical"),
        titles=("Exchange API down", "Exchange API down too long"),
    ),
    EventRule(
        "critical_error",
        "critical",
        "Critical error event",
        "the bot reports a critical error",
        titles=("Critical error",),
    ),
    EventRule(
        "stale",
        "critical",
        "Bot silent / stale",
        "last event age > {stale_after_s}",
        "last_event_age_s",
        titles=("Bot stale",),
    ),
    EventRule(
        "events_lost",
        "warning",
        "Events lost",
        "events lost increases",
        "events.lost",
        titles=("Events lost",),
    ),
    EventRule(
        "position_mismatch",
        "warning",
        "Position mismatch",
        "position mismatches increase",
        "position_mismatches",
        titles=("Position mismatch",),
    ),
    EventRule(
        "too_many_bots",
        "critical",
        "Bot cap reached (monitor)",
        "a new bot id was refused: limits.max_bots bots are already known",
        titles=("Bot cap reached",),
    ),
    EventRule(
        "too_many_alerts",
        "critical",
        "Too many alerts on one bot",
        "more conditions on one bot than alerts it may hold at once",
        titles=("Too many alerts on one bot",),
    ),
    EventRule(
        "journal_failing",
        "critical",
        "State journal failing (monitor)",
        "the monitor's state journal cannot write (disk full, disk too slow)",
        titles=("State journal failing",),
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

#: The test notification's rule name (Test Alert on the Alerts tab).
TEST_RULE = "test"

#: Every alert rule name of the built-in rules -> its title (what a human reads).
TITLES: dict[str, str] = {
    **{t.name: t.shown for t in THRESHOLDS},
    **{
        name: (e.titles[i] if i < len(e.titles) else name)
        for e in EVENTS
        for i, name in enumerate(e.rule_names)
    },
    TEST_RULE: "Test alert",
}


def title(rule: str) -> str:
    """A rule's name as a human reads it; a custom rule (``alerts.rules``) is called by its own name."""
    return TITLES.get(rule, rule)


#: How a value is shown, by unit: ``pct`` a fraction as a percentage (0.124 -> 12.40%),
#: ``ms`` milliseconds, ``money`` two decimals and the bot's currency, ``count`` a whole
#: number, ``s`` a duration, ``x`` a multiple, ``num`` a plain number, ``""`` as it is.
UNITS: tuple[str, ...] = ("pct", "ms", "money", "count", "s", "x", "num", "")


@dataclass(frozen=True, slots=True)
class Metric:
    """A figure of a bot's metrics document as the dashboard's cards show it."""

    name: str  # as a trader says it
    unit: str  # one of UNITS


#: The per-bot metrics by dotted path (or path prefix, for the mappings: latency by
#: operation, errors by component, APIs); a path not listed is named after its keys.
METRICS: dict[str, Metric] = {
    "equity": Metric("equity", "money"),
    "cash": Metric("cash", "money"),
    "realized_pnl": Metric("realized P&L", "money"),
    "unrealized_pnl": Metric("unrealized P&L", "money"),
    "fees": Metric("fees", "money"),
    "daily_pnl": Metric("daily P&L", "money"),
    "drawdown": Metric("drawdown", "pct"),
    "max_drawdown": Metric("max drawdown", "pct"),
    "sharpe": Metric("Sharpe ratio", "num"),
    "sharpe_returns": Metric("Sharpe returns", "count"),
    "closed_trades": Metric("closed trades", "count"),
    "wins": Metric("wins", "count"),
    "losses": Metric("losses", "count"),
    "win_rate": Metric("win rate", "pct"),
    "profit_factor": Metric("profit factor", "num"),
    "expectancy": Metric("expectancy", "money"),
    "fills_today": Metric("fills today", "count"),
    "round_trips_today": Metric("round trips today", "count"),
    "wins_today": Metric("wins today", "count"),
    "losses_today": Metric("losses today", "count"),
    "exposure_gross": Metric("gross exposure", "money"),
    "exposure_net": Metric("net exposure", "money"),
    "leverage": Metric("leverage", "x"),
    "latency_ms": Metric("latency", "ms"),
    "latency_ms.count": Metric("latency samples", "count"),
    "latency_ms.by_op": Metric("latency of", "ms"),
    "errors.total": Metric("errors", "count"),
    "errors.last_5m": Metric("errors in 5 min", "count"),
    "errors.by_component": Metric("errors of", "count"),
    "errors.by_severity": Metric("errors", "count"),
    "events.received": Metric("events received", "count"),
    "events.rejected": Metric("events rejected", "count"),
    "events.lost": Metric("events lost", "count"),
    "events.seq_resets": Metric("sequence resets", "count"),
    "events.recovered": Metric("events recovered", "count"),
    "position_mismatches": Metric("position mismatches", "count"),
    "last_event_ts": Metric("last event time", "num"),
    "health.apis": Metric("API", ""),
    "health.circuit_breaker": Metric("circuit breaker", ""),
    "health.kill_switch": Metric("kill switch", ""),
    "last_event_age_s": Metric("last event age", "s"),
    "stale": Metric("stale", ""),
}


def metric(path: str) -> Metric:
    """The name and unit of a metric path: the longest listed prefix, then the rest of its keys.

    ``latency_ms.p95`` -> "latency p95" in ms; ``latency_ms.by_op.submit.count`` -> "latency of
    submit count", a count; ``errors.by_component.exchange`` -> "errors of exchange".
    """
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        known = METRICS.get(".".join(parts[:n]))
        if known is not None:
            rest = parts[n:]
            unit = "count" if rest and rest[-1] == "count" else known.unit
            return Metric(" ".join([known.name, *rest]), unit)
    return Metric(" ".join(p.replace("_", " ") for p in parts), "num")


def event_label(rule: EventRule) -> str:
    """The form's switch label: what it watches and, unless the label says it, its severity."""
    return rule.label if "(" in rule.label else f"{rule.label} ({rule.severity})"
