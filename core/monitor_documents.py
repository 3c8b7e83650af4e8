"""The monitor's own status in /api/metrics (pure): collector thread, catch-up, process, journal, restore.

These parts say how the monitor itself is doing rather than a bot; the hub adds them to the
store's document at the edge (the store's own document leaves them ``UNSET``).  Their place in
the metrics document is declared with the rest in core/documents.py; definitions of the
numbers: docs/metrics.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from core.document_base import DocPart
from core.exposition import counter, gauge


class CollectorFailure(DocPart, frozen=True, kw_only=True):
    """Why the collector thread last died (it was restarted)."""

    at: float
    error: str
    trace: str


class CatchUp(DocPart, frozen=True, kw_only=True):
    """One bot's catch-up after a start: asked for everything after its last applied seq.

    ``asked`` counts the requests sent (the end is open, so the number of events asked for
    is not known before the bot answers), ``received`` the events applied from its replay,
    ``lost`` those it could no longer provide.  ``done``: it answered; ``lost``: it never did
    within ``collector.recovery_timeout_s``, or it started a new run first.
    """

    state: Literal["asking", "done", "lost"]
    asked: int
    received: int
    lost: int


class CollectorThread(DocPart, frozen=True, kw_only=True):
    """The collector thread as its supervisor sees it (known only in the running monitor)."""

    alive: bool
    restarts: int
    last_failure: CollectorFailure | None
    endpoints: list[str]
    #: The collector authenticates bots with ZeroMQ CURVE (collector.curve.enabled).
    curve: bool = False
    #: Connections CURVE refused since start (unlisted key, no CURVE, wrong monitor key).
    unauthorized: int = 0
    #: Per bot asked to catch up after the start (see :class:`CatchUp`).
    catch_up: dict[str, CatchUp] = {}


class CollectorStatus(DocPart, frozen=True, kw_only=True):
    """Ingest counters of the store, plus the thread's status once the monitor adds it."""

    received: Annotated[int, counter("Messages taken off the collector's socket.")]
    rejected: int
    rejected_by_reason: Annotated[
        dict[str, int],
        counter("Messages the collector refused, by reason.", name="collector_rejected", key_label="reason"),
    ]
    rate_per_s: Annotated[
        float,
        gauge("Messages received per second, over the last 5 seconds.", name="ingest_events_per_second"),
    ]
    alive: Annotated[bool | UnsetType, gauge("1 while the collector thread runs.", name="collector_up")] = (
        UNSET
    )
    restarts: Annotated[int | UnsetType, counter("Times the collector thread was restarted.")] = UNSET
    last_failure: CollectorFailure | UnsetType | None = UNSET
    endpoints: list[str] | UnsetType = UNSET
    curve: bool | UnsetType = UNSET
    unauthorized: int | UnsetType = UNSET
    #: Per bot asked to catch up after the start (filled from the monitor's construction on).
    catch_up: dict[str, CatchUp] = {}

    def with_thread(self, thread: CollectorThread) -> CollectorStatus:
        return msgspec.structs.replace(
            self,
            alive=thread.alive,
            restarts=thread.restarts,
            last_failure=thread.last_failure,
            endpoints=thread.endpoints,
            curve=thread.curve,
            unauthorized=thread.unauthorized,
            catch_up=thread.catch_up,
        )


class TelegramLink(DocPart, frozen=True, kw_only=True):
    """The Telegram command link (long polling), with ``alerts.channels.telegram.operators`` set.

    ``conflict``: another process polls the same bot token (Telegram answered 409), so
    this monitor's commands and buttons are not read until it stops; ``retrying``: the
    Bot API could not be reached or refused the token.  ``unauthorized`` counts the
    messages and presses of users or chats not allowed (none of them answered).
    """

    state: Literal["starting", "polling", "conflict", "retrying", "stopped"]
    error: str | None = None
    since: float | None = None
    updates: int = 0
    unauthorized: int = 0


class MonitorStatus(DocPart, frozen=True, kw_only=True):
    """The monitor process itself."""

    started_at: float
    uptime_s: Annotated[float, gauge("Seconds since the monitor started.", name="uptime", unit="seconds")]
    rss_bytes: int
    threads: Annotated[int, gauge("Threads of the monitor process.", name="threads")]
    #: Requests the web guard refused, by reason (host, origin, ws_origin, csrf, too_large).
    web_refused: Annotated[
        dict[str, int] | UnsetType,
        counter("Requests the web guard refused, by reason.", name="web_refused", key_label="reason"),
    ] = UNSET
    #: The Telegram command link, when Telegram operators are configured.
    telegram: TelegramLink | UnsetType = UNSET


class RestoreInfo(DocPart, frozen=True, kw_only=True):
    """How the monitor rebuilt its state at start-up (docs/architecture.md, Durability)."""

    at: float  # wall-clock time the restore finished
    snapshot: str | None  # checkpoint file restored from; None = started empty
    snapshot_batch: int  # last journal batch contained in that checkpoint
    journal_batches: int  # batches replayed from the journal after it
    journal_events: int  # items (events and rejects) in those batches
    duration_s: float
    lost_bytes: int  # journal bytes cut off as torn or corrupt
    problems: list[str]  # each recovery step taken (corrupt checkpoint skipped, tail cut...)


class JournalStatus(DocPart, frozen=True, kw_only=True):
    """The journal writer: what is durable, and whether it is failing."""

    state: Annotated[  # "ok" | "failing" | "off"
        str, gauge("1 for the journal's state.", name="journal_state", states=("ok", "failing", "off"))
    ]
    failure: str | None  # why it is failing (disk full, queue overflow...); None when ok
    committed_batch: int  # newest batch known to be on disk (fsync'd)
    uncommitted: Annotated[  # batches applied but not yet on disk (what a SIGKILL now would lose)
        int, gauge("Batches applied but not yet on disk.", name="journal_uncommitted_batches")
    ]
    last_commit_at: float | None
    queued: Annotated[int, gauge("Batches waiting for the journal writer.", name="journal_queued_batches")]
    snapshots: Annotated[  # checkpoints written by this process
        int, counter("Checkpoints written by this process.", name="journal_checkpoints")
    ]
    last_snapshot_at: float | None
    last_snapshot_pause_ms: float | None  # time ingest waited while the last checkpoint was taken
    data_bytes: Annotated[  # size of the journal directory
        int, gauge("Size of the journal directory.", name="journal_data", unit="bytes")
    ]


class PersistenceStatus(DocPart, frozen=True, kw_only=True):
    """Durability of the monitor's state: its restore at start-up and its journal."""

    restore: RestoreInfo | None
    journal: JournalStatus


class EdgeStatus(DocPart, frozen=True, kw_only=True):
    """What the running monitor adds to the store's document (see ``Hub.metrics``)."""

    collector: CollectorThread | None = None
    monitor: MonitorStatus | None = None
    persistence: PersistenceStatus | None = None
