"""Settings of the alert engine (``alerts:``) and of durable storage (``storage:``).

Plain msgspec Structs so that ``app.settings`` can mount them into the one
settings document and report a bad key with its file and path, and so tests can
build them with keyword arguments.  Every field has a default that works with no
channel configured at all: alerts then show on the dashboard only.

Secrets (tokens, passwords, webhook URLs) are written as ``${VAR}`` in
settings.yaml and resolved from the environment by the loader; the structs below
never print them (see :func:`redacted`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
Op = Literal[">", ">=", "<", "<=", "==", "!="]
NonNeg = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


class _S(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: immutable, keyword-only, unknown keys are errors (typos must not pass silently)."""


class Threshold(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Long form of a threshold: ``{value: 200, for: 30, severity: critical}``."""

    value: float
    for_s: NonNeg = msgspec.field(default=0.0, name="for")
    severity: Severity | None = None
    enabled: bool = True  # off keeps the value in the file (the dashboard's switch), unlike null


ThresholdValue = float | Threshold | None


class Thresholds(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seed's shipped threshold rules; a key left out or null disables that rule."""

    max_latency_ms: ThresholdValue = None  # latency p95 (or max) above it
    min_daily_pnl: ThresholdValue = None  # daily P&L below it (a loss limit, negative)
    max_drawdown: ThresholdValue = None  # drawdown fraction above it (0.1 = 10 %)
    max_errors_5m: ThresholdValue = None  # errors in the last 5 minutes above it
    latency_stat: Literal["p95", "max"] = "p95"  # which windowed latency figure max_latency_ms checks


#: Severity of each shipped threshold when the long form does not say.
THRESHOLD_SEVERITY: dict[str, str] = {
    "max_latency_ms": "warning",
    "min_daily_pnl": "critical",
    "max_drawdown": "critical",
    "max_errors_5m": "warning",
}


class Rule(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A further threshold rule on any per-bot metric of /api/metrics (dotted path)."""

    name: Name
    metric: str  # e.g. "latency_ms.by_op.submit.p95", "exposure_gross", "stale"
    op: Op = ">"
    value: float | bool | str
    for_s: NonNeg = msgspec.field(default=0.0, name="for")
    severity: Severity = "warning"
    bots: list[str] | None = None  # restrict to these bots; null = every bot
    enabled: bool = True  # off = not evaluated, kept in the file


class EventRules(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Event rules, all on by default: the alerts nobody else sends."""

    kill_switch: bool = True  # kill switch "triggered" -> critical
    circuit_breaker: bool = True  # circuit breaker "open" -> critical
    api_down: bool = True  # an API "down" -> warning ...
    api_down_critical_after_s: NonNeg = 120.0  # ... critical once down this long
    critical_error: bool = True  # an error event with severity critical -> critical
    critical_error_hold_s: Positive = 300.0  # stays firing this long after the newest one
    stale: bool = True  # no event for stale_after_s -> critical (the dead bot)
    events_lost: bool = True  # a sequence gap -> warning
    position_mismatch: bool = True  # snapshot disagrees with the fills -> warning
    counter_hold_s: Positive = 300.0  # lost/mismatch alerts resolve after this quiet time


class Escalation(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """After ``after_s`` of firing without an ack, also notify ``channels``."""

    after_s: NonNeg
    channels: list[Name]


class Route(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a severity goes. No channels = dashboard only."""

    channels: list[Name] = []
    repeat_interval_s: Positive | None = None  # null = never repeat
    escalate: list[Escalation] = []
    send_resolved: bool = True


def _default_routes() -> dict[str, Route]:
    return {
        "critical": Route(repeat_interval_s=900.0),
        "warning": Route(repeat_interval_s=3600.0),
        "info": Route(),
    }


class Channel(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One notification channel. Which fields matter depends on ``type``.

    Every base URL / host is configurable: that is how a proxy, a regional API,
    or a local test server is reached.
    """

    type: Literal["slack", "email", "telegram", "sms", "webhook"]
    timeout_s: Positive = 10.0
    # Rate limit per destination (messages per second); null = the service's documented limit.
    rate_per_s: Positive | None = None
    # slack: an incoming-webhook URL, or a bot token + channel
    webhook_url: str | None = None
    token: str | None = None
    channel: str | None = None
    api_url: str | None = None  # slack "https://slack.com/api/", telegram "https://api.telegram.org"
    # email
    host: str = "localhost"
    port: int | None = None
    username: str | None = None
    password: str | None = None
    sender: str | None = None
    recipients: list[str] = []
    ssl: bool = False
    starttls: bool = True
    # telegram
    chat_ids: list[str | int] = []
    # sms (Twilio)
    account_sid: str | None = None
    auth_token: str | None = None
    from_number: str | None = None
    to_numbers: list[str] = []
    # webhook
    urls: list[str] = []
    hmac_secret: str | None = None
    headers: dict[str, str] = {}

    def __post_init__(self) -> None:
        problem = _channel_problem(self)
        if problem:
            raise ValueError(f"channel of type {self.type}: {problem}")


def _channel_problem(c: Channel) -> str | None:
    """Why a channel cannot work, or None; checked at load so a typo fails loudly."""
    if c.type == "slack" and not c.webhook_url and not (c.token and c.channel):
        return "needs webhook_url, or token and channel"
    if c.type == "email" and not (c.recipients and c.sender):
        return "needs sender and recipients"
    if c.type == "telegram" and not (c.token and c.chat_ids):
        return "needs token and chat_ids"
    if c.type == "sms" and not (c.account_sid and c.auth_token and c.from_number and c.to_numbers):
        return "needs account_sid, auth_token, from_number and to_numbers"
    if c.type == "webhook" and not c.urls:
        return "needs urls"
    return None


class Delivery(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Outbox and retry behaviour (the defaults follow the issue)."""

    lease_s: Positive = 5.0  # a claimed row is re-sent this long after a crash mid-send
    backoff_initial_s: Positive = 0.5
    backoff_factor: Annotated[float, msgspec.Meta(ge=1)] = 1.5
    backoff_max_s: Positive = 60.0
    failover_after_s: Positive = 60.0  # critical not confirmed by any channel -> all channels
    give_up_after_s: Positive = 86400.0  # transient failures past this are dead-lettered
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 500  # alerts per digest message


class Watchdog(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Dead man's switch: GET ``url`` every ``interval_s`` so the monitor's death is noticed."""

    url: str | None = None
    interval_s: Positive = 60.0
    timeout_s: Positive = 10.0


class AlertsSettings(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``alerts:`` section of settings.yaml."""

    enabled: bool = True
    thresholds: Thresholds = Thresholds()
    events: EventRules = EventRules()
    rules: list[Rule] = []
    routes: dict[Severity, Route] = msgspec.field(default_factory=_default_routes)
    channels: dict[Name, Channel] = {}
    delivery: Delivery = Delivery()
    watchdog: Watchdog = Watchdog()
    tick_s: Positive = 1.0  # periodic evaluation for time-based rules (stale, for, repeats)
    min_interval_s: NonNeg = 0.05  # at most ~20 evaluations/s however fast events arrive
    history_limit: Annotated[int, msgspec.Meta(ge=10)] = 10_000

    def __post_init__(self) -> None:
        names = set(self.channels)
        for sev, route in self.routes.items():
            used = list(route.channels) + [c for e in route.escalate for c in e.channels]
            unknown = sorted(set(used) - names)
            if unknown:
                raise ValueError(f"routes.{sev} names unknown channels {unknown}")
        rule_names = [r.name for r in self.rules]
        if len(rule_names) != len(set(rule_names)):
            raise ValueError("rules: names must be unique")

    def route(self, severity: str) -> Route:
        """The route of a severity; a missing severity is dashboard-only."""
        return self.routes.get(severity, Route())  # type: ignore[call-overload]


class StorageSettings(_S, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``storage:`` section: where the SQLite files live."""

    data_dir: str = "./data"


_SECRET_FIELDS = ("webhook_url", "token", "password", "auth_token", "hmac_secret", "urls", "headers")


def redacted(channel: Channel) -> dict:
    """A channel's settings safe for logs, the API and the page: secrets masked."""
    out = msgspec.structs.asdict(channel)
    for key in _SECRET_FIELDS:
        if out.get(key):
            out[key] = "***"
    return out
