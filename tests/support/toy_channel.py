"""A channel type that lives outside alerts/channels: it appends each notification to a JSON-lines file.

It proves that a channel type is its module plus a registry entry: nothing else
in the product knows about it, yet it gets settings validation, secret
scrubbing, the outbox, retries and delivery like the built-in types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from alerts.channels.base import (
    BaseChannel,
    ChannelSettings,
    ChannelType,
    FormField,
    Result,
    Secret,
    delivered,
    permanent,
    transient,
)
from alerts.outbox import Row


class JsonlSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="jsonl"):
    required: ClassVar = (("path",),)

    path: str | None = None
    token: Secret = None  # written into every line; must be scrubbed from error texts


class JsonlChannel(BaseChannel):
    batch_max = 1
    default_rate = None

    def send(self, dest: str, rows: list[Row]) -> Result:
        (row,) = rows
        path = Path(self.cfg.path)
        if not path.parent.is_dir():
            return permanent(f"no directory for {path} (token {self.cfg.token})")
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"idem": row.idem, "token": self.cfg.token, "alert": row.payload}) + "\n")
        except OSError as exc:
            return transient(f"{type(exc).__name__}: {exc.strerror}")
        return delivered()


TYPE = ChannelType("jsonl", "JSON lines", JsonlSettings, JsonlChannel, form=(FormField("path", "File"),))


def lines(path: Path) -> list[dict]:
    """What the channel wrote, one dict per notification."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
