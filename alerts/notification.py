"""What a notification is (its kind) and how each kind is worded: one renderer per kind.

Every message the monitor sends has a *kind*: ``alert`` (an alert's firing, repeat,
escalation, failover or resolve), ``test`` (Test Alert on the Alerts tab: proves a
channel works, about no rule) and ``report`` (a typed report body: a title and
lines of label/value, for the daily report).  A new kind is one entry in
:data:`KINDS` and one :class:`Renderer` in :data:`RENDERERS`; channels never
look at the kind themselves: they ask :func:`renderer` for the words (the text
format: a headline and detail lines, which each channel escapes and lays out) or
for the JSON body (the webhook format).

Pure: payload in, words out.  Older stored rows carry no ``notification`` field;
:func:`kind_of` reads them as they were meant (a Test Alert's row said
``kind: test``, every other row was an alert).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, get_args

import msgspec

from alerts import messages

#: The kinds of notification; the payload field ``notification`` holds one.
Kind = Literal["alert", "test", "report"]
KINDS: tuple[str, ...] = get_args(Kind)
#: The event of a test notification (the row's ``kind`` column, the history's state).
TEST_EVENT = "test"
TEST_SUMMARY = "test alert: if you read this, this channel works"
#: The event of a state re-send to a stateful channel (alerts/state_refresh.py): says nothing new.
REFRESH_EVENT = "refresh"


class ReportLine(msgspec.Struct, frozen=True):
    """One line of a report: what it is, and its value as already-worded text."""

    label: str
    value: str


class Report(msgspec.Struct, frozen=True):
    """A report body: a title and its lines (the daily report is one)."""

    title: str
    lines: tuple[ReportLine, ...] = ()


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One notice on its way to the outbox gate: one row per channel destination comes of it.

    ``key`` makes it unique (``subject:event:n``: the idempotency key's prefix);
    ``subject`` is the alert id, test id or report id the rows belong to.
    """

    kind: Kind
    key: str
    subject: str
    event: str
    severity: str
    channels: tuple[str, ...]
    payload: Mapping[str, Any]


def kind_of(payload: Mapping[str, Any]) -> str:
    """The notification kind of a stored payload (rows written before kinds existed included)."""
    kind = payload.get("notification")
    if kind in KINDS:
        return str(kind)
    return "test" if payload.get("kind") == TEST_EVENT else "alert"


class Renderer(Protocol):
    """How one kind is worded, in each format a channel uses."""

    def headline(self, p: Mapping[str, Any]) -> str: ...
    def lines(self, p: Mapping[str, Any]) -> list[str]: ...
    def what(self, p: Mapping[str, Any]) -> str: ...
    def state(self, p: Mapping[str, Any]) -> str: ...
    def title(self, p: Mapping[str, Any]) -> str: ...


class AlertRenderer:
    """An alert's notice: the wording of ``alerts/messages.py``."""

    def headline(self, p: Mapping[str, Any]) -> str:
        return messages.headline(p)

    def lines(self, p: Mapping[str, Any]) -> list[str]:
        return messages.detail_lines(p)

    def what(self, p: Mapping[str, Any]) -> str:
        return messages.what(p)

    def state(self, p: Mapping[str, Any]) -> str:
        return messages.kind_word(p)

    def title(self, p: Mapping[str, Any]) -> str:
        return messages.rule_title(p)


class TestRenderer:
    """Test Alert: says which monitor sent it and that the channel works; names no rule."""

    __test__ = False  # not a pytest class

    def headline(self, p: Mapping[str, Any]) -> str:
        return messages.one_line(f"[INFO] TEST {messages.MONITOR_NAME}: {self.what(p)}")

    def lines(self, p: Mapping[str, Any]) -> list[str]:
        return [f"sent {messages.utc(p.get('now'))}", f"test id {messages.one_line(p.get('alert_id'))}"]

    def what(self, p: Mapping[str, Any]) -> str:
        return messages.one_line(p.get("summary") or TEST_SUMMARY)

    def state(self, p: Mapping[str, Any]) -> str:
        return "TEST"

    def title(self, p: Mapping[str, Any]) -> str:
        return "Test alert"


class ReportRenderer:
    """A report: its title as the headline, one ``label: value`` line per report line."""

    def headline(self, p: Mapping[str, Any]) -> str:
        return messages.one_line(messages.trim(f"[REPORT] {self.title(p)}", messages.SUMMARY_MAX))

    def lines(self, p: Mapping[str, Any]) -> list[str]:
        report = _report(p)
        return [
            messages.one_line(messages.trim(f"{x.label}: {x.value}", messages.SUMMARY_MAX))
            for x in report.lines
        ]

    def what(self, p: Mapping[str, Any]) -> str:
        return self.title(p)

    def state(self, p: Mapping[str, Any]) -> str:
        return "REPORT"

    def title(self, p: Mapping[str, Any]) -> str:
        return messages.one_line(_report(p).title)


def _report(p: Mapping[str, Any]) -> Report:
    """The report body of a payload; a malformed one is a report that says so (never a crash)."""
    try:
        return msgspec.convert(p.get("report"), Report)
    except (msgspec.ValidationError, TypeError):
        return Report("report (unreadable body)")


#: kind -> its renderer: a new kind of notification is one entry here.
RENDERERS: dict[str, Renderer] = {
    "alert": AlertRenderer(),
    "test": TestRenderer(),
    "report": ReportRenderer(),
}


def renderer(p: Mapping[str, Any]) -> Renderer:
    """The renderer of a payload's kind."""
    return RENDERERS[kind_of(p)]


# ---- the text format (Slack, Telegram, e-mail, SMS lay these out) -------------------------------
def headline(p: Mapping[str, Any]) -> str:
    return renderer(p).headline(p)


def lines(p: Mapping[str, Any]) -> list[str]:
    return renderer(p).lines(p)


def what(p: Mapping[str, Any]) -> str:
    return renderer(p).what(p)


def state(p: Mapping[str, Any]) -> str:
    return renderer(p).state(p)


def icon(p: Mapping[str, Any]) -> str:
    """The severity icon a chat message starts with (and its space); none for a report: not an alert."""
    sign = "" if kind_of(p) == "report" else messages.SEV_ICON.get(p.get("severity"), "")
    return f"{sign} " if sign else ""


def subject(payloads: list[dict]) -> str:
    """One notification: its headline.  A digest: how many of each severity, then the most severe."""
    if len(payloads) == 1:
        return messages.one_line(messages.trim(headline(payloads[0]), 200))
    ps = messages.ordered(payloads)
    text = f"{len(ps)} alerts ({messages.counts(ps)}): {headline(ps[0])}"
    return messages.one_line(messages.trim(text, 200))


def plain_text(payloads: list[dict], dashboard_url: str) -> str:
    """Every notification of a digest as plain text, most severe first, then the dashboard's link."""
    parts = ["\n".join([headline(p), *("  " + x for x in lines(p))]) for p in messages.ordered(payloads)]
    return "\n\n".join(parts) + f"\n\nDashboard: {dashboard_url}\n"


# ---- the JSON format (webhook) ------------------------------------------------------------------
def json_body(p: Mapping[str, Any], idem: str, dashboard_url: str) -> dict[str, Any]:
    """The webhook body: stable field names, one notification per request, its kind named."""
    r = renderer(p)
    body: dict[str, Any] = {
        "version": 1,
        "kind": kind_of(p),
        "idempotency_key": idem,
        "dashboard_url": dashboard_url,
        "text": r.headline(p),
        "what": r.what(p),
        "alert": dict(p),
    }
    if kind_of(p) == "report":
        body["lines"] = r.lines(p)
    return body
