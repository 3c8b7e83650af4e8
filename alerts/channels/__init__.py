"""Notification channels; :func:`build` makes the configured ones."""

from __future__ import annotations

from alerts.channels.base import BaseChannel
from alerts.config import AlertsSettings


def build(settings: AlertsSettings, dashboard_url: str) -> dict[str, BaseChannel]:
    """Instantiate every configured channel (SDK imports happen only for types in use)."""
    out: dict[str, BaseChannel] = {}
    for name, cfg in settings.channels.items():
        out[name] = _class(cfg.type)(name, cfg, dashboard_url)
    return out


def _class(kind: str) -> type[BaseChannel]:
    if kind == "slack":
        from alerts.channels.slack import SlackChannel

        return SlackChannel
    if kind == "email":
        from alerts.channels.email import EmailChannel

        return EmailChannel
    if kind == "telegram":
        from alerts.channels.telegram import TelegramChannel

        return TelegramChannel
    if kind == "sms":
        from alerts.channels.sms import SmsChannel

        return SmsChannel
    from alerts.channels.webhook import WebhookChannel

    return WebhookChannel
