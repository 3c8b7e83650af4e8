"""The Health tab's panels about the monitor itself: collector thread, journal, alert delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from alerts.read_model import AlertStatus
from app.dashboard import fmt
from app.dashboard.view_input import ViewInput, utc_now
from core.monitor_documents import CatchUp, MonitorStatus, PersistenceStatus, TelegramLink


def _auth_row(curve: bool | None) -> list[str]:
    """Whether bots must prove who they are (ZeroMQ CURVE) before their events are read."""
    text = "CURVE (listed bot keys only)" if curve else "off" if curve is False else fmt.NA
    return ["Bot authentication", text, "pos" if curve else "neutral"]


def _unauthorized_row(count: int | None) -> list[str]:
    """Connections CURVE refused: a bot with a wrong key, or someone else knocking."""
    return ["Unauthorized attempts", fmt.integer(count), "neg" if count else "neutral"]


def _catch_up_row(catch_up: dict[str, CatchUp]) -> list[str]:
    """How many bots are still being caught up after the start, done, or given up."""
    if not catch_up:
        return ["Catch-up after start", "nothing to catch up", "neutral"]
    states = [c.state for c in catch_up.values()]
    text = ", ".join(f"{states.count(s)} {s}" for s in ("asking", "done", "lost") if s in states)
    cls = "neg" if "lost" in states else "warn" if "asking" in states else "pos"
    return ["Catch-up after start", text, cls]


def monitor_kv(inp: ViewInput) -> list[list[str]]:
    col = inp.metrics.collector
    mon = None if inp.metrics.monitor is UNSET else inp.metrics.monitor
    alive = _known(col.alive)
    restarts = _known(col.restarts)
    failure = _known(col.last_failure)
    rows = [
        [
            "Collector thread",
            "running" if alive else "DOWN" if alive is False else fmt.NA,
            "pos" if alive else "neg" if alive is False else "neutral",
        ],
        ["Collector restarts", fmt.integer(restarts), "neg" if restarts else "neutral"],
        [
            "Last collector failure",
            f"{inp.when(failure.at)}: {failure.error}" if failure else "none",
            "neg" if failure else "neutral",
        ],
        [
            "Endpoints",
            ", ".join(_known(col.endpoints) or inp.listen_info.get("zmq") or []) or fmt.NA,
            "neutral",
        ],
        _auth_row(_known(col.curve)),
        _unauthorized_row(_known(col.unauthorized)),
        _catch_up_row(col.catch_up),
        ["Ingest rate", fmt.rate(col.rate_per_s), "neutral"],
        ["Uptime", fmt.age(None if mon is None else mon.uptime_s), "neutral"],
        ["Memory (RSS)", fmt.nbytes(None if mon is None else mon.rss_bytes), "neutral"],
    ]
    if mon is not None:
        rows.extend(_process_rows(mon))
    if inp.server:
        rows.append(["Dashboard pages connected", fmt.integer(inp.server.get("clients")), "neutral"])
    persistence = _known(inp.metrics.persistence)
    if persistence is not None:
        rows.extend(persistence_rows(persistence, inp.when))
    return rows


def _process_rows(mon: MonitorStatus) -> list[list[str]]:
    """The monitor process: its threads and the web requests its guard refused."""
    refused = mon.web_refused if isinstance(mon.web_refused, dict) else {}
    shown = ", ".join(f"{k} {n}" for k, n in sorted(refused.items()) if n) or "none"
    rows = [
        ["Threads", fmt.integer(mon.threads), "neutral"],
        ["Web requests refused", shown, "neg" if shown != "none" else "neutral"],
    ]
    if mon.telegram is not UNSET:
        rows.append(_telegram_row(mon.telegram))
    return rows


def _telegram_row(link: TelegramLink) -> list[str]:
    """The Telegram command link: polling, or why not (409: another process holds the token)."""
    bad = link.state in ("conflict", "retrying")
    text = (link.state.upper() if bad else link.state) + (f": {link.error}" if link.error else "")
    if link.unauthorized:
        text += f" · {fmt.integer(link.unauthorized)} unauthorized attempts"
    return ["Telegram commands", text, "neg" if bad else "pos" if link.state == "polling" else "neutral"]


def persistence_rows(p: PersistenceStatus, when: Callable[[float | None], str] = utc_now) -> list[list[str]]:
    """The journal (is the state durable right now?) and how the state was restored at start-up."""
    j = p.journal
    if j.state == "off":
        rows = [["State journal", "off (storage.journal.enabled): a restart loses the state", "neg"]]
    elif j.state == "failing":
        rows = [["State journal", f"FAILING: {j.failure}; the state is kept in memory only", "neg"]]
    else:
        rows = [["State journal", f"ok, last commit {when(j.last_commit_at)}", "pos"]]
    if j.state != "off":
        size = f"{fmt.nbytes(j.data_bytes)}; {fmt.integer(j.uncommitted)} batches uncommitted"
        rows.append(["Journal data", size, "neutral"])
    r = p.restore
    if r is not None:
        source = r.snapshot or "empty state"
        rows.append(
            [
                "State restored",
                f"{when(r.at)} from {source} + {fmt.integer(r.journal_events)} journal events "
                f"in {r.duration_s:.2f} s",
                "neutral",
            ]
        )
        lost = f"{fmt.nbytes(r.lost_bytes)} cut: " + "; ".join(r.problems) if r.problems else "none"
        rows.append(["Restore problems", lost, "neg" if r.problems else "neutral"])
    return rows


def _known(value: Any) -> Any:
    """A field only the running monitor fills in (UNSET in the store's own document) as None."""
    return None if value is UNSET else value


def alerts_kv(alerts: AlertStatus | None) -> list[list[str]]:
    if alerts is None:
        return [["Alerting", "not configured", "muted"]]
    rows = [
        ["Firing alerts", fmt.integer(alerts.firing), "neg" if alerts.firing else "pos"],
        ["Delivery", *(("FAILING", "neg") if alerts.delivery_failing else ("ok", "pos"))],
    ]
    store = alerts.store
    if not store.ok:  # the alerts go on in memory; what the file could not take is held
        held = f"{fmt.integer(store.held_notifications)} notifications held in memory"
        rows.append(["Alert store", f"FAILING: {store.error} · {held}", "neg"])
    else:
        rows.append(["Alert store", "ok", "pos"])
    for name, ch in sorted(alerts.channels.items()):
        text = "ok" if ch.ok else f"failing: {ch.last_error or 'unknown error'}"
        text += f" · pending {fmt.integer(ch.pending)} · dead {fmt.integer(ch.dead)}"
        rows.append([f"Channel {name}", text, "pos" if ch.ok else "neg"])
    return rows
