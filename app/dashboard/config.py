"""Settings of the live dashboard (the ``dashboard:`` section of settings.yaml).

Kept in the dashboard package so the loader (app.settings) only has to embed
this Struct: the dashboard owns its knobs and their valid ranges.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class DashboardSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often and how much the dashboard pushes to each browser."""

    #: Store changes are coalesced into one frame per this many ms.  Browsers
    #: render 20-30 updates/s, so 50..100 ms is the useful range.
    push_interval_ms: Annotated[int, msgspec.Meta(ge=50, le=100)] = 60
    #: Points a chart trace keeps in the browser (extendData's maxPoints).
    max_chart_points: Annotated[int, msgspec.Meta(ge=100, le=100_000)] = 2000
    #: Frames a slow browser may have waiting; beyond that the waiting frames
    #: are dropped and replaced by one full snapshot (newest wins).
    client_queue: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    #: Connections beyond this are refused so a reload storm cannot starve the server.  Each open
    #: page holds a worker thread, so the settings refuse more than ``server.threads`` - 8.
    max_clients: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    #: Rows in the recent-fills table (newest first).
    fills_rows: Annotated[int, msgspec.Meta(ge=50, le=1000)] = 100
    #: Recent error messages listed on the Health tab.
    error_rows: Annotated[int, msgspec.Meta(ge=1, le=200)] = 20
    #: Without any store change, sections are still re-evaluated this often,
    #: so ages ("12 s ago") and the stale flag advance on a quiet bot.
    refresh_s: Annotated[float, msgspec.Meta(ge=0.2, le=10)] = 1.0
    #: WebSocket ping interval; a dead peer is detected and its thread freed.
    ws_ping_interval_s: Annotated[float, msgspec.Meta(ge=1, le=300)] = 20.0
    # Kernel send buffer per page: without a cap the OS queues megabytes for a stuck page before
    # its slot notices; with it, the page falls behind quickly and gets one snapshot instead.
    ws_send_buffer_kb: Annotated[int, msgspec.Meta(ge=16, le=16384)] = 256
    #: Page title.
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] = "Bot Monitor"
