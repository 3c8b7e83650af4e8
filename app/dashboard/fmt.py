"""Numbers as a trader reads them (pure functions, no Dash).

Formatting happens on the server, once per frame, rather than in the
browser: it is unit-tested here, and the JavaScript stays a dumb renderer.
Every function accepts ``None`` (and NaN/inf, which should never arrive) and
then returns ``n/a``: a dashboard that shows ``NaN`` loses the trader's trust.
"""

from __future__ import annotations

import math
import time

NA = "n/a"


def _ok(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def money(x: float | None, decimals: int = 2) -> str:
    """``12,345.67`` (unsigned display of a level such as equity)."""
    return f"{x:,.{decimals}f}" if _ok(x) else NA


def signed(x: float | None, decimals: int = 2) -> str:
    """``+1,234.50`` / ``-12.00`` / ``0.00``: P&L always shows its sign."""
    if not _ok(x):
        return NA
    if round(x, decimals) == 0:
        return f"{0:.{decimals}f}"
    return f"{x:+,.{decimals}f}"


def tone(x: float | None) -> str:
    """CSS class of a signed value: green, red, or neutral."""
    if not _ok(x) or x == 0:
        return "neutral"
    return "pos" if x > 0 else "neg"


def pct(fraction: float | None, decimals: int = 2, sign: bool = False) -> str:
    """A fraction as a percentage: 0.0123 -> ``1.23%`` (``+1.23%`` when signed)."""
    if not _ok(fraction):
        return NA
    value = fraction * 100
    if sign and round(value, decimals) != 0:
        return f"{value:+,.{decimals}f}%"
    return f"{value:,.{decimals}f}%"


def ratio(x: float | None, decimals: int = 2) -> str:
    return f"{x:,.{decimals}f}" if _ok(x) else NA


def integer(x: float | None) -> str:
    return f"{int(x):,}" if _ok(x) else NA


def qty(x: float | None) -> str:
    """Quantities keep their precision (0.00012 BTC) but lose trailing zeros."""
    if not _ok(x):
        return NA
    text = f"{abs(x):,.8f}".rstrip("0").rstrip(".")
    return ("-" if x < 0 else "") + (text or "0")


def price(x: float | None) -> str:
    """Prices: 2 decimals above 1,000, more for cheap instruments."""
    if not _ok(x):
        return NA
    ax = abs(x)
    decimals = 2 if ax >= 1000 else 4 if ax >= 1 else 6 if ax >= 0.01 else 8
    return f"{x:,.{decimals}f}"


def ms(x: float | None) -> str:
    if not _ok(x):
        return NA
    return f"{x:,.1f} ms" if x < 100 else f"{x:,.0f} ms"


def age(seconds: float | None) -> str:
    """``0.4 s`` / ``12 s`` / ``3 min 05 s`` / ``2 h 03 min``."""
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


def nbytes(x: float | None) -> str:
    if not _ok(x):
        return NA
    for unit in ("B", "KB", "MB", "GB"):
        if abs(x) < 1024 or unit == "GB":
            return f"{x:,.0f} {unit}" if unit == "B" else f"{x:,.1f} {unit}"
        x /= 1024
    return NA  # unreachable, keeps type checkers calm


def clock(ts: float | None) -> str:
    """Event time of day in UTC, to the millisecond (fills, errors)."""
    if not _ok(ts):
        return NA
    return time.strftime("%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}"


def rate(x: float | None) -> str:
    return f"{x:,.1f}/s" if _ok(x) else NA
