"""The rows of the outbox as plain values: what is enqueued, what is held, what a worker claims.

Pure (no SQLite): the channels, the held queue and the engine take and give these, so a channel
module imports its row type from here and never loads the SQLite module (``alerts/outbox.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewRow:
    """A notification to enqueue for one channel destination."""

    idem: str
    alert_id: str
    channel: str
    dest: str
    kind: str
    severity: str
    payload: dict


@dataclass(frozen=True, slots=True)
class HeldRow:
    """A notification held in memory while the store failed, with how far its delivery went."""

    new: NewRow
    status: str  # pending | sent | dead
    attempts: int
    created_at: float
    due_at: float
    sent_at: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Row:
    """A claimed notification."""

    id: int
    idem: str
    alert_id: str
    channel: str
    dest: str
    kind: str
    prio: int
    payload: dict
    created_at: float
    attempts: int
