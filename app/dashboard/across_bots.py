"""How one figure speaks for several bots: when it is marked old, the worst drawdown, switch colours.

Shared by the status bar, the Risk tab and the Health tab, so that a figure shown in two
places is judged the same way in both.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.dashboard import fmt
from core.documents import BotMetrics


def youngest_age(bots: Iterable[BotMetrics]) -> float | None:
    ages = [m.last_event_age_s for m in bots if m.last_event_age_s is not None]
    return min(ages) if ages else None


def age_note(bots: Iterable[BotMetrics]) -> str:
    """The "old" mark of a figure: empty while any bot behind it is live.

    When every one of them is stale, the figure is as old as the newest data behind
    it, so that is the age shown: one silent bot's age never lands on a total the
    others keep current.
    """
    behind = list(bots)
    if not behind or not all(m.stale for m in behind):
        return ""
    return f"{fmt.age(youngest_age(behind))} old"


def worst_drawdown(per_bot: dict[str, BotMetrics], field: str = "drawdown") -> tuple[float | None, list[str]]:
    """The deepest drawdown of a view and the bots it comes from (all of them when none is down)."""
    if not per_bot:
        return None, []
    worst = max(getattr(m, field) or 0.0 for m in per_bot.values())
    return worst, [b for b, m in per_bot.items() if (getattr(m, field) or 0.0) == worst]


SWITCH_CLASS = {
    "armed": "pos",
    "triggered": "neg",
    "disabled": "warn",
    "closed": "pos",
    "open": "neg",
    "half_open": "warn",
}
