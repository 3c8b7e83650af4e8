"""The words every channel's message is made of.

Pure functions from notification payloads (dicts written into the outbox) to
text: the headline, the facts, a digest's subject and plain-text body.  Each
channel module turns these into what its service accepts (Slack blocks,
Telegram HTML, e-mail, a 160-character SMS, a JSON webhook body), escaping every
text a bot supplied for its markup and trimming it *before* markup is added, so
a limit can never cut a tag in half.  A list of payloads is a digest (many
alerts at once, batched rather than dropped).
"""

from __future__ import annotations

import re
import time

from alerts.catalog import urgent_first

SUMMARY_MAX = 500  # raw characters of a bot-supplied text kept in any message

KIND_WORDS = {
    "firing": "FIRING",
    "repeat": "STILL FIRING",
    "escalation": "ESCALATED",
    "failover": "FAILOVER",
    "resolved": "RESOLVED",
    "test": "TEST",
}
#: How a resolve of an alert carried over a monitor restart is worded (``payload["after_restart"]``).
RESTART_WORDS = {
    "outage": "RESOLVED (while the monitor was down)",
    "unknown_bot": "RESOLVED UNVERIFIED (bot unknown after a monitor restart)",
    "forgotten": "CLOSED (bot forgotten by the operator)",
}
#: The note of an alert closed because the operator forgot its bot on the Health tab.
FORGOTTEN_NOTE = "bot forgotten by the operator"
SEV_ICON = {"critical": "\U0001f6a8", "warning": "\u26a0\ufe0f", "info": "\u2139\ufe0f"}


#: Control characters, line and paragraph separators and bidi overrides: a bot-provided name
#: with a newline would break an e-mail subject or forge a line of the message; an override
#: would show the text reversed.  Each run becomes one space.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def one_line(text: object) -> str:
    """``text`` on one line: every run of control characters and line breaks is one space."""
    return _UNPRINTABLE.sub(" ", str(text))


def trim(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def ordered(payloads: list[dict]) -> list[dict]:
    """Critical first: in a digest the most severe alerts are read first."""
    return sorted(payloads, key=lambda p: (urgent_first(p.get("severity")), p.get("fired_at") or 0))


def utc(ts: float | None) -> str:
    if ts is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def kind_word(p: dict) -> str:
    """The state as a message says it; a resolve that a restart decided says so."""
    why = (p.get("after_restart") or {}).get("why") if p.get("kind") == "resolved" else None
    if why in RESTART_WORDS:
        return RESTART_WORDS[why]
    return KIND_WORDS.get(p.get("kind"), str(p.get("kind")))


def restart_note(p: dict) -> str | None:
    """The plain facts of a resolve decided at a restart: when the monitor stopped and came back.

    Never an all-clear it cannot vouch for: a bot the restarted monitor knows nothing
    about is named as unverified, with what to check.
    """
    info = p.get("after_restart") or {}
    why, bot = info.get("why"), p.get("bot")
    if why == "forgotten":
        return FORGOTTEN_NOTE
    back = utc(info.get("restarted_at"))
    stopped = info.get("stopped_at")
    down = (
        f"the monitor stopped at about {utc(stopped)} and restarted at {back}"
        if stopped is not None
        else f"the monitor restarted at {back} (when it stopped is not recorded)"
    )
    if why == "outage":
        return f"resolved while the monitor was down: {down}; the condition no longer held when it came back"
    if why == "unknown_bot":
        return (
            f"NOT VERIFIED: {down} without any saved state of {bot}, so this alert could not be"
            f" evaluated again and is closed without an all-clear; check that {bot} is running and"
            " publishing, and its figures on the dashboard"
        )
    return None


def headline(p: dict) -> str:
    """``[CRITICAL] FIRING b1: kill switch TRIGGERED``: severity, state, bot, what."""
    labels = "".join(f" {k}={v}" for k, v in (p.get("labels") or {}).items())
    return one_line(
        f"[{str(p.get('severity', '?')).upper()}] {kind_word(p)} "
        f"{p.get('bot')}{labels}: {trim(p.get('summary', ''), SUMMARY_MAX)}"
    )


def detail_lines(p: dict) -> list[str]:
    """Plain-text facts: value vs threshold, since when, ack, link, id."""
    lines = []
    if p.get("value") is not None and p.get("threshold") is not None and p.get("op"):
        lines.append(f"value {p['value']} {p['op']} threshold {p['threshold']}"[:200])
    since = p.get("fired_at") or p.get("since")
    if p.get("kind") == "resolved":
        lines.append(f"firing since {utc(since)}, resolved {utc(p.get('resolved_at'))}")
        note = restart_note(p)
        if note:
            lines.append(note)
    else:
        lines.append(f"since {utc(since)} ({duration((p.get('now') or since or 0) - (since or 0))})")
    if p.get("acked_by"):
        lines.append(f"acknowledged by {p['acked_by']}")
    lines.append(f"rule {p.get('rule')} - alert {p.get('alert_id')}")
    return [one_line(x) for x in lines]


def subject(payloads: list[dict]) -> str:
    if len(payloads) == 1:
        return one_line(trim(headline(payloads[0]), 200))
    ps = ordered(payloads)
    crit = sum(1 for p in ps if p.get("severity") == "critical")
    return one_line(trim(f"{len(ps)} alerts ({crit} critical): {headline(ps[0])}", 200))


def plain_text(payloads: list[dict], dashboard_url: str) -> str:
    parts = []
    for p in ordered(payloads):
        parts.append("\n".join([headline(p), *("  " + x for x in detail_lines(p))]))
    return "\n\n".join(parts) + f"\n\nDashboard: {dashboard_url}\n"
