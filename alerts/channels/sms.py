"""SMS through Twilio's Python SDK, with a base URL that can point elsewhere.

The SDK hard-codes ``https://api.twilio.com``; its documented extension point is
the ``http_client``.  Ours subclasses the SDK's own ``TwilioHttpClient`` and
only rewrites the origin of each URL (and keeps the last response headers, for
``Retry-After``), so the SDK still builds and parses every request itself.
"""

from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from alerts import messages
from alerts.channels.base import (
    BaseChannel,
    Limit,
    Result,
    delivered,
    parse_retry_after,
    permanent,
    transient,
)
from alerts.outbox import Row

TWILIO_ORIGIN = "https://api.twilio.com"
#: Twilio error codes that mean "later": 20429 too many requests, 20500/20503 server errors.
TRANSIENT_CODES = {20429, 20500, 20503, 30001}

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs phone numbers at INFO


class _RebasedHttpClient(TwilioHttpClient):
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


class SmsChannel(BaseChannel):
    type = "sms"
    batch_max = 500  # a digest SMS names the count and the most severe alert
    default_rate = 1.0

    def __init__(self, name, cfg, dashboard_url) -> None:
        super().__init__(name, cfg, dashboard_url)
        self.http = _RebasedHttpClient(cfg.api_url or TWILIO_ORIGIN, cfg.timeout_s)
        self.client = Client(cfg.account_sid, cfg.auth_token, http_client=self.http)

    def destinations(self) -> list[str]:
        return list(self.cfg.to_numbers)

    def limits(self, dest: str) -> list[Limit]:
        """One sender number: 1 message/s overall (Twilio long code), whatever the recipient."""
        return [Limit(f"{self.name}:*", self.cfg.rate_per_s or self.default_rate)]

    def send(self, dest: str, rows: list[Row]) -> Result:
        body = messages.sms([r.payload for r in rows], self.dashboard_url)
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
