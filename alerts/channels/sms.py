"""SMS through Twilio's Python SDK, with a base URL that can point elsewhere.

The SDK hard-codes ``https://api.twilio.com``; its documented extension point is
the ``http_client``.  Ours subclasses the SDK's own ``TwilioHttpClient`` and
only rewrites the origin of each URL (and keeps the last response headers, for
``Retry-After``), so the SDK still builds and parses every request itself.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from alerts import messages, notification
from alerts.channels.base import (
    BaseChannel,
    ChannelSettings,
    ChannelType,
    Destination,
    FormField,
    Limit,
    Result,
    Secret,
    delivered,
    parse_retry_after,
    permanent,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row

TWILIO_ORIGIN = "https://api.twilio.com"
#: Twilio error codes that mean "later": 20429 too many requests, 20500/20503 server errors.
TRANSIENT_CODES = {20429, 20500, 20503, 30001}
MAX_CHARS = 160

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs phone numbers at INFO


class SmsSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="sms"):
    """A Twilio account, one sender number and the numbers it texts."""

    required: ClassVar = (("account_sid", "auth_token", "from_number", "to_numbers"),)

    account_sid: str | None = None
    auth_token: Secret = None
    from_number: str | None = None
    to_numbers: list[str] = []
    api_url: Destination = None  # default "https://api.twilio.com"


def _ascii(text: str) -> str:
    """GSM-safe: non-ASCII would switch the SMS to UCS-2 and cut the limit to 70 characters."""
    return text.encode("ascii", "replace").decode()


def message(payloads: list[dict], dashboard_url: str) -> str:
    """At most 160 ASCII characters: severity, state, bot and the fact, then the link if it fits.

    A digest names how many of each severity and states the most severe alert.
    """
    ps = messages.ordered(payloads)
    p = ps[0]
    first = f"{messages.scope(p.get('bot'))}: {notification.what(p)}"
    if len(ps) == 1 and notification.kind_of(p) == "report":  # its title, then the lines that fit
        text = " | ".join([f"{notification.state(p)} {first}", *notification.lines(p)])
    elif len(ps) == 1:
        text = f"{str(p.get('severity')).upper()} {notification.state(p)} {first}"
    else:
        text = f"{len(ps)} alerts ({messages.counts(ps)}). First: {notification.state(p)} {first}"
    text = _ascii(" ".join(text.split()))
    tail = _ascii(f" {dashboard_url}")
    if len(text) + len(tail) <= MAX_CHARS:
        return text + tail
    return messages.trim(text, MAX_CHARS - 3)[: MAX_CHARS - 3].rstrip("\u2026") + "..."


@cache
def _rebased_client_class() -> type:
    """The SDK's HTTP client with another origin; defined on first use so the SDK loads lazily."""
    from twilio.http.http_client import TwilioHttpClient

    class RebasedHttpClient(TwilioHttpClient):
        def __init__(self, origin: str, timeout: float) -> None:
            super().__init__(timeout=timeout)
            self.origin = origin.rstrip("/")
            self.last_headers: dict = {}

        def request(self, method, url, *args, **kwargs):
            if url.startswith(TWILIO_ORIGIN):
                url = self.origin + url[len(TWILIO_ORIGIN) :]
            resp = super().request(method, url, *args, **kwargs)
            self.last_headers = dict(resp.headers or {})
            return resp

    return RebasedHttpClient


class SmsChannel(BaseChannel):
    batch_max = 500  # a digest SMS names the count and the most severe alert
    default_rate = 1.0

    def __init__(self, name: str, cfg: SmsSettings, dashboard_url: str) -> None:
        from twilio.rest import Client

        super().__init__(name, cfg, dashboard_url)
        self.http: Any = _rebased_client_class()(cfg.api_url or TWILIO_ORIGIN, cfg.timeout_s)
        self.client = Client(cfg.account_sid, cfg.auth_token, http_client=self.http)

    def destinations(self) -> list[str]:
        return list(self.cfg.to_numbers)

    def limits(self, dest: str) -> list[Limit]:
        """One sender number: 1 message/s overall (Twilio long code), whatever the recipient."""
        return [Limit(f"{self.name}:*", self.cfg.rate_per_s or self.default_rate)]

    def render(self, rows: list[Row]) -> object:
        return message([r.payload for r in rows], self.dashboard_url).encode("utf-8")

    def send(self, dest: str, rows: list[Row]) -> Result:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        body = message([r.payload for r in rows], self.dashboard_url)
        try:
            self.client.messages.create(to=dest, from_=self.cfg.from_number, body=body)
        except TwilioRestException as exc:
            retry = parse_retry_after((self.http.last_headers or {}).get("Retry-After"))
            detail = f"twilio HTTP {exc.status} code {exc.code}: {str(exc.msg)[:200]}"
            if exc.status == 429 or exc.status >= 500 or exc.code in TRANSIENT_CODES:
                return transient(detail, retry)
            return permanent(detail)
        except (requests.RequestException, TwilioException, OSError) as exc:
            return transient(f"twilio {type(exc).__name__}")
        return delivered()


TYPE = ChannelType(
    "sms",
    "SMS",
    SmsSettings,
    SmsChannel,
    form=(
        FormField("account_sid", "Twilio account SID", "text"),
        FormField("auth_token", "Twilio auth token", "secret"),
        FormField("from_number", "From number (E.164)", "e164"),
        FormField("to_numbers", "To numbers (E.164)", "e164s"),
        FormField("api_url", "API base URL (optional)", "url?"),
    ),
)
