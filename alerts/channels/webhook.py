"""Generic JSON webhook: one POST per notification, Idempotency-Key header, optional HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Annotated, ClassVar

from alerts import notification
from alerts.channels.base import (
    SECRET,
    SECRET_DESTINATION,
    BaseChannel,
    ChannelSettings,
    ChannelType,
    FormField,
    Result,
    Secret,
    http_result,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row

SIGNATURE_HEADER = "X-Alert-Signature"


class WebhookSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="webhook"):
    """``urls`` may carry a token in the path, so they are secrets as well as destinations."""

    required: ClassVar = (("urls",),)

    urls: Annotated[list[str], SECRET_DESTINATION] = []
    hmac_secret: Secret = None
    headers: Annotated[dict[str, str], SECRET] = {}  # e.g. an Authorization header


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` of the exact body bytes, as GitHub-style receivers verify it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body(payload: dict, idem: str, dashboard_url: str) -> dict:
    """The generic JSON body: stable field names, one notification per request, its ``kind`` named.

    The words come from the notification's renderer (alerts/notification.py): an
    alert's headline, a test's, a report's title with its ``lines``.
    """
    return notification.json_body(payload, idem, dashboard_url)


class WebhookChannel(BaseChannel):
    batch_max = 1  # one alert per request: the idempotency key then names exactly one thing
    default_rate = None  # unlimited unless configured

    def destinations(self) -> list[str]:
        return [str(i) for i in range(len(self.cfg.urls))]

    def render(self, rows: list[Row]) -> object:
        return [json.dumps(body(r.payload, r.idem, self.dashboard_url), default=str).encode() for r in rows]

    def send(self, dest: str, rows: list[Row]) -> Result:
        (row,) = rows
        data = json.dumps(body(row.payload, row.idem, self.dashboard_url), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": row.idem,
            "User-Agent": "botmonitor-alerts/1",
            **self.cfg.headers,
        }
        if self.cfg.hmac_secret:
            headers[SIGNATURE_HEADER] = sign(self.cfg.hmac_secret, data)
        req = urllib.request.Request(self.cfg.urls[int(dest)], data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                return http_result(resp.status, resp.headers.get("Retry-After"), "")
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            return http_result(exc.code, exc.headers.get("Retry-After"), detail)
        except (urllib.error.URLError, OSError) as exc:
            return transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


TYPE = ChannelType(
    "webhook",
    "Webhook",
    WebhookSettings,
    WebhookChannel,
    form=(
        FormField("urls", "Webhook URLs", "urls"),
        FormField("hmac_secret", "HMAC secret (optional)", "secret"),
    ),
)
