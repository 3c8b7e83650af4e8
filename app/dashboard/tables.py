"""The table section's shape, shared by every tab: cells, the row cap, the bot column.

Wire shape: ``{"head": [str, ...], "rows": [[cell, ...], ...], "empty": str}``; a cell
is ``str`` or ``[text, css_class]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, TypeVar

from app.dashboard import fmt

Cell = str | list[str]


#: Most rows a table sends to the page; the rest is one "and N more" row, so a bot naming
#: thousands of symbols, APIs or components cannot make every frame heavy or the page slow.
MAX_TABLE_ROWS = 200


def table(head: list[str], rows: list[list[Cell]], empty: str, keep_last: int = 0) -> dict:
    """A table section; beyond ``MAX_TABLE_ROWS`` the rest is counted in one visible row.

    ``keep_last`` rows at the end (a totals row) are always shown.
    """
    if len(rows) > MAX_TABLE_ROWS:
        tail = rows[len(rows) - keep_last :] if keep_last else []
        shown = rows[: MAX_TABLE_ROWS - keep_last]
        more = len(rows) - len(shown) - len(tail)
        rows = [*shown, more_row(more, len(head)), *tail]
    return {"head": head, "rows": rows, "empty": empty}


def more_row(n: int, width: int) -> list[Cell]:
    """The row that says how many rows are not shown."""
    return [[f"and {fmt.integer(n)} more", "muted"], *([""] * (width - 1))]


def with_bot(show_bot: bool, bot: str, cells: list[Cell]) -> list[Cell]:
    return [bot, *cells] if show_bot else cells


def bot_head(show_bot: bool, *cols: str) -> list[str]:
    return ["Bot", *cols] if show_bot else list(cols)


class _Timed(Protocol):
    @property
    def ts(self) -> float: ...


S = TypeVar("S")
T = TypeVar("T", bound=_Timed)


def newest_first(
    states: Mapping[str, S], entries: Callable[[S], Iterable[T]], limit: int
) -> list[tuple[str, T]]:
    """Every bot's entries (orders, fills, errors) as ``(bot, entry)``, newest first, at most ``limit``."""
    pairs = [(bot, e) for bot, st in states.items() for e in entries(st)]
    pairs.sort(key=lambda be: be[1].ts or 0.0, reverse=True)
    return pairs[:limit]


def bot_rows(
    show_bot: bool, pairs: list[tuple[str, T]], cells: Callable[[str, T], list[Cell]]
) -> list[list[Cell]]:
    """One row per ``(bot, entry)``, the bot column first when the view shows more than one bot."""
    return [with_bot(show_bot, bot, cells(bot, e)) for bot, e in pairs]
