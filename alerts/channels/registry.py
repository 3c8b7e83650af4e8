"""The channel types: ``type`` -> descriptor.  Adding a channel = its module + one line here.

Everything that depends on the set of channel types reads :data:`TYPES`: the
settings union (alerts/config.py), the dashboard's form and labels, and
:func:`build`, which makes the configured channels.  The descriptors' modules
import no SDK at import time (each channel class imports its own when it is
made), so only the types in use are loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from alerts.channels import alertmanager, apprise, email, slack, sms, telegram, webhook
from alerts.channels.base import BaseChannel, ChannelType

if TYPE_CHECKING:
    from alerts.config import AlertsSettings

TYPES: dict[str, ChannelType] = {
    d.type: d
    for d in (
        email.TYPE,
        slack.TYPE,
        telegram.TYPE,
        sms.TYPE,
        webhook.TYPE,
        alertmanager.TYPE,
        apprise.TYPE,
    )
}


def register(descriptor: ChannelType) -> ChannelType:
    """Add a type at run time (an embedding application, a test).

    Settings files are validated against the types listed above when
    alerts.config is imported, so a type registered here is configured with
    its settings Struct (``AlertsSettings(channels={"x": MySettings(...)})``).
    """
    TYPES[descriptor.type] = descriptor
    return descriptor


def unregister(kind: str) -> None:
    TYPES.pop(kind, None)


def descriptor(kind: str) -> ChannelType:
    try:
        return TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown channel type {kind!r} (known: {', '.join(TYPES)})") from None


def config_union() -> Any:
    """``SlackSettings | EmailSettings | ...``: msgspec picks the member by its ``type`` tag."""
    return Union[tuple(d.settings for d in TYPES.values())]  # noqa: UP007 (built at run time)


def label(kind: str) -> str:
    """How the dashboard names a type (``E-mail``); an unknown type is shown as is."""
    d = TYPES.get(kind)
    return d.label if d else kind


def build(settings: AlertsSettings, dashboard_url: str) -> dict[str, BaseChannel]:
    """Instantiate every configured channel (SDK imports happen only for types in use)."""
    return {
        name: descriptor(cfg.type).channel(name, cfg, dashboard_url)
        for name, cfg in settings.channels.items()
    }
