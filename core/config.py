"""Configuration of the pure core (metrics definitions and memory bounds).

Kept separate from the YAML loader so the core can be built in tests with
plain keyword arguments and no files.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from collectors.events import BotId

Positive = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]


class BotSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-bot overrides, keyed by bot id under ``bots:``."""

    starting_equity: Positive | None = None


class MetricsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the risk metrics are defined; see docs/metrics.md."""

    timezone: str = "UTC"
    default_starting_equity: Positive = 10000.0
    sharpe_interval_s: PositiveInt = 60
    sharpe_window_s: PositiveInt = 86400
    #: Sharpe stays null until this many returns are in the window: a ratio annualised from a
    #: handful of one-minute returns swings by hundreds and tells a trader nothing.
    sharpe_min_returns: PositiveInt = 30
    risk_free_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    latency_window_s: Positive = 300.0
    # Memory bounds: the store never holds more than these, however long it runs.
    latency_max_samples: PositiveInt = 100_000
    error_max_samples: PositiveInt = 100_000
    equity_curve_points: Annotated[int, msgspec.Meta(ge=64)] = 4096
    recent_fills: PositiveInt = 200
    max_open_orders: PositiveInt = 10_000


class LimitsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How much any bot may make the monitor hold: what goes over is rejected, counted per reason.

    Without these a buggy or hostile publisher grows the monitor without end (one
    distinct symbol, op, component or API name per message); see docs/metrics.md
    for the memory budget they add up to.
    """

    #: Optional allow-list of bot ids; when set, any other id is rejected as ``unknown_bot``.
    allowed_bots: list[BotId] | None = None
    max_bots: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    max_symbols: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000  # per bot: positions and marks
    max_latency_ops: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100  # per bot
    max_error_components: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100  # per bot
    max_apis: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50  # per bot


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the state store needs to know, assembled by app.settings."""

    metrics: MetricsSettings = MetricsSettings()
    bots: dict[str, BotSettings] = {}
    stale_after_s: Positive = 10.0
    recent_rejects: PositiveInt = 20
    limits: LimitsSettings = LimitsSettings()
