"""What the page shows of the safety invariants: stale marks behind a figure, the rules' rows.

A position whose symbol has had no price for ``alerts.safety.mark_stale_after_s`` is valued
at an old mark: its unrealized P&L says so, with the mark's age, and so does every equity
figure of the view that includes it.  The safety rules and the fleet limits are rows of the
Alerts tab's Rules table like the other rules, named and worded from their catalog rows.
"""

from __future__ import annotations

from typing import Any

from alerts import catalog, messages, safety_catalog
from alerts.rule_settings import SafetySettings
from app.dashboard import fmt
from core.documents import BotMetrics, MetricsDocument

#: The stale-mark limit when the page is not told one (no settings file): the setting's default.
DEFAULT_MARK_STALE_AFTER_S: float = SafetySettings().mark_stale_after_s


def mark_ages(m: BotMetrics) -> dict[str, float]:
    """Each open position's mark age now: event time to the bot's newest event, plus its silence since."""
    silent = m.last_event_age_s or 0.0
    return {sym: age + silent for sym, age in m.safety.mark_age_s.items()}


def stale_marks(per_bot: dict[str, BotMetrics], limit: float | None) -> dict[str, dict[str, float]]:
    """bot -> {symbol: mark age} of the positions valued at a mark older than ``limit``."""
    limit = DEFAULT_MARK_STALE_AFTER_S if limit is None else limit
    out = {}
    for bot, m in per_bot.items():
        old = {sym: a for sym, a in mark_ages(m).items() if a > limit}
        if old:
            out[bot] = old
    return out


def stale_note(per_bot: dict[str, BotMetrics], limit: float | None) -> str:
    """The note of an equity figure valued partly at stale marks (empty when none is)."""
    n = sum(len(s) for s in stale_marks(per_bot, limit).values())
    return f"{n} stale mark{'s' if n != 1 else ''} inside" if n else ""


def safety_rows(settings: Any, bots: dict[str, BotMetrics]) -> list[list[str]]:
    """The Rules table's rows of the safety invariants: [rule, condition, for, severity, on, current]."""
    s = settings.safety
    words = {
        x.name: fmt.pct(getattr(s, x.name)) if x.unit == "pct" else messages.duration(getattr(s, x.name))
        for x in safety_catalog.SAFETY_LIMITS
        if getattr(s, x.name) is not None
    }
    words.setdefault("max_drawdown", "the max drawdown threshold")
    words["max_orders_per_min"] = fmt.integer(s.max_orders_per_min)
    rows = []
    for rule in safety_catalog.SAFETY:
        current = "—"
        if rule.metric:
            path = rule.metric.split(".")
            current = ", ".join(f"{b}: {_at(m, path)}" for b, m in sorted(bots.items())) or "no bots yet"
        rows.append(
            [
                rule.title,
                rule.condition.format(**words),
                "—",
                rule.severity,
                _on(getattr(s, rule.name)),
                current,
            ]
        )
    return rows


def fleet_rows(settings: Any, metrics: MetricsDocument | None) -> list[list[str]]:
    """The Rules table's rows of the fleet limits, with each currency's total now."""
    fleet = metrics.fleet if metrics is not None else {}
    rows = []
    for rule in safety_catalog.FLEET:
        spec = getattr(settings.fleet, rule.name)
        limit = (
            "—"
            if spec is None
            else ", ".join(f"{c} {messages.shown(v, rule.unit)}" for c, v in spec.items())
            if isinstance(spec, dict)
            else messages.shown(spec, rule.unit)
        )
        name = safety_catalog.FLEET_PREFIX + rule.name
        current = ", ".join(
            f"{cur}: {messages.shown(getattr(t, rule.metric or ''), rule.unit, cur)}"
            for cur, t in fleet.items()
        )
        what = f"all bots' total {catalog.metric(rule.metric or '').name} {rule.op} {limit}"
        rows.append(
            [rule.shown or name, what, "—", rule.severity, _on(spec is not None), current or "no data"]
        )
    return rows


def _at(m: BotMetrics, path: list[str]) -> str:
    node: Any = m
    for part in path:
        node = getattr(node, part, None)
    return "no data" if node is None else str(fmt.number(node) if isinstance(node, float) else node)


def _on(on: bool) -> str:
    return "on" if on else "off"


def fleet_cards(metrics: MetricsDocument) -> list[list[str]]:
    """The All bots view's card of the fleet drawdown, per currency (what ``alerts.fleet`` checks)."""
    fleet = metrics.fleet
    if not fleet:
        return []
    text = " · ".join(f"{cur} {fmt.drawdown(t.drawdown)}" for cur, t in fleet.items())
    tone = "neg" if any(t.drawdown > 0 for t in fleet.values()) else "neutral"
    return [["All bots drawdown", text, tone, "summed equity below the sum of the bots' peaks"]]
