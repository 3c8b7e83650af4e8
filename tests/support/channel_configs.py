"""The smallest working settings of every registered channel type, derived from the type itself.

A channel type says what it needs (``required``: groups of fields, any one group) and the
form kind of each field (``FormField.kind``); a sample value per form kind fills the first
group.  So a new channel type (docs/extending.md) is covered by the tests that iterate
channels without anyone restating its settings; a form kind with no sample here fails
loudly, naming the kind.
"""

from __future__ import annotations

from typing import Any

from alerts.channels import registry

#: A valid value of each form kind (app/dashboard/form_checks.py), as YAML would give it.
SAMPLES: dict[str, Any] = {
    "text": "x",
    "secret": "1:x",  # also the shape of a Telegram bot token
    "host": "smtp.example.org",
    "port": 587,
    "email": "monitor@example.org",
    "emails": ["ops@example.org"],
    "url": "https://hooks.example.org/T000/B000",
    "url?": "https://api.example.org",
    "urls": ["https://example.org/hook"],
    "appriseurls": ["json://example.org/hook"],
    "e164": "+15550000001",
    "e164s": ["+15550000002"],
    "chatids": [42],
    "switch": True,
}


def minimal(kind: str) -> dict[str, Any]:
    """The fields of channel type ``kind``'s first ``required`` group, each with its form kind's sample."""
    desc = registry.descriptor(kind)
    form = {f.name: f.kind for f in desc.form}
    groups = desc.settings.required
    fields = groups[0] if groups else ()
    missing = [name for name in fields if form.get(name, "text") not in SAMPLES]
    if missing:
        raise KeyError(f"no sample value for the form kind of {kind}.{missing[0]} ({form[missing[0]]!r})")
    return {name: SAMPLES[form.get(name, "text")] for name in fields}


def every_type() -> dict[str, dict[str, Any]]:
    """Channel type -> its smallest working settings, for every registered type."""
    return {kind: minimal(kind) for kind in registry.TYPES}
