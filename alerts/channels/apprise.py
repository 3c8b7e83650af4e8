"""Apprise: one channel type for Discord, Teams, ntfy, Pushover, PagerDuty and the rest of Apprise's services.

Each URL (``discord://id/token``, ``ntfys://topic``, ``json://host/path``) is a
destination of its own, so a service that fails is that destination's failure
only, retried on its own.  The URLs carry the services' tokens: they are secrets,
and wherever one must be named (an error text) Apprise's privacy form stands in
for it (``discord://i...d/****/``).  The words are the plain-text rendering of the
typed notification (alerts/notification.py), handed to Apprise as text: each
service's plugin escapes it for its own markup, so text from bots is never markup.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from alerts import notification
from alerts.channels.base import (
    SECRET_DESTINATION,
    BaseChannel,
    ChannelSettings,
    ChannelType,
    FormField,
    Result,
    delivered,
    permanent,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row


class AppriseSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="apprise"):
    """``urls``: Apprise URLs, one per service; each is a secret and where that secret goes."""

    required: ClassVar = (("urls",),)

    urls: Annotated[list[str], SECRET_DESTINATION] = []


def message(payloads: list[dict], dashboard_url: str) -> tuple[str, str]:
    """(title, body): the digest's subject and its plain text, from the notification's renderer."""
    return notification.subject(payloads), notification.plain_text(payloads, dashboard_url)


class AppriseChannel(BaseChannel):
    batch_max = 20  # a digest: chat services take one message better than twenty
    default_rate = 1.0  # per URL: below the chat services' documented limits

    def __init__(self, name: str, cfg: Any, dashboard_url: str) -> None:
        super().__init__(name, cfg, dashboard_url)
        import apprise

        # Apprise's own log lines may name a service's URL, token included: they never reach the
        # monitor's log; a failure's words are captured per send and scrubbed (``_scrubbed``).
        logging.getLogger("apprise").propagate = False
        self._apprise = apprise
        self._targets = [apprise.Apprise.instantiate(url) for url in cfg.urls]

    def destinations(self) -> list[str]:
        return [str(i) for i in range(len(self.cfg.urls))]

    def shown(self, dest: str) -> str:
        """The URL of ``dest`` in Apprise's privacy form: what a log or an error may name."""
        target = self._targets[int(dest)]
        return target.url(privacy=True) if target is not None else f"url {int(dest) + 1} (not an Apprise URL)"

    def render(self, rows: list[Row]) -> object:
        return message([r.payload for r in rows], self.dashboard_url)

    def send(self, dest: str, rows: list[Row]) -> Result:
        target = self._targets[int(dest)]
        if target is None:
            return permanent(f"{self.shown(dest)}: no Apprise service has this scheme")
        title, body = message([r.payload for r in rows], self.dashboard_url)
        one = self._apprise.Apprise()
        one.add(target)
        with self._apprise.LogCapture(level=logging.WARNING) as said:
            ok = one.notify(body=body, title=title, body_format=self._apprise.NotifyFormat.TEXT)
        if ok:
            return delivered()
        return transient(f"{self.shown(dest)}: {self._scrubbed(said.getvalue())}")

    def _scrubbed(self, text: str) -> str:
        """Apprise's own words about a failure, without any URL in clear (the delivery scrubs again)."""
        for url, target in zip(self.cfg.urls, self._targets, strict=True):
            if target is not None:
                text = text.replace(url, target.url(privacy=True))
        return " ".join(text.split())[:300] or "not delivered"


TYPE = ChannelType(
    "apprise",
    "Apprise",
    AppriseSettings,
    AppriseChannel,
    form=(FormField("urls", "Apprise URLs (Discord, Teams, ntfy, Pushover, PagerDuty...)", "appriseurls"),),
)
