"""The words every alert text is made of: values, facts, headlines, digests.

Pure functions.  Two kinds of callers:

* the rules (alerts/rules.py) state what crossed what with :func:`crossed` and
  :func:`back_within`, and show values with :func:`shown`, so an alert reads like
  the dashboard's cards: ``drawdown 12.40% > limit 10.00%``, ``latency p95 812 ms >
  limit 500 ms``, ``daily P&L -612.40 USD < limit -500.00 USD``; each value once,
  worded by the one presenter of figures (``core.present``), as on the page;
* every channel and the Alerts tab turn notification payloads (dicts written into
  the outbox) into text with :func:`what`, :func:`headline`, :func:`detail_lines`,
  :func:`subject` and :func:`plain_text`.  Each channel module turns these into
  what its service accepts (Slack blocks, Telegram HTML, e-mail, a 160-character
  SMS, a JSON webhook body), escaping every text a bot supplied for its markup and
  trimming it *before* markup is added, so a limit can never cut a tag in half.

A list of payloads is a digest (many alerts at once, batched rather than dropped),
always most severe first.  Times in messages are written as the page writes them,
with their zone and always their date (a message is read far from the monitor, later,
by people in other zones): in the payload's ``timezone`` (the monitor's
``metrics.timezone``) when the payload carries it, else in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts import safety_catalog
from alerts.catalog import MONITOR, SEVERITIES, title, urgent_first
from core import present

_UTC = UTC
SUMMARY_MAX = 500  # raw characters of a bot-supplied text kept in any message

KIND_WORDS = {
    "firing": "FIRING",
    "repeat": "STILL FIRING",
    "escalation": "ESCALATED",
    "failover": "FIRING (failover: no channel confirmed it)",
    "resolved": "RESOLVED",
    "test": "TEST",
}
#: How a resolve of an alert carried over a monitor restart is worded (``payload["after_restart"]``).
RESTART_WORDS = {
    "outage": "RESOLVED (while the monitor was down)",
    "unknown_bot": "RESOLVED UNVERIFIED",
    "forgotten": "CLOSED",
}
#: The note of an alert closed because the operator forgot its bot on the Health tab.
FORGOTTEN_NOTE = "bot forgotten by the operator"
SEV_ICON = {"critical": "\U0001f6a8", "warning": "\u26a0\ufe0f", "info": "\u2139\ufe0f"}
#: What the scope of the monitor's own conditions is called in a text.
MONITOR_NAME = "monitor"
NO_DATA = "no data"


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
    """Critical first, then warning, then info; oldest first within a severity.

    In a digest the most severe alerts are read first, and a channel that cuts a
    long digest ("... and 12 more") cuts the least severe.
    """
    return sorted(payloads, key=lambda p: (urgent_first(p.get("severity")), p.get("fired_at") or 0))


def utc(ts: float | None) -> str:
    """An instant in UTC as the page writes times, always with its date: ``24 Nov 2025 14:03:07 UTC``."""
    return "?" if ts is None else present.when(ts, _UTC)


def zone_of(p: Mapping) -> tzinfo:
    """The zone a notification's times are written in: the payload's ``timezone`` (the monitor's
    ``metrics.timezone``, as the page uses) when it names a known zone, else UTC."""
    name = p.get("timezone")
    if not name or name == "UTC":
        return _UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return _UTC


def at(ts: float | None, p: Mapping) -> str:
    """An instant of notification ``p`` as the page writes it, always dated: ``14 Nov 2023 23:14:55 CET``."""
    return "?" if ts is None else present.when(ts, zone_of(p))


# ---- values -------------------------------------------------------------------------------------
def duration(seconds: float) -> str:
    """``4.2 s`` / ``12 s`` / ``1 min 21 s`` / ``2 h 03 min`` / ``3 d 04 h``: the presenter's wording."""
    return present.duration(seconds)


def shown(value: object, unit: str = "", currency: str | None = None) -> str:
    """A metric's value as the dashboard's cards show it; ``no data`` for null.

    ``unit`` is one of ``alerts.catalog.UNITS``; ``currency`` (the bot's, from its
    metrics) follows money amounts.  True/false and states read as words.
    """
    if value is None:
        return NO_DATA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return present.value(value, unit, currency)
    return str(value).replace("_", "-")  # half_open -> half-open


def crossed(name: str, value: object, op: str, limit: object, unit: str, currency: str | None = None) -> str:
    """What crossed what, each value once: ``drawdown 12.40% > limit 10.00%``, ``29 errors > limit 20``

    An equality rule states the value (``stale is true``); an inequality what it is instead of.
    """
    v, t = shown(value, unit, currency), shown(limit, unit, currency)
    if op == "==":
        return f"{name} is {v}"
    if op == "!=":
        return f"{name} is {v}, not {t}"
    if unit == "count":
        return f"{v} {name} {op} limit {t}"
    return f"{name} {v} {op} limit {t}"


def back_within(
    name: str, current: object, op: str, limit: object, unit: str, currency: str | None = None
) -> str:
    """The all-clear of :func:`crossed`, with the value now: ``drawdown 8.10% back within limit 10.00%``."""
    t = shown(limit, unit, currency)
    if op == "==":
        return f"{name} no longer {t}" + (
            "" if current is None else f" (now {shown(current, unit, currency)})"
        )
    if op == "!=":
        return f"{name} back to {t}"
    if current is None:
        return f"{name} back within limit {t} ({NO_DATA} now)"
    v = shown(current, unit, currency)
    if unit == "count":
        return f"{v} {name}, back within limit {t}"
    return f"{name} {v} back within limit {t}"


# ---- notifications --------------------------------------------------------------------------------
def scope(bot: object) -> str:
    """The bot an alert is about; ``monitor`` for the monitor's own conditions, ``all bots`` the fleet's."""
    if bot == safety_catalog.FLEET_SCOPE:
        return "all bots"
    return MONITOR_NAME if bot == MONITOR else str(bot)


def rule_title(p: Mapping) -> str:
    """The rule's name as a human reads it (the catalog's title; a custom rule's own name)."""
    return title(str(p.get("rule")))


def _why(p: Mapping) -> str | None:
    return (p.get("after_restart") or {}).get("why") if p.get("kind") == "resolved" else None


def what(p: Mapping) -> str:
    """The fact a notification (or a history entry) states, once.

    Firing, repeat, escalation: the condition (``circuit breaker OPEN (was closed)``).
    Resolved: the all-clear with the value now (``circuit breaker closed again``); a
    resolve the monitor could not check says what was last known instead.
    """
    summary = str(p.get("summary") or "")
    if p.get("kind") != "resolved":
        return summary
    why = _why(p)
    if why == "unknown_bot":
        return f"not checked again: no data of this bot since the monitor restarted; last known: {summary}"
    if why == "forgotten":
        return f"{FORGOTTEN_NOTE}; last known: {summary}"
    return str(p.get("resolved_summary") or f"condition no longer holds; last seen: {summary}")


def kind_word(p: Mapping) -> str:
    """The state as a message says it; a resolve that a restart decided says so."""
    why = _why(p)
    if why in RESTART_WORDS:
        return RESTART_WORDS[why]
    return KIND_WORDS.get(str(p.get("kind")), str(p.get("kind")).upper())


def restart_note(p: Mapping) -> str | None:
    """The plain facts of a resolve decided at a restart: when the monitor stopped and came back.

    Never an all-clear it cannot vouch for: a bot the restarted monitor knows nothing
    about is named as unverified, with what to check.
    """
    info = p.get("after_restart") or {}
    why, bot = info.get("why"), p.get("bot")
    if why == "forgotten":
        return FORGOTTEN_NOTE
    back = at(info.get("restarted_at"), p)
    stopped = info.get("stopped_at")
    down = (
        f"the monitor stopped at about {at(stopped, p)} and restarted at {back}"
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


def headline(p: Mapping) -> str:
    """``[CRITICAL] FIRING b1: circuit breaker OPEN (was closed)``: severity, state, bot, the fact."""
    return one_line(
        f"[{str(p.get('severity', '?')).upper()}] {kind_word(p)} {scope(p.get('bot'))}: "
        f"{trim(what(p), SUMMARY_MAX)}"
    )


def detail_lines(p: Mapping) -> list[str]:
    """Plain-text facts beyond the headline: the rule, since when, the restart note, ack, the alert id."""
    lines = [f"rule: {rule_title(p)}"]
    since = p.get("fired_at") or p.get("since")
    if p.get("kind") == "resolved":
        if p.get("resolved_summary") or not _why(p):
            lines.append(f"last seen firing: {trim(str(p.get('summary') or ''), SUMMARY_MAX)}")
        ended = p.get("resolved_at")
        took = f" (after {duration(ended - since)})" if ended is not None and since is not None else ""
        lines.append(f"firing since {at(since, p)}, resolved {at(ended, p)}{took}")
        note = restart_note(p)
        if note and _why(p) != "forgotten":  # a forgotten bot: the headline says it already
            lines.append(note)
    elif p.get("kind") != "test":
        lines.append(
            f"firing since {at(since, p)} (for {duration((p.get('now') or since or 0) - (since or 0))})"
        )
    if p.get("acked_by"):
        lines.append(f"acknowledged by {p['acked_by']}")
    lines.append(f"alert id {p.get('alert_id')}")
    return [one_line(x) for x in lines]


def counts(payloads: list[dict]) -> str:
    """``1 critical, 2 warning``: how many of each severity, most severe first."""
    n = {s: sum(1 for p in payloads if p.get("severity") == s) for s in reversed(SEVERITIES)}
    return ", ".join(f"{c} {s}" for s, c in n.items() if c)


def subject(payloads: list[dict]) -> str:
    """One alert: its headline.  A digest: how many of each severity, then the most severe one."""
    if len(payloads) == 1:
        return one_line(trim(headline(payloads[0]), 200))
    ps = ordered(payloads)
    return one_line(trim(f"{len(ps)} alerts ({counts(ps)}): {headline(ps[0])}", 200))


def plain_text(payloads: list[dict], dashboard_url: str) -> str:
    parts = []
    for p in ordered(payloads):
        parts.append("\n".join([headline(p), *("  " + x for x in detail_lines(p))]))
    return "\n\n".join(parts) + f"\n\nDashboard: {dashboard_url}\n"
