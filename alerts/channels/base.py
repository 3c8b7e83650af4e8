"""What every channel is: typed settings, a descriptor, destinations, rate limits, and one ``send``.

A channel type is one module (slack.py, email.py, ...) holding its settings
Struct (a subclass of :class:`ChannelSettings`, tagged by ``type``), its
channel class (a :class:`BaseChannel`) and a :class:`ChannelType` descriptor
that ties them to the form's fields; alerts/channels/registry.py lists the
descriptors.  Which settings are secrets, and which decide where a secret is
sent, is marked on the field itself (:data:`Secret`, :data:`Destination`) and
read here generically, so scrubbing and the settings form cannot miss one.

Channels never retry on their own (all SDK retry handlers are off): retries,
backoff and ``Retry-After`` belong to the delivery worker, which persists them in
the outbox so they survive a restart.  SDKs are imported inside each channel
class, so only the types in use are loaded.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec

if TYPE_CHECKING:
    from alerts.rows import Row

DELIVERED, TRANSIENT, PERMANENT = "delivered", "transient", "permanent"

#: Field metadata: a value never shown, logged or kept in settings.yaml in clear.
SECRET = msgspec.Meta(extra={"secret": True})
#: Field metadata: the value decides where the channel's secrets are sent (a host, a base URL).
DESTINATION = msgspec.Meta(extra={"destination": True})
#: Both at once: a secret that is itself where messages go (a webhook URL with its token in it).
SECRET_DESTINATION = msgspec.Meta(extra={"secret": True, "destination": True})

Secret = Annotated[str | None, SECRET]
Destination = Annotated[str | None, DESTINATION]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class ChannelSettings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"
):
    """Settings every channel type has; a subclass adds its own fields and ``required``.

    Every base URL / host is configurable: that is how a proxy, a regional API,
    or a local test server is reached.
    """

    #: Groups of fields a channel needs: it works when every field of any one group is set.
    required: ClassVar[tuple[tuple[str, ...], ...]] = ()

    timeout_s: PositiveFloat = 10.0
    # Rate limit per destination (messages per second); null = the service's documented limit.
    rate_per_s: PositiveFloat | None = None

    @property
    def type(self) -> str:
        """The ``type:`` of these settings (the Struct's tag)."""
        return str(type(self).__struct_config__.tag)

    def __post_init__(self) -> None:
        problem = missing(self)
        if problem:
            raise ValueError(f"channel of type {self.type}: {problem}")


def missing(cfg: ChannelSettings) -> str | None:
    """'needs a and b, or c' when no required group is fully set; None when the channel can work."""
    groups = type(cfg).required
    if not groups or any(all(getattr(cfg, f) for f in g) for g in groups):
        return None
    return "needs " + ", or ".join(_and(g) for g in groups)


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@cache
def marked(cls: type[ChannelSettings], mark: str) -> tuple[str, ...]:
    """Names of the fields of ``cls`` whose type carries ``Meta(extra={mark: True})``."""
    info = msgspec.inspect.type_info(cls)
    return tuple(f.name for f in info.fields if _has_mark(f.type, mark))  # type: ignore[attr-defined]


def _has_mark(t: Any, mark: str) -> bool:
    if isinstance(t, msgspec.inspect.Metadata):
        return bool((t.extra or {}).get(mark)) or _has_mark(t.type, mark)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_has_mark(x, mark) for x in t.types)
    return False


def secret_fields(cls: type[ChannelSettings]) -> tuple[str, ...]:
    return marked(cls, "secret")


def destination_fields(cls: type[ChannelSettings]) -> tuple[str, ...]:
    return marked(cls, "destination")


def secret_values(cfg: ChannelSettings) -> list[str]:
    """Every secret value of a channel's settings (list items and mapping values included)."""
    out: list[str] = []
    for name in secret_fields(type(cfg)):
        value = getattr(cfg, name)
        if isinstance(value, dict):
            out += [str(v) for v in value.values()]
        elif isinstance(value, (list, tuple)):
            out += [str(v) for v in value]
        elif value:
            out.append(str(value))
    return [v for v in out if v and len(v) >= 4]


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the settings form for a channel field; ``kind`` names the form's check."""

    name: str
    label: str
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class ChannelType:
    """Everything the rest of the product needs to know about one channel type."""

    type: str  # the ``type:`` value
    label: str  # how the dashboard names it
    settings: type[ChannelSettings]
    channel: Callable[[str, Any, str], BaseChannel]  # (name, settings, dashboard_url) -> channel
    form: tuple[FormField, ...] = ()
    #: The service keeps state, not events: the engine re-sends each alert's state to it
    #: (alerts/state_refresh.py) and makes no repeat or escalation of its own for it.
    stateful: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        return secret_fields(self.settings)

    @property
    def destinations(self) -> tuple[str, ...]:
        return destination_fields(self.settings)


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

    batch_max: ClassVar[int] = 50  # rows per message (a digest); 1 = never batch
    default_rate: ClassVar[float | None] = None  # per destination, messages/s

    def __init__(self, name: str, cfg: Any, dashboard_url: str) -> None:
        self.name, self.cfg, self.dashboard_url = name, cfg, dashboard_url

    @property
    def type(self) -> str:
        return self.cfg.type

    def destinations(self) -> list[str]:
        return ["default"]

    def limits(self, dest: str) -> list[Limit]:
        rate = self.cfg.rate_per_s or self.default_rate
        return [Limit(f"{self.name}:{dest}", rate)] if rate else []

    def send(self, dest: str, rows: list[Row]) -> Result:
        raise NotImplementedError

    def render(self, rows: list[Row]) -> object:
        """The message ``send`` would build for ``rows``, without sending it; raises when it cannot be built.

        Delivery calls it first, so that a row whose message cannot be built (a payload no
        template can carry) is dead-lettered on its own instead of failing, and being retried
        with, every alert of the digest.
        """
        return None

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line, the API or the page."""
        return secret_values(self.cfg)

    def close(self) -> None:
        """Release sockets, event loops."""
