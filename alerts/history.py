"""Delivery history as a trader reads it: one entry per notification, a result per channel.

Pure (rows in, typed entries out: alerts/read_model.py) so the dashboard's history
table and the Test Alert feedback are unit-testable without SQLite.  A notification
is one notice (subject + event + n); it fans out into one row per channel destination,
and a channel's result is the worst of its destinations: a message that reached
two of three Telegram chats has not reached the third.
"""

from __future__ import annotations

from alerts import notification
from alerts.read_model import ChannelResult, DeliveryRow, HistoryEntry

#: Errors the engine writes itself when it gives a row up (not a channel's refusal).
_DEAD_LETTER_MARKS = ("gave up after retries", "is not configured")


def notice_key(idem: str) -> str:
    """``alert:kind:n:channel:dest`` -> ``alert:kind:n`` (the notification the row belongs to)."""
    return ":".join(idem.split(":", 3)[:3])


def row_state(row: DeliveryRow) -> ChannelResult:
    """One destination's state: delivered / sending / retrying / failed / dead-lettered."""
    status, error = row.status, row.last_error
    if status == "sent":
        return ChannelResult(state="delivered", at=row.sent_at)
    if status == "dead":
        letter = any(m in (error or "") for m in _DEAD_LETTER_MARKS)
        return ChannelResult(state="dead-lettered" if letter else "failed", error=error, at=row.sent_at)
    if row.attempts and error:
        return ChannelResult(state="retrying", attempt=row.attempts, next_try=row.due_at, error=error)
    return ChannelResult(state="sending")


_RANK = {"failed": 0, "dead-lettered": 1, "retrying": 2, "sending": 3, "delivered": 4}


def channel_results(rows: list[DeliveryRow]) -> dict[str, ChannelResult]:
    """Per channel, the worst destination state (rows of one notification)."""
    out: dict[str, ChannelResult] = {}
    for row in rows:
        st = row_state(row)
        prev = out.get(row.channel)
        if prev is None or _RANK[st.state] < _RANK[prev.state]:
            out[row.channel] = st
    return out


def group(rows: list[DeliveryRow], limit: int) -> list[HistoryEntry]:
    """Rows (newest first) -> the newest ``limit`` notifications with their per-channel results."""
    order: list[str] = []
    by_key: dict[str, list[DeliveryRow]] = {}
    for row in rows:
        key = notice_key(row.idem)
        if key not in by_key:
            if len(order) >= limit:
                continue
            order.append(key)
            by_key[key] = []
        by_key[key].append(row)
    return [_entry(key, by_key[key]) for key in order]


def _entry(key: str, rows: list[DeliveryRow]) -> HistoryEntry:
    payload = rows[0].payload
    words = notification.renderer(payload)
    return HistoryEntry(
        key=key,
        alert_id=rows[0].alert_id,
        kind=notification.kind_of(payload),  # alert, test, report
        event=rows[0].kind,  # firing, repeat, escalation, failover, resolved, test
        state=words.state(payload),  # FIRING, RESOLVED (while the monitor was down), TEST, ...
        created_at=min(r.created_at for r in rows),
        severity=payload.get("severity"),
        bot=payload.get("bot"),
        rule=payload.get("rule"),
        title=words.title(payload),  # the rule's name as a human reads it ("Test alert" for a test)
        summary=payload.get("summary"),
        what=words.what(payload),  # the fact this notification stated (the all-clear for a resolve)
        channels=channel_results(rows),
        by=payload.get("by"),
    )
