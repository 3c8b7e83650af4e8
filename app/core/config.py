"""Configuration of the pure core (metrics definitions and memory bounds).

Kept separate from the YAML loader so the core can be built in tests with
plain keyword arguments and no files.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

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
    risk_free_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    latency_window_s: Positive = 300.0
    # Memory bounds: the store never holds more than these, however long it runs.
    latency_max_samples: PositiveInt = 100_000
    error_max_samples: PositiveInt = 100_000
    equity_curve_points: Annotated[int, msgspec.Meta(ge=64)] = 4096
    recent_fills: PositiveInt = 200
    max_open_orders: PositiveInt = 10_000


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the state store needs to know, assembled by app.settings."""

    metrics: MetricsSettings = MetricsSettings()
    bots: dict[str, BotSettings] = {}
    stale_after_s: Positive = 10.0
    recent_rejects: PositiveInt = 20
