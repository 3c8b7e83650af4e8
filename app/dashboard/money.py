"""The currency of a view's money: headers, cells and sums that never add up different currencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.dashboard import fmt
from core.documents import BotMetrics

#: A currency code is shown as the bot sent it, cut to this length (a bot's text, kept short).
CURRENCY_CHARS = 12


NO_CURRENCY = "(no currency)"


def _currency(code: str | None) -> str | None:
    code = (code or "").strip()[:CURRENCY_CHARS]
    return code or None


@dataclass(frozen=True)
class Money:
    """The currency of a view's money, from the bots' account events.

    One currency shared by every bot of the view goes into the headers and next to the
    figures; bots in different currencies are never added up: a sum becomes one figure
    per currency, and each table row carries its bot's currency.  A bot that has named
    no currency (derived equity) is not a different one: it is added to the others as
    before, only then no currency is claimed for the sum.
    """

    by_bot: dict[str, str | None]

    @classmethod
    def of(cls, per_bot: dict[str, BotMetrics]) -> Money:
        return cls({b: _currency(m.currency) for b, m in per_bot.items()})

    @property
    def mixed(self) -> bool:
        """Bots of the view name different currencies."""
        return len({c for c in self.by_bot.values() if c}) > 1

    @property
    def common(self) -> str | None:
        """The currency every bot of the view names; None when one names none, or they differ."""
        named = set(self.by_bot.values())
        return next(iter(named)) if len(named) == 1 else None

    def head(self, label: str) -> str:
        """A table header: ``Fee (USD)`` when the view has one currency."""
        return f"{label} ({self.common})" if self.common else label

    def cell(self, bot: str, text: str) -> str:
        """A table value: with its bot's currency when the view mixes currencies."""
        cur = self.by_bot.get(bot)
        return f"{text} {cur}" if self.mixed and cur and text != fmt.NA else text

    def amount(self, text: str) -> str:
        """A single figure of the whole view (one bot, or one currency) with its currency."""
        return f"{text} {self.common}" if self.common and text != fmt.NA else text

    def total(
        self, per_bot: dict[str, BotMetrics], field: str, form: Callable[[float | None], str] = fmt.money
    ) -> tuple[str, str]:
        """A sum across the view's bots as (text, tone): one per currency when they differ.

        A currency whose bots have no value yet is ``n/a``, not 0.
        """
        sums: dict[str | None, float | None] = {}
        for bot, m in per_bot.items():
            value, cur = getattr(m, field), self.by_bot.get(bot) if self.mixed else None
            if value is not None:
                sums[cur] = (sums.get(cur) or 0.0) + value
            else:
                sums.setdefault(cur, None)
        if not self.mixed:
            value = next(iter(sums.values()), None)
            return self.amount(form(value)), fmt.tone(value)
        order = sorted(sums, key=lambda c: (c is None, c or ""))
        text = " + ".join(f"{form(sums[c])} {c or NO_CURRENCY}" for c in order)
        tones = {fmt.tone(v) for v in sums.values()}
        return text, tones.pop() if len(tones) == 1 else "neutral"
