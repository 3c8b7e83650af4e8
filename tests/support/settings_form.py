"""Drive the Alerts tab's settings form without a browser: what a page would submit, against a file."""

from __future__ import annotations

from typing import Any

from app.dashboard import settings_form as form
from app.settings_writer import SettingsWriter, plain


def submit(writer: SettingsWriter, **changes: Any) -> form.Parsed:
    """Every field as shown now, with ``changes`` typed over it (``ch__email__host`` = ``ch.email.host``)."""
    doc = plain(writer.document())
    values = {f.key: f.value for f in form.fields(doc, None)}
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return form.parse(values, doc)


def save(writer: SettingsWriter, **changes: Any):
    """Submit and save; the form's field errors must be empty (they are asserted by the caller otherwise)."""
    parsed = submit(writer, **changes)
    assert parsed.errors == {}, parsed.errors
    return writer.save(parsed.changes, parsed.secrets)
