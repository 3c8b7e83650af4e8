"""The one presenter of figures: every number and time as a trader reads it (pure, no I/O).

Why one module: a drawdown that reads ``12.40%`` on the page and ``12.4 %`` in the
alert about it makes a trader wonder which is right.  The page (``app/dashboard``,
through its ``fmt`` name), the alert texts (``alerts/messages.py``), and any later
report or chat reply word figures here, so one figure reads the same everywhere.

The API, by what is shown:

* money: :func:`money` (a level, ``12,345.67``), :func:`signed` (P&L, ``+1,234.50``),
  :func:`amount` (with its currency, ``-612.40 USD``), :func:`fee`, :func:`price`, :func:`qty`;
* fractions: :func:`pct` (``1.23%``) and :func:`drawdown` (``12.40%`` below the peak);
* counts and rates: :func:`integer`, :func:`number`, :func:`ratio`, :func:`rate`, :func:`nbytes`;
* time: :func:`ms` (a latency), :func:`duration` (``3 min 05 s``), :func:`when` (an instant in
  a zone, with the zone, and the date unless it is today);
* by unit: :func:`value` shows a metric by its unit (``alerts.catalog.UNITS``).

Formatting happens on the server, once per frame, rather than in the
browser: it is unit-tested here, and the JavaScript stays a dumb renderer.
Every function is total: ``None``, NaN, infinities, absurd magnitudes (beyond
``LIMIT``) and values of the wrong type give ``n/a``, and no input can raise.
A dashboard that shows ``NaN`` loses the trader's trust; one whose formatter
raises freezes every page while still looking live.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import TypeVar

NA = "n/a"
#: Beyond any number the event contract lets through or the metrics can derive from it
#: (docs/events.md, "Bounds"): anything larger is a defect and is shown as ``n/a``.
LIMIT = 1e30
#: Event times the page shows: the contract's range, with a margin.
TS_RANGE = (0.0, 1e11)

F = TypeVar("F", bound=Callable[..., str])


def _ok(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and abs(x) < LIMIT


def _total(default: str = NA) -> Callable[[F], F]:
    """Make a formatter total: whatever it raises on, the page gets ``default``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def safe(*args: object, **kwargs: object) -> str:
            try:
                return fn(*args, **kwargs)
            except Exception:
                return default

        return safe  # type: ignore[return-value]

    return wrap


@_total()
def money(x: float | None, decimals: int = 2) -> str:
    """``12,345.67`` (unsigned display of a level such as equity)."""
    return f"{x:,.{decimals}f}" if _ok(x) else NA


@_total()
def signed(x: float | None, decimals: int = 2) -> str:
    """``+1,234.50`` / ``-12.00`` / ``0.00``: P&L always shows its sign."""
    if not _ok(x):
        return NA
    if round(x, decimals) == 0:
        return f"{0:.{decimals}f}"
    return f"{x:+,.{decimals}f}"


@_total("neutral")
def tone(x: float | None) -> str:
    """CSS class of a signed value: green, red, or neutral."""
    if not _ok(x) or x == 0:
        return "neutral"
    return "pos" if x > 0 else "neg"


@_total()
def pct(fraction: float | None, decimals: int = 2, sign: bool = False) -> str:
    """A fraction as a percentage: 0.0123 -> ``1.23%`` (``+1.23%`` when signed)."""
    if not _ok(fraction):
        return NA
    value = fraction * 100
    if sign and round(value, decimals) != 0:
        return f"{value:+,.{decimals}f}%"
    return f"{value:,.{decimals}f}%"


@_total()
def ratio(x: float | None, decimals: int = 2) -> str:
    return f"{x:,.{decimals}f}" if _ok(x) else NA


@_total()
def integer(x: float | None) -> str:
    return f"{int(x):,}" if _ok(x) else NA


@_total()
def qty(x: float | None) -> str:
    """Quantities keep their precision (0.00012 BTC) but lose trailing zeros."""
    if not _ok(x):
        return NA
    text = f"{abs(x):,.8f}".rstrip("0").rstrip(".")
    return ("-" if x < 0 else "") + (text or "0")


@_total()
def price(x: float | None, like: float | None = None) -> str:
    """Prices: 2 decimals above 1,000, more for cheap instruments.

    ``like``: another price of the same instrument whose precision this one takes, so
    an entry and a mark on either side of a threshold (999.99 / 1,000.01) line up.
    """
    if not _ok(x):
        return NA
    ax = abs(like) if _ok(like) else abs(x)
    decimals = 2 if ax >= 1000 else 4 if ax >= 1 else 6 if ax >= 0.01 else 8
    return f"{x:,.{decimals}f}"


#: Fees are small amounts summed over many fills: one precision everywhere (cards, tables).
FEE_DECIMALS = 4


@_total()
def fee(x: float | None) -> str:
    """``0.0123`` / ``1,234.5000``: every fee, single or summed, with the same 4 decimals."""
    return f"{x:,.{FEE_DECIMALS}f}" if _ok(x) else NA


@_total()
def drawdown(fraction: float | None) -> str:
    """A drawdown as it is shown everywhere: how far below the peak, ``12.40%``.

    One convention: a positive percentage below the peak with two decimals, on the cards,
    the status bar, the Rules table, the chart and the alert texts ("drawdown 12.40% >
    limit 10.00%").
    """
    if not _ok(fraction):
        return NA
    return pct(fraction) if round(fraction * 100, 2) != 0 else pct(0.0)


@_total()
def ms(x: float | None) -> str:
    if not _ok(x):
        return NA
    return f"{x:,.1f} ms" if x < 100 else f"{x:,.0f} ms"


@_total()
def duration(seconds: float | None) -> str:
    """``0.4 s`` / ``12 s`` / ``3 min 05 s`` / ``2 h 03 min`` / ``3 d 04 h``; negative is ``0.0 s``."""
    if not _ok(seconds):
        return NA
    s = max(0.0, seconds)
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{int(s)} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    if s < 86400:
        return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
    return f"{int(s // 86400)} d {int(s % 86400 // 3600):02d} h"


#: The page's name for a duration since something (an age): the same wording.
age = duration


@_total()
def nbytes(x: float | None) -> str:
    if not _ok(x):
        return NA
    for unit in ("B", "KB", "MB", "GB"):
        if abs(x) < 1024 or unit == "GB":
            return f"{x:,.0f} {unit}" if unit == "B" else f"{x:,.1f} {unit}"
        x /= 1024
    return NA  # unreachable, keeps type checkers calm


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=16)
def _today(zone: tzinfo, now: float) -> date:
    """The calendar day of ``now`` in ``zone`` (one tick formats every row against the same now)."""
    return datetime.fromtimestamp(now, zone).date()


@_total()
def when(ts: float | None, zone: tzinfo, now: float | None = None) -> str:
    """An instant as the trader's wall clock reads it: ``14:03:07 CET``.

    The zone's abbreviation is always shown (a bare time is ambiguous between the
    server, the exchange and the trader), and so is the date when the event is not
    from today in that zone (``24 Nov 14:03:07 CET``; ``24 Nov 2025 ...`` in another
    year): a fill from yesterday must never read as one from this afternoon. Without
    ``now`` (a message read later, elsewhere) the full date is always shown. The
    month names are fixed English, not the server's locale.
    """
    if not _ok(ts) or not TS_RANGE[0] <= ts < TS_RANGE[1]:
        return NA
    at = datetime.fromtimestamp(ts, zone)
    text = f"{at:%H:%M:%S} {at.tzname() or getattr(zone, 'key', '')}"
    today = _today(zone, now) if _ok(now) else None
    if at.date() == today:
        return text
    day = f"{at.day} {_MONTHS[at.month - 1]}"
    if today is None or at.year != today.year:
        day += f" {at.year}"
    return f"{day} {text}"


@_total()
def rate(x: float | None) -> str:
    return f"{x:,.1f}/s" if _ok(x) else NA


@_total()
def amount(x: float | None, currency: str | None = None) -> str:
    """Money with its currency: ``-612.40 USD``; no currency named, just the figure."""
    text = money(x)
    return f"{text} {currency}" if currency and text != NA else text


@_total()
def number(x: float | None) -> str:
    """A plain figure: whole numbers without decimals (``20``), others to 4 significant digits."""
    if not _ok(x):
        return NA
    if float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"


@_total()
def multiple(x: float | None) -> str:
    """A multiple such as leverage: ``2.50x``."""
    return f"{x:,.2f}x" if _ok(x) else NA


#: How a figure of each unit (``alerts.catalog.UNITS``) is shown; any other unit as a plain number.
_BY_UNIT: dict[str, Callable[..., str]] = {
    "pct": pct,
    "ms": ms,
    "s": duration,
    "x": multiple,
}


@_total()
def value(x: float | None, unit: str = "", currency: str | None = None) -> str:
    """A metric's figure by its unit, as the page's cards show it: ``12.40%``, ``812 ms``.

    ``money`` takes ``currency`` (``-500.00 EUR``); ``count``, ``num`` and ``""`` read as
    plain numbers (``29``, ``0.8312``).
    """
    if unit == "money":
        return amount(x, currency)
    return _BY_UNIT.get(unit, number)(x)
