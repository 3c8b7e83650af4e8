"""A submission of the form -> settings changes and secrets, or errors keyed by field.

Errors are shown next to their fields and then nothing is saved.  A value equal to
what is in force (a default included) writes no change, so the file keeps what the
human wrote; a secret goes to the secrets file and settings.yaml gets a ``${NAME}``
reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts import catalog, safety_catalog
from alerts.catalog import URGENT_FIRST
from alerts.channels import registry
from app.dashboard.form_checks import check
from app.dashboard.form_fields import (
    DEFAULT_REPEAT,
    DEFAULT_STALE_AFTER_S,
    DEFAULT_TIMEZONE,
    TIMEZONE_KEY,
    channel_names,
    fields,
    form_fields_of,
    num_text,
)
from app.settings_changes import DELETE, Change, get_path, secret_name


@dataclass
class Parsed:
    """The outcome of a submission: changes for the writer, or errors by field key."""

    changes: list[Change] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Saved, but worth a word next to the field (a threshold kept while its rule is off).
    notes: dict[str, str] = field(default_factory=dict)


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
    _safety(parsed, doc, out)
    if out.errors:
        out.changes, out.secrets, out.notes = [], {}, {}
    return out


def _safety(parsed: dict, doc: Mapping, out: Parsed) -> None:
    """The safety rules' switches and numbers, and the fleet limits (empty = off)."""
    for r in safety_catalog.SAFETY:
        if f"safety.{r.name}" in parsed:
            _emit(out, doc, ("alerts", "safety", r.name), bool(parsed[f"safety.{r.name}"]), r.default)
    for x in safety_catalog.SAFETY_LIMITS:
        key = f"safety.{x.name}"
        if key in parsed and key not in out.errors:
            value = parsed[key]
            if value is None and x.default is not None:
                out.errors[key] = "enter a number"
                continue
            _emit(out, doc, ("alerts", "safety", x.name), value, x.default)
    for r in safety_catalog.FLEET:
        key = f"fleet.{r.name}"
        if key in parsed and key not in out.errors:
            _emit(out, doc, ("alerts", "fleet", r.name), parsed[key], r.default)


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
    return f"{label}: the rule is off, so {num_text(value)} is kept but not checked"


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
        for ff in form_fields_of(desc):
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
