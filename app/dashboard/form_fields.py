"""The alert configuration form's catalogue: every field, with the value it shows now.

:func:`fields` describes every field of the form from the file as it is now (what is
shown, with which value; secrets only as a mask).  The form's other rooms read it:
form_checks.py checks one submitted value, form_parse.py turns a submission into
settings changes, form_render.py builds the Dash components.

Why secrets are special: a secret field is rendered with an empty value and a
placeholder holding at most its last 4 characters; an empty submission means
"keep the current one".  The full value therefore never leaves the server.

Nothing about a rule or a channel type is written here: the rules, their labels
and defaults come from ``alerts.catalog``, each channel type's fields, labels,
secrets and requirements from its module (``alerts.channels.registry``), and
every other default from the settings types, so the form shows what is in force.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from alerts import catalog, safety_catalog
from alerts.catalog import SEVERITIES, URGENT_FIRST
from alerts.channels import registry
from alerts.channels.base import ChannelType, FormField
from alerts.config import default_routes
from app.dashboard.form_checks import threshold_kind
from app.settings_changes import get_path
from core.config import CoreConfig

#: Shown and compared with when the file does not set them: the types' own defaults.
DEFAULT_STALE_AFTER_S = CoreConfig().stale_after_s


DEFAULT_TIMEZONE = CoreConfig().metrics.timezone


TIMEZONE_KEY = "metrics.timezone"


DEFAULT_REPEAT = {sev: route.repeat_interval_s for sev, route in default_routes().items()}


@dataclass(frozen=True)
class Field:
    """One input of the form: its key, how it is shown, and its current value."""

    key: str
    label: str
    kind: str  # pos nonneg posopt nonnegopt text host port email emails url url? urls e164 e164s
    #            chatids secret switch severity checklist tz, threshold.<rule> (its catalog range)
    value: Any = None
    placeholder: str = ""
    options: tuple[str, ...] = ()
    secret: bool = False


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
    out.append(Field("stale_after_s", "Stale after (s)", "pos", num_text(stale)))
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
    out += safety_fields(doc)
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
            Field(f"thr.{name}.value", rule.label, threshold_kind(rule), num_text(value)),
            Field(f"thr.{name}.enabled", "rule", "switch", enabled),
            Field(f"thr.{name}.severity", "severity", "severity", sev, options=SEVERITIES),
            Field(f"thr.{name}.for", "for (s)", "nonneg", num_text(long.get("for", 0))),
        ]
    return out


def safety_fields(doc: Mapping) -> list[Field]:
    """The safety rules' switches and numbers (``alerts.safety``) and the fleet limits (``alerts.fleet``).

    A fleet limit the file gives per currency (a mapping) is not a field: the file keeps it as written.
    """
    safety = get_path(doc, ["alerts", "safety"]) or {}
    out = [
        Field(f"safety.{r.name}", f"{r.label} ({r.severity})", "switch", bool(safety.get(r.name, r.default)))
        for r in safety_catalog.SAFETY
    ]
    out += [
        Field(f"safety.{x.name}", x.label, f"safety.{x.name}", num_text(safety.get(x.name, x.default)))
        for x in safety_catalog.SAFETY_LIMITS
    ]
    fleet = get_path(doc, ["alerts", "fleet"]) or {}
    out += [
        Field(f"fleet.{r.name}", r.label, f"fleet.{r.name}", num_text(fleet.get(r.name, r.default)))
        for r in safety_catalog.FLEET
        if not isinstance(fleet.get(r.name), Mapping)
    ]
    return out


def _route_fields(doc: Mapping, names: tuple[str, ...]) -> list[Field]:
    out = []
    for sev in URGENT_FIRST:
        route = get_path(doc, ["alerts", "routes", sev]) or {}
        steps = route.get("escalate") or []
        first = steps[0] if steps else {}
        note = _stateful_note(doc, list(route.get("channels") or []))
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
                f"repeat every (s, empty = never{note})",
                "posopt",
                num_text(route.get("repeat_interval_s", DEFAULT_REPEAT[sev])),
            ),
            Field(
                f"route.{sev}.escalate_after",
                f"escalate after (s, empty = never{note})",
                "nonnegopt",
                num_text(first.get("after_s")),
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


def _stateful_note(doc: Mapping, channels: list[str]) -> str:
    """On a route to a stateful service (Alertmanager), repeats and escalation are that service's job."""
    kinds = {str((get_path(doc, ["alerts", "channels", c]) or {}).get("type", c)) for c in channels}
    named = sorted(d.label for k in kinds if (d := registry.TYPES.get(k)) is not None and d.stateful)
    return f"; {', '.join(named)} repeats and escalates by itself" if named else ""


def _channel_fields(doc: Mapping, resolved: Mapping, name: str, kind: str) -> list[Field]:
    cfg = get_path(doc, ["alerts", "channels", name])
    res = get_path(resolved, ["alerts", "channels", name]) or {}
    out = [Field(f"ch.{name}.enabled", f"{name} ({kind})", "switch", cfg is not None)]
    desc = registry.TYPES.get(kind)
    for ff in form_fields_of(desc):
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


def form_fields_of(desc: ChannelType | None) -> tuple[FormField, ...]:
    return desc.form if desc is not None else ()


def _field_default(desc: Any, fname: str) -> Any:
    """A channel setting's default, from its settings type (what an absent key means)."""
    fields_ = msgspec.structs.fields(desc.settings)
    return next((f.default for f in fields_ if f.name == fname), None)


def num_text(value: Any) -> str:
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
