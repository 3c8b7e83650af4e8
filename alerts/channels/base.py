"""What every channel is: destinations, rate limits, and one ``send`` returning a typed result.

Channels never retry on their own (all SDK retry handlers are off): retries,
backoff and ``Retry-After`` belong to the delivery worker, which persists them in
the outbox so they survive a restart.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import ClassVar

from alerts.config import Channel
from alerts.outbox import Row

DELIVERED, TRANSIENT, PERMANENT = "delivered", "transient", "permanent"


@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of one send. ``retry_after`` is the server's own figure, honoured exactly."""

    status: str
    error: str | None = None
    retry_after: float | None = None


def delivered() -> Result:
    return Result(DELIVERED)


def transient(error: str, retry_after: float | None = None) -> Result:
    return Result(TRANSIENT, error, retry_after)


def permanent(error: str) -> Result:
    return Result(PERMANENT, error)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def http_result(status: int, retry_after: str | None, detail: str) -> Result:
    """The shared HTTP classification: 2xx ok; 408/425/429/5xx transient; other 4xx permanent."""
    if 200 <= status < 300:
        return delivered()
    if status in (408, 425, 429) or status >= 500:
        return transient(f"HTTP {status}: {detail[:200]}", parse_retry_after(retry_after))
    return permanent(f"HTTP {status}: {detail[:200]}")


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket: ``rate`` messages per second with ``burst`` capacity, keyed by ``key``."""

    key: str
    rate: float
    burst: float = 1.0


class BaseChannel:
    """A configured channel instance. Subclasses implement ``destinations`` and ``send``."""

    type: ClassVar[str] = ""
    batch_max: ClassVar[int] = 50  # rows per message (a digest); 1 = never batch
    default_rate: ClassVar[float | None] = None  # per destination, messages/s

    def __init__(self, name: str, cfg: Channel, dashboard_url: str) -> None:
        self.name, self.cfg, self.dashboard_url = name, cfg, dashboard_url

    def destinations(self) -> list[str]:
        return ["default"]

    def limits(self, dest: str) -> list[Limit]:
        rate = self.cfg.rate_per_s or self.default_rate
        return [Limit(f"{self.name}:{dest}", rate)] if rate else []

    def send(self, dest: str, rows: list[Row]) -> Result:
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line, the API or the page."""
        c = self.cfg
        vals = [c.webhook_url, c.token, c.password, c.auth_token, c.hmac_secret, *c.urls, *c.headers.values()]
        return [v for v in vals if v and len(v) >= 4]

    def close(self) -> None:
        """Release sockets, event loops."""
