"""The hub's typed documents as plain JSON-shaped data, and typed documents built from partial data.

Tests that check numbers read the documents as the API serves them (its
JSON, decoded to nested dicts and lists); rule tests build typed
documents from the few fields they care about, the rest filled with a quiet bot.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

import msgspec

from core.documents import BotMetrics, MetricsDocument, StateDocument


class _Source(Protocol):
    def metrics(self) -> MetricsDocument: ...

    def state(self, bot: str) -> StateDocument | None: ...


def as_json(doc: object) -> Any:
    """A document as a JSON client reads it (the API encodes it the same way)."""
    return msgspec.json.decode(msgspec.json.encode(doc))


def metrics_of(source: _Source) -> dict[str, Any]:
    """The /api/metrics document of a store or hub as plain data."""
    return as_json(source.metrics())


def state_of(source: _Source, bot: str) -> dict[str, Any] | None:
    """The /api/state document of a store or hub as plain data (None for an unknown bot)."""
    doc = source.state(bot)
    return None if doc is None else as_json(doc)


_STATS = {"count": 0, "avg": None, "p50": None, "p95": None, "max": None}
QUIET_BOT: dict[str, Any] = {
    "equity": 10000.0,
    "equity_source": "derived",
    "currency": None,
    "cash": None,
    "realized_pnl": 0.0,
    "unrealized_pnl": 0.0,
    "fees": 0.0,
    "daily_pnl": 0.0,
    "drawdown": 0.0,
    "max_drawdown": 0.0,
    "sharpe": None,
    "sharpe_returns": 0,
    "closed_trades": 0,
    "wins": 0,
    "losses": 0,
    "win_rate": None,
    "profit_factor": None,
    "expectancy": None,
    "fills_today": 0,
    "round_trips_today": 0,
    "wins_today": 0,
    "losses_today": 0,
    "exposure_gross": 0.0,
    "exposure_net": 0.0,
    "leverage": None,
    "latency_ms": {**_STATS, "by_op": {}},
    "errors": {"total": 0, "by_component": {}, "by_severity": {}, "last_5m": 0, "last_critical": None},
    "events": {"received": 1, "rejected": 0, "lost": 0, "seq_resets": 0},
    "position_mismatches": 0,
    "last_event_ts": 1.0,
    "health": {"apis": {}, "circuit_breaker": None, "kill_switch": None},
    "last_event_age_s": 1.0,
    "stale": False,
    "safety": {},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and out[key]:
            out[key] = _merge(out[key], value)  # a group of metrics: change only the given ones
        else:
            out[key] = value
    return out


def bot_metrics(**over: Any) -> BotMetrics:
    """A quiet bot's metrics with ``over`` changed (nested groups are merged, not replaced).

    A field of :class:`BotMetrics` that :data:`QUIET_BOT` does not list (a metric added
    since) is null, "no data yet", as every new metric may be (docs/extending.md).
    """
    unlisted = {name: None for name in BotMetrics.__struct_fields__ if name not in QUIET_BOT}
    return msgspec.convert(_merge({**QUIET_BOT, **unlisted}, over), BotMetrics)


def metrics_doc(bots: dict[str, BotMetrics]) -> MetricsDocument:
    """A /api/metrics document holding these bots (totals and collector are not read by rules)."""
    zero = dict.fromkeys(
        ("equity", "realized_pnl", "unrealized_pnl", "daily_pnl", "fees", "exposure_gross", "exposure_net"),
        0.0,
    )
    collector = {"received": 0, "rejected": 0, "rejected_by_reason": {}, "rate_per_s": 0.0}
    doc = msgspec.convert({"bots": {}, "total": zero, "collector": collector}, MetricsDocument)
    return msgspec.structs.replace(doc, bots=bots)


def schema_meaning(node: object) -> object:
    """A JSON Schema with its prose reduced to words: a docstring's indentation is no change."""
    if isinstance(node, dict):
        return {k: " ".join(v.split()) if k == "description" else schema_meaning(v) for k, v in node.items()}
    if isinstance(node, list):
        return [schema_meaning(v) for v in node]
    return node
