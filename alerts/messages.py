"""Per-channel message formatting.

Pure functions from notification payloads (dicts written into the outbox) to what
each service accepts: Slack blocks, Telegram HTML, e-mail subject + text + HTML,
a 160-character SMS, a JSON webhook body.  A list of payloads is a digest (many
alerts at once, batched rather than dropped).  Every text a bot supplied is escaped
for the target markup and trimmed *before* markup is added, so a limit can never
cut a tag in half.
"""

from __future__ import annotations

import html
import time
from typing import Any

SUMMARY_MAX = 500  # raw characters of a bot-supplied text kept in any message
SLACK_SECTION_MAX = 3000
SLACK_MAX_BLOCKS = 50
TELEGRAM_MAX = 4096
SMS_MAX = 160

KIND_WORDS = {
    "firing": "FIRING",
    "repeat": "STILL FIRING",
    "escalation": "ESCALATED",
    "failover": "FAILOVER",
    "resolved": "RESOLVED",
    "test": "TEST",
}
SEV_ORDER = {"critical": 0, "warning": 1, "info": 2}
SEV_ICON = {"critical": "\U0001f6a8", "warning": "\u26a0\ufe0f", "info": "\u2139\ufe0f"}


def trim(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def ordered(payloads: list[dict]) -> list[dict]:
    """Critical first: in a digest the most severe alerts are read first."""
    return sorted(payloads, key=lambda p: (SEV_ORDER.get(p.get("severity"), 3), p.get("fired_at") or 0))


def utc(ts: float | None) -> str:
    if ts is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def headline(p: dict) -> str:
    """``[CRITICAL] FIRING b1: kill switch TRIGGERED``: severity, state, bot, what."""
    labels = "".join(f" {k}={v}" for k, v in (p.get("labels") or {}).items())
    return (
        f"[{str(p.get('severity', '?')).upper()}] {KIND_WORDS.get(p.get('kind'), p.get('kind'))} "
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
    else:
        lines.append(f"since {utc(since)} ({duration((p.get('now') or since or 0) - (since or 0))})")
    if p.get("acked_by"):
        lines.append(f"acknowledged by {p['acked_by']}")
    lines.append(f"rule {p.get('rule')} - alert {p.get('alert_id')}")
    return lines


def subject(payloads: list[dict]) -> str:
    if len(payloads) == 1:
        return trim(headline(payloads[0]), 200)
    ps = ordered(payloads)
    crit = sum(1 for p in ps if p.get("severity") == "critical")
    return trim(f"{len(ps)} alerts ({crit} critical): {headline(ps[0])}", 200)


def plain_text(payloads: list[dict], dashboard_url: str) -> str:
    parts = []
    for p in ordered(payloads):
        parts.append("\n".join([headline(p), *("  " + x for x in detail_lines(p))]))
    return "\n\n".join(parts) + f"\n\nDashboard: {dashboard_url}\n"


# ---- Slack --------------------------------------------------------------
def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(payloads: list[dict], dashboard_url: str) -> dict:
    """Slack Block Kit: one section per alert (<= 3000 chars each), <= 50 blocks."""
    ps = ordered(payloads)
    blocks: list[dict[str, Any]] = []
    if len(ps) > 1:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": trim(subject(ps), 150)}})
    room = SLACK_MAX_BLOCKS - len(blocks) - 2
    for p in ps[:room]:
        icon = SEV_ICON.get(p.get("severity"), "")
        body = f"{icon} *{_slack_escape(headline(p))}*\n" + "\n".join(
            _slack_escape(x) for x in detail_lines(p)
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SLACK_SECTION_MAX]}})
    if len(ps) > room:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"... and {len(ps) - room} more on the dashboard"},
            }
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{dashboard_url}|Open the dashboard>"}]}
    )
    return {"text": trim(subject(ps), 3000), "blocks": blocks}


# ---- Telegram -----------------------------------------------------------
def _telegram_block(p: dict) -> str:
    icon = SEV_ICON.get(p.get("severity"), "")
    head = html.escape(headline(p), quote=False)
    facts = "\n".join(html.escape(x, quote=False) for x in detail_lines(p))
    return f"{icon} <b>{head}</b>\n{facts}"


def telegram(payloads: list[dict], dashboard_url: str) -> str:
    """One Telegram HTML message <= 4096 characters: whole alert blocks, then "... and N more".

    One message per digest keeps a flood within Telegram's per-chat rate limit;
    blocks are added whole, so the limit never cuts a tag.
    """
    link = f'\n<a href="{html.escape(dashboard_url)}">Open the dashboard</a>'
    ps = ordered(payloads)
    text, used = "", 0
    for p in ps:
        block = _telegram_block(p)
        candidate = f"{text}\n\n{block}" if text else block
        if text and len(candidate) + len(link) + 40 > TELEGRAM_MAX:
            break
        text, used = candidate, used + 1
    if used < len(ps):
        text += f"\n\n... and {len(ps) - used} more on the dashboard"
    return text + link


# ---- E-mail -------------------------------------------------------------
def email(payloads: list[dict], dashboard_url: str) -> tuple[str, str, str]:
    """(subject, text body, HTML body)."""
    rows = []
    for p in ordered(payloads):
        color = {"critical": "#c0392b", "warning": "#d68910"}.get(p.get("severity"), "#2471a3")
        facts = "<br>".join(html.escape(x) for x in detail_lines(p))
        rows.append(
            f'<div style="border-left:4px solid {color};padding:4px 8px;margin:8px 0">'
            f"<b>{html.escape(headline(p))}</b><br>{facts}</div>"
        )
    body = "".join(rows) + f'<p><a href="{html.escape(dashboard_url)}">Open the dashboard</a></p>'
    return subject(payloads), plain_text(payloads, dashboard_url), f"<html><body>{body}</body></html>"


# ---- SMS ----------------------------------------------------------------
def _ascii(text: str) -> str:
    """GSM-safe: non-ASCII would switch the SMS to UCS-2 and cut the limit to 70 characters."""
    return text.encode("ascii", "replace").decode()


def sms(payloads: list[dict], dashboard_url: str) -> str:
    ps = ordered(payloads)
    if len(ps) == 1:
        p = ps[0]
        text = (
            f"{str(p.get('severity')).upper()} {KIND_WORDS.get(p.get('kind'), '')} {p.get('bot')}: "
            f"{p.get('summary', '')}"
        )
    else:
        crit = sum(1 for p in ps if p.get("severity") == "critical")
        text = f"{len(ps)} alerts ({crit} critical). First: {ps[0].get('bot')}: {ps[0].get('summary', '')}"
    text = _ascii(" ".join(text.split()))
    tail = _ascii(f" {dashboard_url}")
    if len(text) + len(tail) <= SMS_MAX:
        return text + tail
    return trim(text, SMS_MAX - 3)[: SMS_MAX - 3].rstrip("\u2026") + "..."


# ---- Webhook ------------------------------------------------------------
def webhook(payload: dict, idem: str, dashboard_url: str) -> dict:
    """The generic JSON body: stable field names, one alert per request."""
    return {
        "version": 1,
        "idempotency_key": idem,
        "dashboard_url": dashboard_url,
        "text": headline(payload),
        "alert": payload,
    }
