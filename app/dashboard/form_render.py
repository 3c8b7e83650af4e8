"""The form's Dash components, built from the field catalogue (form_fields.py).

Each input is a ``dbc.Input`` with ``invalid`` and a ``dbc.FormFeedback`` right after
it, so Bootstrap shows the message next to it; switches say "on" or "off" next to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from alerts import catalog
from alerts.catalog import URGENT_FIRST
from app.dashboard.form_checks import timezone_names
from app.dashboard.form_fields import TIMEZONE_KEY, Field, channel_names, fields


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
        return _switch(f)
    if f.kind == "checklist":
        return _checklist(f)
    widget = _select(f) if f.kind == "severity" else _input(f)
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


def _switch(f: Field) -> list:
    """A switch with the words saying its state next to it."""
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


def _checklist(f: Field) -> list:
    """Channels to pick; its message is always displayed (a checklist cannot be marked invalid)."""
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


def _select(f: Field) -> Any:
    return dbc.Select(
        id=fid(f.key, f.kind),
        options=[{"label": o, "value": o} for o in f.options],
        value=f.value,
        size="sm",
    )


def _input(f: Field) -> Any:
    """A text input; a secret's is a password input (its value is never sent, only typed)."""
    extra = {"list": TIMEZONE_LIST} if f.kind == "tz" else {}
    return dbc.Input(
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
        _section(
            "Safety invariants", [group([f for k, f in by.items() if k.startswith("safety.")], width=4)]
        ),
        _section(
            "All bots limits (per currency)", [group([f for k, f in by.items() if k.startswith("fleet.")])]
        ),
    ]
    rules = [k for k in by if k.startswith("rule.") and k.endswith(".enabled")]
    if rules:
        sections.append(
            _section("Further rules", [group([by[k], by[k.replace("enabled", "severity")]]) for k in rules])
        )
    sections.append(_routes_section(by))
    for name in channel_names(doc):
        fs = [f for k, f in by.items() if k.startswith(f"ch.{name}.")]
        sections.append(
            _section(f"Channel {name}", [group(fs[:1], width=12), group(fs[1:])], cid=f"atab-ch-{name}")
        )
    return sections


def _routes_section(by: Mapping[str, Field]) -> dbc.Card:
    """One row per severity: its channels, repeat, and the first escalation step."""
    return _section(
        "Routes per severity",
        [
            group(
                [by[f"route.{s}.{p}"] for p in ("channels", "repeat", "escalate_after", "escalate_channels")]
            )
            for s in URGENT_FIRST
        ],
    )


def _section(title: str, body: list, cid: str | None = None) -> dbc.Card:
    kw = {"id": cid} if cid else {}
    return dbc.Card(
        [dbc.CardHeader(title, className="panel-title"), dbc.CardBody(body)], className="panel mb-2", **kw
    )
