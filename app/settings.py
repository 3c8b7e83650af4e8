"""Load and validate settings.yaml: one typed document, or a clear error.

An invalid file stops start-up with the file, the key and the reason
(``settings.yaml: server.port: Expected `int`, got `str```): a monitor
running with settings it misread is worse than one that refuses to start.
``${VAR}`` (or ``${VAR:-default}``) in any string value is replaced from the
environment before validation, which is how secrets stay out of the file.

``secrets_file: PATH`` (relative to settings.yaml) names an owner-only (0600)
YAML mapping ``NAME: value`` whose names are available to ``${NAME}`` exactly
like environment variables, and take precedence over them: it is where the
dashboard's settings form puts the secrets a trader types (see
docs/alerts_tab.md), so what was typed last is what is used.  A secrets file
readable by group or others is refused rather than trusted.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from alerts import catalog
from alerts.channels import registry as channel_registry
from alerts.config import AlertsSettings, untyped_channel, with_channel_types
from alerts.report import ReportsSettings
from alerts.silences import SilencesSettings
from app.dashboard.config import DashboardSettings
from collectors.events import BotId
from core.config import BotSettings, CoreConfig, LimitsSettings, MetricsSettings
from core.storage_settings import StorageSettings

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "settings.yaml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: ``$${`` stands for a literal ``${`` (how the dashboard stores a typed value that must not expand).
_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SettingsError(Exception):
    """Invalid settings: names the file, the key and what is wrong."""

    def __init__(self, path: str | Path, key: str, reason: str) -> None:
        super().__init__(f"{path}: {key or '(top level)'}: {reason}")
        self.path, self.key, self.reason = str(path), key, reason


class _S(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


#: Worker threads always left for HTTP (the page's requests, /api/*) beside the open pages'
#: WebSockets, each of which holds one thread for as long as the page is open.
HTTP_THREAD_RESERVE = 8


class ServerSettings(_S):
    host: str = "127.0.0.1"  # the dashboard has no login: never all interfaces by default
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8050
    #: At least dashboard.max_clients + HTTP_THREAD_RESERVE (checked in _check_semantics).
    threads: Annotated[int, msgspec.Meta(ge=16, le=1024)] = 128
    public_url: str | None = None  # link put in alert messages; default http://host:port
    #: Further Host header values the server answers ("name" or "name:port"); loopback on the
    #: served port, server.host and public_url's host are always allowed (DNS rebinding guard).
    allowed_hosts: list[Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9.\-\[\]:]{1,260}$(?!\n)")]] = []


class EndpointSettings(_S):
    url: Annotated[str, msgspec.Meta(pattern=r"^(tcp|ipc|inproc)://\S+$(?!\n)")]
    mode: Literal["bind", "connect"] = "bind"


#: A z85-encoded CURVE public key (40 characters of ZeroMQ's z85 alphabet).
CurvePublicKey = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-zA-Z.:+=^!/*?&<>()\[\]{}@%$#-]{40}$(?!\n)")]


class CurveSettings(_S):
    """ZeroMQ CURVE on the collector: the monitor's key pair lives in storage.data_dir/curve."""

    enabled: bool = False
    #: Each bot client's public key (z85) -> the bot ids it may publish as; any other client is
    #: refused and counted, and a listed key sending as another bot is rejected (key_not_for_bot).
    #: A plain list of keys (the older form) is refused at start-up: it bound no key to a bot.
    authorized_keys: dict[CurvePublicKey, list[BotId]] | list[CurvePublicKey] = {}


class CollectorSettings(_S):
    endpoints: list[EndpointSettings] = msgspec.field(
        default_factory=lambda: [EndpointSettings(url="tcp://127.0.0.1:5556")]
    )
    max_message_bytes: Annotated[int, msgspec.Meta(ge=256, le=16 * 1024 * 1024)] = 65536
    stale_after_s: Annotated[float, msgspec.Meta(gt=0)] = CoreConfig().stale_after_s  # the core's own
    restart_delay_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    # after a sequence gap: how long to wait for the bot's replay (from its last progress)
    # before counting the rest as lost, and how many later events to hold meanwhile
    recovery_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    recovery_max_held: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 200_000
    curve: CurveSettings = CurveSettings()
    #: Bind a non-loopback address without CURVE: anyone who reaches the port can send as any bot.
    allow_insecure: bool = False


class LoggingSettings(_S):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_S):
    server: ServerSettings = ServerSettings()
    collector: CollectorSettings = CollectorSettings()
    metrics: MetricsSettings = MetricsSettings()
    bots: dict[BotId, BotSettings] = {}
    limits: LimitsSettings = LimitsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    alerts: AlertsSettings = AlertsSettings()
    silences: SilencesSettings = SilencesSettings()
    storage: StorageSettings = StorageSettings()
    logging: LoggingSettings = LoggingSettings()
    reports: ReportsSettings = ReportsSettings()
    secrets_file: str | None = None  # owner-only YAML of NAME: value for ${NAME} (see module doc)
    source: str = "(defaults)"  # the file these came from, set by load_settings

    def core(self) -> CoreConfig:
        return CoreConfig(
            metrics=self.metrics,
            bots=self.bots,
            stale_after_s=self.collector.stale_after_s,
            limits=self.limits,
        )

    @property
    def dashboard_url(self) -> str:
        return self.server.public_url or f"http://{self.server.host}:{self.server.port}"


def read_yaml(path: Path) -> dict:
    """Parse a YAML file into plain data; errors name the file and line."""
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(path, "", "file not found") from None
    except YAMLError as exc:
        raise SettingsError(path, "", f"not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(path, "", "the top level must be a mapping")
    return data


def secrets_path(settings_path: str | Path, secrets_file: str | None) -> Path | None:
    """Where the secrets file lives: relative names are relative to settings.yaml."""
    if not secrets_file:
        return None
    target = Path(os.path.expanduser(str(secrets_file)))
    return target if target.is_absolute() else Path(settings_path).resolve().parent / target


def read_secrets(settings_path: str | Path, secrets_file: object) -> dict[str, str]:
    """The ``NAME: value`` pairs of the secrets file; missing file = none (nothing typed yet)."""
    if secrets_file is not None and not isinstance(secrets_file, str):
        raise SettingsError(settings_path, "secrets_file", "must be a path string")
    target = secrets_path(settings_path, secrets_file)
    if target is None or not target.exists():
        return {}
    if os.name == "posix" and target.stat().st_mode & 0o077:
        raise SettingsError(
            settings_path, "secrets_file", f"{target} is readable by others: run chmod 600 {target}"
        )
    try:
        data = read_yaml(target)
    except SettingsError as exc:  # YAML errors quote the offending line: never a line of secrets
        reason = exc.reason.split(":", 1)[0] + " (details withheld: secrets)"
        raise SettingsError(target, "", reason) from None
    bad = [
        k
        for k, v in data.items()
        if not isinstance(k, str)
        or not _VAR.fullmatch("${" + k + "}")
        or not isinstance(v, (str, int, float))
    ]
    if bad:
        raise SettingsError(target, str(bad[0]), "secrets are NAME: value pairs (NAME like MY_TOKEN)")
    return {k: str(v) for k, v in data.items()}


def substitute_env(value: Any, path: Path, key: str = "", env: dict | None = None) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string, recursively."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {k: substitute_env(v, path, f"{key}.{k}" if key else str(k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, path, f"{key}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def repl(m: re.Match) -> str:
            if m.group(0) == "$${":
                return "${"
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise SettingsError(path, key, f"environment variable {name} is not set")

        return _REF.sub(repl, value)
    return value


def load_settings(
    path: str | Path | None = None, overrides: dict | None = None, env: dict | None = None
) -> Settings:
    """Read, substitute, apply CLI overrides, validate; raise SettingsError when invalid."""
    path = Path(path) if path else DEFAULT_PATH
    raw = read_yaml(path)
    env = {**(os.environ if env is None else env), **read_secrets(path, raw.get("secrets_file"))}
    data = substitute_env(raw, path, env=env)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    return validate(data, path)


def validate(data: dict, path: str | Path) -> Settings:
    """Validate plain data (also used by the dashboard's settings form before saving)."""
    if "alerts" in data:
        data = {**data, "alerts": _typed_channels(data["alerts"], path)}
    data = _bots_allowed(data, path)
    try:
        settings = msgspec.convert({**data, "source": str(path)}, Settings)
    except msgspec.ValidationError as exc:
        key, reason = _split_error(str(exc))
        raise SettingsError(path, _name_dict_keys(data, key), _threshold_reason(key, reason)) from None
    _check_semantics(settings, path)
    return settings


def _threshold_reason(key: str, reason: str) -> str:
    """A built-in threshold's value is refused in its catalog row's words, the form's words.

    Both the settings type's bound and the form's check come from the row's range, so the
    file and the form refuse the same values; this makes them say the same thing too.  Any
    other fault there (an unknown key of the long form) keeps msgspec's reason.
    """
    m = re.fullmatch(r"alerts\.thresholds\.(\w+)(\.value)?", key)
    rule = catalog.THRESHOLD.get(m.group(1)) if m else None
    return rule.range.reason if rule is not None and reason.startswith("Expected") else reason


def _bots_allowed(data: dict, path: str | Path) -> dict:
    """``bots.allowed: [ids]`` is the allow-list (``limits.allowed_bots``), not a bot named "allowed".

    A bot's own settings are a mapping, so a list (or null) under ``bots.allowed`` can only
    be the allow-list; it is moved to where the store reads it.
    """
    bots = data.get("bots")
    if not isinstance(bots, dict) or "allowed" not in bots or isinstance(bots["allowed"], dict):
        return data
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        return data  # the type error is reported at limits
    if limits.get("allowed_bots") is not None:
        raise SettingsError(path, "bots.allowed", "give the allow-list once: here or in limits.allowed_bots")
    rest = {k: v for k, v in bots.items() if k != "allowed"}
    return {**data, "bots": rest, "limits": {**limits, "allowed_bots": bots["allowed"]}}


def _typed_channels(alerts: Any, path: str | Path) -> Any:
    """Give a channel named after its type its ``type:``; any other channel must say it."""
    alerts = with_channel_types(alerts)
    name = untyped_channel(alerts)
    if name is not None:
        known = ", ".join(channel_registry.TYPES)
        reason = f"required: one of {known} (only a channel named after its type may leave it out)"
        raise SettingsError(path, f"alerts.channels.{name}.type", reason)
    return alerts


def _check_semantics(s: Settings, path: str | Path) -> None:
    try:
        ZoneInfo(s.metrics.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(path, "metrics.timezone", f"unknown timezone {s.metrics.timezone!r}") from None
    if s.metrics.sharpe_window_s < 2 * s.metrics.sharpe_interval_s:
        raise SettingsError(
            path, "metrics.sharpe_window_s", "must be at least twice metrics.sharpe_interval_s"
        )
    returns = s.metrics.sharpe_window_s // s.metrics.sharpe_interval_s
    if s.metrics.sharpe_min_returns > returns:  # else Sharpe would stay n/a for ever
        raise SettingsError(
            path,
            "metrics.sharpe_min_returns",
            f"at most the {returns} returns the window holds"
            " (metrics.sharpe_window_s / metrics.sharpe_interval_s)",
        )
    spare = s.server.threads - s.dashboard.max_clients
    if spare < HTTP_THREAD_RESERVE:
        raise SettingsError(
            path,
            "dashboard.max_clients",
            f"at most server.threads - {HTTP_THREAD_RESERVE} ({s.server.threads - HTTP_THREAD_RESERVE}):"
            f" each open page holds a worker thread and {HTTP_THREAD_RESERVE} must stay free for"
            " /api/health and the page's requests (raise server.threads or lower this)",
        )
    if not s.collector.endpoints:
        raise SettingsError(path, "collector.endpoints", "at least one endpoint is needed")
    _check_collector_security(s.collector, path)
    unknown = sorted(set(s.reports.daily.channels or ()) - set(s.alerts.channels))
    if unknown:
        raise SettingsError(
            path, "reports.daily.channels", f"names channels not in alerts.channels: {unknown}"
        )
    from alerts.rules import metric_problem  # the rule evaluator owns what a metric path means

    for i, rule in enumerate(s.alerts.rules):
        problem = metric_problem(rule.metric, rule.value)
        if problem is not None:
            raise SettingsError(path, f"alerts.rules[{i}].metric", problem)


_LOOPBACK_HOSTS = {"localhost", "::1", "[::1]"}


def _is_loopback_bind(url: str) -> bool:
    """A bind only this machine can reach: loopback TCP, or ipc/inproc (no network at all)."""
    if not url.startswith("tcp://"):
        return True
    host = url[len("tcp://") :].rsplit(":", 1)[0]
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _check_collector_security(c: CollectorSettings, path: str | Path) -> None:
    from collectors.curve import is_public_key  # the edge that uses the keys says what one is

    keys = c.curve.authorized_keys
    if isinstance(keys, list) and keys:
        raise SettingsError(
            path,
            "collector.curve.authorized_keys",
            'name the bot ids each key may publish as, e.g. {"<z85 public key>": [my-bot]}: a plain'
            " list of keys would let any listed key send as any bot (docs/events.md, Authenticated bots)",
        )
    for i, key in enumerate(keys):
        if not is_public_key(key):
            raise SettingsError(path, f"collector.curve.authorized_keys[{i}]", "not a z85 CURVE public key")
        if isinstance(keys, dict) and not keys[key]:
            raise SettingsError(path, f"collector.curve.authorized_keys[{i}]", "names no bot id")
    if c.curve.enabled or c.allow_insecure:
        return
    for i, ep in enumerate(c.endpoints):
        if ep.mode == "bind" and not _is_loopback_bind(ep.url):
            raise SettingsError(
                path,
                f"collector.endpoints[{i}].url",
                f"{ep.url} binds beyond loopback without authentication: anyone who reaches it can"
                " send as any bot; enable collector.curve (docs/events.md, Authenticated bots), or set"
                " collector.allow_insecure: true if the network itself is trusted",
            )


def _split_error(message: str) -> tuple[str, str]:
    """msgspec says 'Expected `int`, got `str` - at `$.server.port`'; split key from reason."""
    keyed = re.search(r"^(.*) - at `key` in `\$\.?(.*)`\Z", message)
    if keyed:  # a bad mapping key: _name_dict_keys finds which entry it is
        return f"{keyed.group(2)}[...]", keyed.group(1)
    m = re.search(r"^(.*) - at `\$\.?(.*)`\Z", message)
    if not m:
        return "", message.replace("Object contains", "contains")
    return m.group(2), m.group(1)


def _walk(data: Any, dotted: str) -> Any:
    """Follow a msgspec-style path such as ``alerts.channels`` or ``collector.endpoints[0]``."""
    node = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


def _name_dict_keys(data: dict, key: str) -> str:
    """msgspec writes ``bots[...]`` for a mapping key; find which entry is the bad one."""
    while "[...]" in key:
        prefix, rest = key.split("[...]", 1)
        try:
            mapping = _walk(data, prefix)
        except (KeyError, IndexError, TypeError):
            return key
        bad = next((k for k in mapping if _entry_fails(data, prefix, k)), None)
        if bad is None:
            return key
        key = f"{prefix}.{bad}{rest}"
    return key


def _entry_fails(data: dict, prefix: str, entry: str) -> bool:
    trial = copy.deepcopy(data)
    mapping = _walk(trial, prefix)
    keep = mapping[entry]
    mapping.clear()
    mapping[entry] = keep
    try:
        msgspec.convert(trial, Settings)
    except msgspec.ValidationError:
        return True
    return False


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
