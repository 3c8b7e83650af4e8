"""The page's name for the presenter: every figure the page shows is worded by core/present.py.

The page's modules say ``fmt.money(...)``; the functions are the presenter's, the same ones
the alert texts use, so a figure reads the same on the page and in a message.
"""

from __future__ import annotations

from core.present import (
    FEE_DECIMALS,
    LIMIT,
    NA,
    TS_RANGE,
    age,
    amount,
    drawdown,
    duration,
    fee,
    integer,
    money,
    ms,
    multiple,
    nbytes,
    number,
    pct,
    price,
    qty,
    rate,
    ratio,
    signed,
    tone,
    value,
    when,
)

__all__ = [
    "FEE_DECIMALS",
    "LIMIT",
    "NA",
    "TS_RANGE",
    "age",
    "amount",
    "drawdown",
    "duration",
    "fee",
    "integer",
    "money",
    "ms",
    "multiple",
    "nbytes",
    "number",
    "pct",
    "price",
    "qty",
    "rate",
    "ratio",
    "signed",
    "tone",
    "value",
    "when",
]
