"""The alert configuration form: thresholds, routes and channels, validated field by field.

Three pure steps, so each is unit-testable without a browser:

* :func:`fields` describes every field of the form from the file as it is now
  (what is shown, with which value; secrets only as a mask);
* :func:`parse` turns the submitted values into settings changes + secrets,
  or into errors keyed by field (shown next to the field, nothing saved);
* :func:`render` builds the Dash components (``dbc.Input`` with ``invalid`` and a
  ``dbc.FormFeedback`` right after it, so Bootstrap shows the message next to it).

Why secrets are special: a secret field is rendered with an empty value and a
placeholder holding at most its last 4 characters; an empty submission means
"keep the current one".  The full value therefore never leaves the server.

Nothing about a rule or a channel type is written here: the rules, their labels
and defaults come from ``alerts.catalog``, each channel type's fields, labels,
secrets and requirements from its module (``alerts.channels.registry``), and
every other default from the settings types, so the form shows what is in force.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import dash_bootstrap_components as dbc
import msgspec
from dash import html

from alerts import catalog
from alerts.catalog import SEVERITIES, URGENT_FIRST
from alerts.channels import registry
from alerts.channels.base import ChannelType, FormField
from alerts.config import default_routes
from app.core.config import CoreConfig
from app.settings_changes import DELETE, Change, get_path, secret_name

#: Shown and compared with when the file does not set them: the types' own defaults.
DEFAULT_STALE_AFTER_S = CoreConfig().stale_after_s
DEFAULT_TIMEZONE = CoreConfig().metrics.timezone
TIMEZONE_KEY = "metrics.timezone"
DEFAULT_REPEAT = {sev: route.repeat_interval_s for sev, route in default_routes().items()}
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+\Z")
E164 = re.compile(r"^\+[1-9]\d{6,14}\Z")
CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})\Z")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.IGNORECASE)
HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,253}\Z")


@dataclass(frozen=True)
class Field:
    """One input of the form: its key, how it is shown, and its current value."""

    key: str
    label: str
    kind: str  # num pos frac nonneg posopt nonnegopt text host port email emails url url? urls e164 e164s
    #            chatids secret switch severity checklist tz
    value: Any = None
    placeholder: str = ""
    options: tuple[str, ...] = ()
    secret: bool = False


@dataclass
class Parsed:
    """The outcome of a submission: changes for the writer, or errors by field key."""

    changes: list[Change] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Saved, but worth a word next to the field (a threshold kept while its rule is off).
    notes: dict[str, str] = field(default_factory=dict)


# ---- masking -------------------------------------------------------------------
def mask(value: Any) -> str:
    """At most the last 4 characters, and none of a short secret (4 of 6 would be most of it)."""
    if not value:
        return "not set"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"set ••••{text[-4:]}" if len(text) >= 12 else "set ••••"


def secret_hint(raw: Any, resolved: Any) -> str:
    """Placeholder of a secret field: where it comes from and its mask, never the value."""
    refs = re.findall(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)", " ".join(map(str, raw)) if isinstance(raw, list) else str(raw or "")
    )
    where = f" (from ${{{refs[0]}}})" if refs else ""
    return mask(resolved) + where + " · type to replace"


# ---- describing the form ----------------------------------------------------------
def channel_names(doc: Mapping) -> dict[str, str]:
    """name -> type for every configured channel, plus one unconfigured slot per missing type."""
    chans = get_path(doc, ["alerts", "channels"]) or {}
    out = {str(n): str((c or {}).get("type") or n) for n, c in chans.items()}
    for kind in registry.TYPES:
        if kind not in out.values() and kind not in out:
            out[kind] = kind
    return out


def fields(doc: Mapping, resolved: Mapping | None) -> list[Field]:
    """Every field with its current value; ``resolved`` is the env-substituted doc (for masks)."""
    resolved = resolved or {}
    out = _threshold_fields(doc)
    stale = get_path(doc, ["collector", "stale_after_s"], DEFAULT_STALE_AFTER_S)
    out.append(Field("stale_after_s", "Stale after (s)", "pos", _num_text(stale)))
    zone = get_path(doc, ["metrics", "timezone"], DEFAULT_TIMEZONE)
    out.append(Field(TIMEZONE_KEY, "Timezone (daily P&L day, times)", "tz", _list_text(zone), "e.g. UTC"))
    events = get_path(doc, ["alerts", "events"]) or {}
    out += [
        Field(f"ev.{e.name}", catalog.event_label(e), "switch", bool(events.get(e.name, e.default)))
        for e in catalog.EVENTS
    ]
    for i, rule in enumerate(get_path(doc, ["alerts", "rules"]) or []):
        out.append(
            Field(f"rule.{i}.enabled", str(rule.get("name")), "switch", bool(rule.get("enabled", True)))
        )
        out.append(
            Field(
                f"rule.{i}.severity",
                "severity",
                "severity",
                rule.get("severity", "warning"),
                options=SEVERITIES,
            )
        )
    names = tuple(channel_names(doc))
    out += _route_fields(doc, names)
    for name, kind in channel_names(doc).items():
        out += _channel_fields(doc, resolved, name, kind)
    return out


def _threshold_fields(doc: Mapping) -> list[Field]:
    out = []
    for rule in catalog.THRESHOLDS:
        name = rule.name
        spec = get_path(doc, ["alerts", "thresholds", name], rule.default)
        long = spec if isinstance(spec, Mapping) else {"value": spec}
        value = long.get("value")
        enabled = value is not None and bool(long.get("enabled", True))
        sev = long.get("severity") or rule.severity
        out += [
            Field(f"thr.{name}.value", rule.label, rule.form, _num_text(value)),
            Field(f"thr.{name}.enabled", "rule", "switch", enabled),
            Field(f"thr.{name}.severity", "severity", "severity", sev, options=SEVERITIES),
            Field(f"thr.{name}.for", "for (s)", "nonneg", _num_text(long.get("for", 0))),
        ]
    return out


def _route_fields(doc: Mapping, names: tuple[str, ...]) -> list[Field]:
    out = []
    for sev in URGENT_FIRST:
        route = get_path(doc, ["alerts", "routes", sev]) or {}
        steps = route.get("escalate") or []
        first = steps[0] if steps else {}
        out += [
            Field(
                f"route.{sev}.channels",
                f"{sev}: channels",
                "checklist",
                list(route.get("channels") or []),
                options=names,
            ),
            Field(
                f"route.{sev}.repeat",
                "repeat every (s, empty = never)",
                "posopt",
                _num_text(route.get("repeat_interval_s", DEFAULT_REPEAT[sev])),
            ),
            Field(
                f"route.{sev}.escalate_after",
                "escalate after (s, empty = never)",
                "nonnegopt",
                _num_text(first.get("after_s")),
            ),
            Field(
                f"route.{sev}.escalate_channels",
                "escalate to",
                "checklist",
                list(first.get("channels") or []),
                options=names,
            ),
        ]
    return out


def _channel_fields(doc: Mapping, resolved: Mapping, name: str, kind: str) -> list[Field]:
    cfg = get_path(doc, ["alerts", "channels", name])
    res = get_path(resolved, ["alerts", "channels", name]) or {}
    out = [Field(f"ch.{name}.enabled", f"{name} ({kind})", "switch", cfg is not None)]
    desc = registry.TYPES.get(kind)
    for ff in _form_fields(desc):
        fname, label, fkind = ff.name, ff.label, ff.kind
        raw = (cfg or {}).get(fname)
        if fname in desc.secrets:  # type: ignore[union-attr]
            out.append(
                Field(f"ch.{name}.{fname}", label, fkind, "", secret_hint(raw, res.get(fname)), secret=True)
            )
        elif fkind == "switch":
            default = _field_default(desc, fname)
            out.append(Field(f"ch.{name}.{fname}", label, fkind, bool(raw if raw is not None else default)))
        else:
            out.append(Field(f"ch.{name}.{fname}", label, fkind, _list_text(raw)))
    return out


def _form_fields(desc: ChannelType | None) -> tuple[FormField, ...]:
    return desc.form if desc is not None else ()


def _field_default(desc: Any, fname: str) -> Any:
    """A channel setting's default, from its settings type (what an absent key means)."""
    fields_ = msgspec.structs.fields(desc.settings)
    return next((f.default for f in fields_ if f.name == fname), None)


def _num_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _list_text(value: Any) -> str:
    """The text a field shows: ``$${`` (a literal ``${`` in the file) is shown as typed."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return _shown(value)


def _shown(value: Any) -> str:
    return re.sub(r"\$\$\{", "${", str(value))


# ---- checking one field ----------------------------------------------------------------------
def split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n;]+", text or "") if p.strip()]


def check(kind: str, text: Any) -> tuple[Any, str | None]:
    """(parsed value, None) or (None, the message shown next to the field)."""
    if kind in ("switch", "checklist", "severity"):
        return text, None
    text = "" if text is None else str(text).strip()
    checker = _CHECKS.get(kind)
    return checker(text) if checker else (text or None, None)


def _number(
    text: str,
    *,
    low: float | None = None,
    strict: bool = False,
    high: float | None = None,
    optional: bool = False,
    what: str = "a number",
) -> tuple[Any, str | None]:
    if not text:
        return (None, None) if optional else (None, f"enter {what}")
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None, f"must be {what}"
    if (
        not math.isfinite(value)
        or (low is not None and (value <= low if strict else value < low))
        or (high is not None and value > high)
    ):
        return None, f"must be {what}"
    return (int(value) if value.is_integer() and abs(value) < 1e15 else value), None


def _listed(pattern: re.Pattern, what: str):
    def run(text: str) -> tuple[Any, str | None]:
        items = split_list(text)
        bad = [n for n, i in enumerate(items, 1) if not pattern.fullmatch(i)]
        if bad:  # by position, never the value: a URL may carry a token
            return None, f"item {bad[0]} is not {what}"
        return items, None

    return run


def _one(pattern: re.Pattern, what: str):
    """One value or none: whether a field is needed is the channel type's ``required`` rule."""

    def run(text: str) -> tuple[Any, str | None]:
        if not text:
            return None, None
        return (text, None) if pattern.fullmatch(text) else (None, f"must be {what}")

    return run


def _port(text: str) -> tuple[Any, str | None]:
    if not text:
        return None, None
    value, err = _number(text, low=1, high=65535, what="a port number (1-65535)")
    return (value, err) if err or isinstance(value, int) else (None, "must be a port number (1-65535)")


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone name this system knows, by its lower-case spelling (typed case is forgiven)."""
    return {z.lower(): z for z in zoneinfo.available_timezones() | {"UTC"}}


def timezone_names() -> list[str]:
    """The zone names the form offers (sorted), the same set the field accepts."""
    return sorted(_zones().values())


def _timezone(text: str) -> tuple[Any, str | None]:
    if not text:
        return None, "enter a timezone, e.g. UTC or Europe/Berlin"
    known = _zones().get(text.lower())
    if known is None:
        return None, "unknown timezone: use an IANA name such as UTC, Europe/Berlin or America/New_York"
    return known, None


def _secret(text: str) -> tuple[Any, str | None]:
    if text and any(c.isspace() for c in text):
        return None, "must not contain spaces"
    return text or None, None


_CHECKS = {
    "numopt": lambda t: _number(t, optional=True),
    "pos": lambda t: _number(t, low=0, strict=True, what="a positive number"),
    "fracopt": lambda t: _number(
        t, low=0, strict=True, high=1, optional=True, what="a fraction between 0 and 1 (0.1 = 10 %)"
    ),
    "nonneg": lambda t: _number(t or "0", low=0, what="zero or a positive number"),
    "posopt": lambda t: _number(t, low=0, strict=True, optional=True, what="a positive number"),
    "nonnegopt": lambda t: _number(t, low=0, optional=True, what="zero or a positive number"),
    "port": _port,
    "host": _one(HOST, "a host name or IP address"),
    "email": _one(EMAIL, "an e-mail address"),
    "emails": _listed(EMAIL, "an e-mail address"),
    "url": _one(URL, "an http(s):// URL"),
    "url?": _one(URL, "an http(s):// URL"),  # as "url": an empty value is always accepted
    "urls": _listed(URL, "an http(s):// URL"),
    "e164": _one(E164, "a phone number in E.164 format, e.g. +14155550123"),
    "e164s": _listed(E164, "a phone number in E.164 format, e.g. +14155550123"),
    "chatids": _listed(CHAT_ID, "a Telegram chat id (a number such as -1001234567890, or @channel)"),
    "secret": _secret,
    "text": lambda t: (t or None, None),
    "tz": _timezone,
}


# ---- parsing a submission ------------------------------------------------------------------------
def parse(values: Mapping[str, Any], doc: Mapping) -> Parsed:
    """Submitted values (field key -> value) against the file as it is now -> changes or errors."""
    out = Parsed()
    specs = {f.key: f for f in fields(doc, None)}
    parsed: dict[str, Any] = {}
    for key, spec in specs.items():
        if key not in values:
            continue
        value, err = check(spec.kind, values[key])
        if err:
            out.errors[key] = err
        parsed[key] = value
    enabled = {n for n in channel_names(doc) if parsed.get(f"ch.{n}.enabled")}
    _thresholds(parsed, doc, out)
    _routes(parsed, doc, enabled, out)
    _channels(parsed, doc, enabled, out)
    if "stale_after_s" in parsed:
        _emit(out, doc, ("collector", "stale_after_s"), parsed["stale_after_s"], DEFAULT_STALE_AFTER_S)
    if parsed.get(TIMEZONE_KEY) is not None:
        _emit(out, doc, ("metrics", "timezone"), parsed[TIMEZONE_KEY], DEFAULT_TIMEZONE)
    for e in catalog.EVENTS:
        if f"ev.{e.name}" in parsed:
            _emit(out, doc, ("alerts", "events", e.name), bool(parsed[f"ev.{e.name}"]), e.default)
    for i, _rule in enumerate(get_path(doc, ["alerts", "rules"]) or []):
        if f"rule.{i}.enabled" in parsed:
            _emit(out, doc, ("alerts", "rules", i, "enabled"), bool(parsed[f"rule.{i}.enabled"]), True)
            _emit(out, doc, ("alerts", "rules", i, "severity"), parsed[f"rule.{i}.severity"], "warning")
    if out.errors:
        out.changes, out.secrets, out.notes = [], {}, {}
    return out


def _emit(out: Parsed, doc: Mapping, path: tuple, value: Any, default: Any) -> None:
    """A change only when the value differs from what is in force (a default is not written out)."""
    if value != get_path(doc, list(path), default):
        out.changes.append((path, value))


def _thresholds(parsed: dict, doc: Mapping, out: Parsed) -> None:
    for rule in catalog.THRESHOLDS:
        name, default_sev = rule.name, rule.severity
        key = f"thr.{name}"
        if f"{key}.value" not in parsed or f"{key}.value" in out.errors:
            continue
        value, on = parsed[f"{key}.value"], bool(parsed.get(f"{key}.enabled"))
        sev, for_s = parsed.get(f"{key}.severity") or default_sev, parsed.get(f"{key}.for") or 0
        path = ("alerts", "thresholds", name)
        if value is not None and not on:  # kept, but say so: "Saved" alone would read as "checked"
            out.notes[f"{key}.value"] = off_note(rule.label, value)
        if value is None:
            if on:
                out.errors[f"{key}.value"] = "enter a number, or switch the rule off"
            else:  # null, unless the file already says so (absent = the rule's default)
                _emit(out, doc, path, None, rule.default)
            continue
        current = get_path(doc, list(path))
        if isinstance(current, Mapping):  # keep the long form the human wrote, key by key
            out.changes += [
                ((*path, "value"), value),
                ((*path, "enabled"), DELETE if on else False),
                ((*path, "for"), for_s if for_s or "for" in current else DELETE),
                (
                    (*path, "severity"),
                    sev if sev != default_sev or "severity" in current else DELETE,
                ),
            ]
        elif on and not for_s and sev == default_sev:
            _emit(out, doc, path, value, rule.default)
        else:
            long: dict[str, Any] = {"value": value}
            if for_s:
                long["for"] = for_s
            if sev != default_sev:
                long["severity"] = sev
            if not on:
                long["enabled"] = False
            out.changes.append((path, long))


def off_note(label: str, value: Any) -> str:
    """What a threshold kept while its rule is switched off means (next to the field, and after Save)."""
    return f"{label}: the rule is off, so {_num_text(value)} is kept but not checked"


def _routes(parsed: dict, doc: Mapping, enabled: set[str], out: Parsed) -> None:
    for sev in URGENT_FIRST:
        key = f"route.{sev}"
        if f"{key}.channels" not in parsed:
            continue
        path = ("alerts", "routes", sev)
        chans = list(parsed[f"{key}.channels"] or [])
        esc_chans = list(parsed.get(f"{key}.escalate_channels") or [])
        for fkey, names in ((f"{key}.channels", chans), (f"{key}.escalate_channels", esc_chans)):
            off = [c for c in names if c not in enabled]
            if off:
                out.errors[fkey] = f"channel {off[0]} is not enabled below"
        after = parsed.get(f"{key}.escalate_after")
        if after is not None and not esc_chans:
            out.errors[f"{key}.escalate_channels"] = "choose the channels to escalate to"
        if after is None and esc_chans and f"{key}.escalate_after" not in out.errors:
            out.errors[f"{key}.escalate_after"] = "enter the delay before escalating"
        steps = get_path(doc, [*path, "escalate"])
        rest = [dict(s) for s in (steps or [])[1:]]
        escalate = ([{"after_s": after, "channels": esc_chans}] if after is not None else []) + rest
        _emit(out, doc, (*path, "channels"), chans, [])
        _emit(out, doc, (*path, "repeat_interval_s"), parsed.get(f"{key}.repeat"), DEFAULT_REPEAT[sev])
        if escalate != (steps or []):
            out.changes.append(((*path, "escalate"), escalate))


def _channels(parsed: dict, doc: Mapping, enabled: set[str], out: Parsed) -> None:
    for name, kind in channel_names(doc).items():
        path = ("alerts", "channels", name)
        if f"ch.{name}.enabled" not in parsed:
            continue
        if name not in enabled:
            if name in (get_path(doc, ["alerts", "channels"]) or {}):
                out.changes.append((path, DELETE))
            continue
        current = get_path(doc, list(path)) or {}
        if not current:
            out.changes.append((path, {"type": kind}))
        desc = registry.TYPES.get(kind)
        for ff in _form_fields(desc):
            fname = ff.name
            fkey = f"ch.{name}.{fname}"
            if fkey not in parsed:
                continue
            value = parsed[fkey]
            if fname in desc.secrets:  # type: ignore[union-attr]
                if value:
                    _put_secret(out, path, name, fname, value)
                continue
            if value in (None, [], "") and fname not in current:
                continue
            out.changes.append(((*path, fname), DELETE if value in (None, "") else value))
        _required(parsed, current, name, kind, out)


def _put_secret(out: Parsed, path: tuple, name: str, fname: str, value: Any) -> None:
    """The value goes to the secrets file; settings.yaml gets ``${NAME}`` references."""
    if isinstance(value, list):
        refs = []
        for i, item in enumerate(value):
            var = secret_name(name, fname, i)
            out.secrets[var] = item
            refs.append("${" + var + "}")
        out.changes.append(((*path, fname), refs))
        return
    var = secret_name(name, fname)
    out.secrets[var] = value
    out.changes.append(((*path, fname), "${" + var + "}"))


def _required(parsed: dict, current: Mapping, name: str, kind: str, out: Parsed) -> None:
    """The channel type's own 'needs ...' rule, reported on the first missing field.

    A secret field is submitted empty (the page never gets its value): empty
    means "keep the current one", so a saved secret counts as present.
    """
    desc = registry.TYPES.get(kind)
    if desc is None:
        return
    secrets = desc.secrets

    def has(fname: str) -> bool:
        value = parsed.get(f"ch.{name}.{fname}")
        return bool(value) or (fname in secrets and bool(current.get(fname)))

    groups = desc.settings.required
    if not groups or any(all(has(f) for f in group) for group in groups):
        return
    group = groups[0]
    missing = next(f for f in group if not has(f))
    key = f"ch.{name}.{missing}"
    if key not in out.errors:
        need = " or ".join(" and ".join(g) for g in groups)
        out.errors[key] = f"required: {kind} needs {need}"


def error_field(settings_key: str, doc: Mapping) -> str | None:
    """The form field a whole-file validation error belongs to (``alerts.thresholds.x`` -> field)."""
    parts = settings_key.replace("[", ".").replace("]", "").split(".")
    if parts[:2] == ["alerts", "thresholds"] and len(parts) > 2:
        return f"thr.{parts[2]}.value"
    if parts[:2] == ["collector", "stale_after_s"]:
        return "stale_after_s"
    if parts[:2] == ["metrics", "timezone"]:
        return TIMEZONE_KEY
    if parts[:2] == ["alerts", "channels"] and len(parts) > 2:
        return f"ch.{parts[2]}.{parts[3]}" if len(parts) > 3 else f"ch.{parts[2]}.enabled"
    if parts[:2] == ["alerts", "routes"] and len(parts) > 2:
        return f"route.{parts[2]}.channels"
    return None


# ---- rendering ---------------------------------------------------------------------------------
def fid(key: str, kind: str) -> dict:
    """Pattern-matching id: ``af`` fields can be marked invalid, ``ab`` (lists) cannot, ``as`` are switches.

    Switches have their own type so the page can say next to each one what state it is in
    (``asw``), and flip a threshold's rule on when its value is typed (assets/alerts_tab.js).
    """
    if kind == "switch":
        return {"type": "as", "key": key}
    return {"type": "ab" if kind == "checklist" else "af", "key": key}


def switch_state(on: bool) -> tuple[str, str]:
    """The words next to a switch and their class: a switch always says what it is."""
    return ("on", "switch-state small ms-1 pos") if on else ("off", "switch-state small ms-1 text-muted")


def control(f: Field, note: str = "") -> list:
    """The input for one field followed by its feedback (Bootstrap shows it when invalid).

    ``note``: a remark shown under the field whatever its validity (a threshold kept
    while its rule is off, when a timezone takes effect).
    """
    if f.kind == "switch":
        text, cls = switch_state(bool(f.value))
        return [
            html.Div(
                [
                    dbc.Switch(id=fid(f.key, f.kind), label=f.label, value=bool(f.value), class_name="mb-0"),
                    html.Span(text, id={"type": "asw", "key": f.key}, className=cls),
                ],
                className="d-flex align-items-center mb-1",
            )
        ]
    if f.kind == "checklist":
        return [
            dbc.Label(f.label, className="small mb-0"),
            dbc.Checklist(
                id=fid(f.key, f.kind),
                options=[{"label": o, "value": o} for o in f.options],
                value=list(f.value or []),
                inline=True,
                className="small",
            ),
            html.Div(id={"type": "afe", "key": f.key}, className="invalid-feedback d-block small"),
        ]
    if f.kind == "severity":
        widget: Any = dbc.Select(
            id=fid(f.key, f.kind),
            options=[{"label": o, "value": o} for o in f.options],
            value=f.value,
            size="sm",
        )
    else:
        extra = {"list": TIMEZONE_LIST} if f.kind == "tz" else {}
        widget = dbc.Input(
            id=fid(f.key, f.kind),
            value=f.value,
            placeholder=f.placeholder,
            size="sm",
            type="password" if f.secret else "text",
            autoComplete="off",
            debounce=True,
            invalid=False,
            **extra,
        )
    out = [
        dbc.Label(f.label, html_for=f.key, className="small mb-0"),
        widget,
        dbc.FormFeedback(id={"type": "afe", "key": f.key}, type="invalid"),
    ]
    if f.key.startswith("thr.") and f.key.endswith(".value"):
        out.append(html.Div(note, id={"type": "ano", "key": f.key}, className="small warn field-note"))
    elif note:
        out.append(html.Div(note, className="small text-muted field-note", id=f"note-{f.key}"))
    return out


def group(fs: list[Field], width: int = 3, notes: Mapping[str, str] | None = None) -> dbc.Row:
    notes = notes or {}
    return dbc.Row([dbc.Col(control(f, notes.get(f.key, "")), md=width, className="mb-2") for f in fs])


def field_notes(by: Mapping[str, Field], timezone_in_force: str | None) -> dict[str, str]:
    """The remarks shown under fields as the form opens: rules kept off, when the timezone applies."""
    notes = {}
    for t in catalog.THRESHOLDS:
        value, on = by[f"thr.{t.name}.value"].value, by[f"thr.{t.name}.enabled"].value
        if value not in (None, "") and not on:
            notes[f"thr.{t.name}.value"] = "rule off: this value is kept but not checked"
    notes[TIMEZONE_KEY] = timezone_note(by[TIMEZONE_KEY].value, timezone_in_force)
    return notes


def timezone_note(shown: str, in_force: str | None) -> str:
    """The timezone decides the daily P&L day, which the running store cannot move: it waits for a restart.

    Said next to the field, with the zone in force when the file already names another one,
    so the page's times (in the zone in force) and the field never seem to disagree.
    """
    base = "Takes effect at the next start of the monitor (the daily P&L day and the times shown)"
    if in_force and shown and shown != in_force:
        return f"{base}; in force until then: {in_force}."
    return base + "."


#: The id of the datalist of zone names the timezone field suggests from.
TIMEZONE_LIST = "atab-timezones"


def render(doc: Mapping, resolved: Mapping | None, timezone_in_force: str | None = None) -> list:
    """The form's sections, built from the file as it is now; ``timezone_in_force``: the running zone."""
    by = {f.key: f for f in fields(doc, resolved)}
    notes = field_notes(by, timezone_in_force)
    parts = ("value", "enabled", "severity", "for")
    sections = [
        _section(
            "Thresholds",
            [group([by[f"thr.{t.name}.{p}"] for p in parts], notes=notes) for t in catalog.THRESHOLDS],
        ),
        _section(
            "Monitor",
            [
                group([by["stale_after_s"], by[TIMEZONE_KEY]], width=6, notes=notes),
                html.Datalist([html.Option(value=z) for z in timezone_names()], id=TIMEZONE_LIST),
            ],
        ),
        _section("Event rules", [group([by[f"ev.{e.name}"] for e in catalog.EVENTS], width=4)]),
    ]
    rules = [k for k in by if k.startswith("rule.") and k.endswith(".enabled")]
    if rules:
        sections.append(
            _section("Further rules", [group([by[k], by[k.replace("enabled", "severity")]]) for k in rules])
        )
    sections.append(
        _section(
            "Routes per severity",
            [
                group(
                    [
                        by[f"route.{s}.{p}"]
                        for p in ("channels", "repeat", "escalate_after", "escalate_channels")
                    ]
                )
                for s in URGENT_FIRST
            ],
        )
    )
    for name in channel_names(doc):
        fs = [f for k, f in by.items() if k.startswith(f"ch.{name}.")]
        sections.append(
            _section(f"Channel {name}", [group(fs[:1], width=12), group(fs[1:])], cid=f"atab-ch-{name}")
        )
    return sections


def _section(title: str, body: list, cid: str | None = None) -> dbc.Card:
    kw = {"id": cid} if cid else {}
    return dbc.Card(
        [dbc.CardHeader(title, className="panel-title"), dbc.CardBody(body)], className="panel mb-2", **kw
    )
