"""Settings of durable storage (``storage:``): where the SQLite files and the state journal live.

They belong to the app (the journal and checkpoints are the app's durability layer), and they sit
here, in the lowest layer of the app, because the alert engine needs the one ``data_dir`` too and
may import only ``core`` (see docs/architecture.md).  Plain Structs, so ``app.settings`` mounts
them into the one settings document and tests build them with keyword arguments.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class JournalSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``storage.journal``: the monitor's state journal and checkpoints (docs/architecture.md)."""

    enabled: bool = True
    #: Longest time an applied event waits before it is on disk (fsync); SIGKILL loses at most this.
    commit_interval_s: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    #: A checkpoint of the whole state is written this often...
    snapshot_interval_s: Annotated[float, msgspec.Meta(ge=1)] = 300.0
    #: ...or as soon as the journal since the last one reaches this size.
    snapshot_journal_mb: Annotated[float, msgspec.Meta(gt=0)] = 32.0
    #: Events waiting for the writer; beyond it the journal is marked failing (ingest never waits).
    queue_events: Annotated[int, msgspec.Meta(ge=1000)] = 1_000_000


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``storage:`` section: where the SQLite files and the state journal live."""

    data_dir: str = "./data"
    journal: JournalSettings = JournalSettings()
