"""Notification channels: one module per type, listed in :mod:`alerts.channels.registry`."""

from __future__ import annotations

from alerts.channels.registry import build

__all__ = ["build"]
