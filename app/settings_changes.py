"""The vocabulary of an edit to the settings file: shared by the form that proposes it and its owner.

Pure (no file, no YAML library): the dashboard's form turns what a trader typed
into :data:`Change` s and secrets, and hands them, with its actor, to the operator
facade through :class:`Reconfigurable` (app/operator.py, which passes them to the
composition root's ``Monitor``).  The form so never touches the settings loader or
writer, and the one place that validates, writes and applies a change is the owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: A change value meaning "remove this key".
DELETE = object()
#: (path of keys/indexes into the document, new value or DELETE).
Change = tuple[tuple[str | int, ...], Any]


def get_path(doc: Any, path: Iterable[str | int], default: Any = None) -> Any:
    """The value at ``path`` in nested mappings/lists, or ``default`` when any step is missing."""
    node = doc
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return default
    return node


def secret_name(*parts: str | int) -> str:
    """``("slack", "webhook_url")`` -> ``ALERTS_SLACK_WEBHOOK_URL`` (a valid ``${NAME}``)."""
    raw = "_".join(["ALERTS", *(str(p) for p in parts)])
    return re.sub(r"[^A-Za-z0-9_]", "_", raw).upper()


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of a proposed change: saved or not, in words, and the refused key if any."""

    saved: bool
    message: str
    key: str | None = None  # the settings key validation refused (the form marks its field)
    reason: str = ""


class Reconfigurable(Protocol):
    """What a settings form may do: read the file and propose a change; nothing else."""

    def settings_document(self) -> dict[str, Any]:
        """The settings file as plain data, as it is on disk now."""
        ...

    def resolved_settings(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """``doc`` with ``${VAR}`` references resolved (only to show masks); None if unresolvable."""
        ...

    def apply_settings(
        self, changes: Iterable[Change], secrets: Mapping[str, str] | None, actor: str
    ) -> Applied:
        """Validate, write and apply (``actor`` logged); nothing is written or applied when invalid."""
        ...
