"""The Alerts tab's commands: Acknowledge, Test Alert and Save.

Every command goes to the operator facade (app/operator.py) through
:class:`AlertsOperator`, with the actor ``"dashboard"``: the facade records it in the
alert history and enforces what must hold whichever front end asks (the Test Alert
cooldown).  Acknowledge is the alert engine's ack: it stops escalation and repeats --
it is not a trading control; nothing here talks to a bot.  Save hands the form's
values to the configuration's owner, which validates, writes settings.yaml atomically
and applies it.  A Test Alert's per-channel results are then read by the page for at
most :data:`TEST_WATCH_S`: command feedback, not a data feed.

Every error text shown comes from the delivery workers, which scrub configured secrets out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from dash import html

from alerts.channels import registry as channel_registry
from alerts.read_model import ChannelResult
from app.actions import DASHBOARD, TestSent
from app.dashboard import form_parse, form_render
from app.dashboard.alerts_sections import AlertsView, channel_text, zone_of
from app.settings_changes import Reconfigurable

#: A channel with no row yet: the test is on its way.
SENDING = ChannelResult(state="sending")

TEST_WATCH_S = 12.0  # how long the page follows a test's results


class AlertsOperator(AlertsView, Reconfigurable, Protocol):
    """What the Alerts tab may ask of the operator facade: its reads, its commands, the settings form's."""

    def acknowledge(self, alert_id: str, actor: str) -> bool: ...

    def send_test(self, actor: str, channel: str | None = None) -> TestSent: ...

    def send_report_now(self, actor: str) -> str: ...

    def test_results(self, test_id: str) -> dict[str, ChannelResult]: ...

    def channel_kinds(self) -> dict[str, str]: ...


class AlertCommands:
    """The command side of the Alerts tab (a mixin of :class:`~app.dashboard.alerts_tab.AlertsTab`)."""

    alerts: AlertsOperator
    clock: Callable[[], float]

    def timezone_in_force(self) -> str | None:
        """The zone the running store counts days in (a saved change waits for the next start)."""
        return self.alerts.timezone

    # ---- commands ---------------------------------------------------------------------
    def ack(self, alert_id: str) -> str:
        if self.alerts.acknowledge(alert_id, DASHBOARD):
            return f"Alert {alert_id} acknowledged: no more repeats or escalation."
        return f"Alert {alert_id} is not firing any more (nothing to acknowledge)."

    def send_test(self, channel: str | None = None) -> tuple[dict | None, str]:
        """(run to watch, message). Refused (by the facade) within the cooldown, or with no channel."""
        sent = self.alerts.send_test(DASHBOARD, channel)
        if sent.test_id is None:
            return None, sent.refused
        return {"id": sent.test_id, "channels": list(sent.channels), "at": self.clock()}, ""

    def send_report(self) -> str:
        """Today's figures so far to the report channels now (refused by the facade within its cooldown)."""
        return self.alerts.send_report_now(DASHBOARD)

    def test_report(self, run: dict) -> tuple[list, bool]:
        """(lines to show, finished?) for a test run."""
        results = self.alerts.test_results(run["id"])
        kinds = self.alerts.channel_kinds()
        zone = zone_of(self.alerts.timezone)
        lines, done = [], True
        for name in run["channels"]:
            res = results.get(name, SENDING)
            text, cls = channel_text(res, zone, self.clock())
            label = channel_label(name, kinds.get(name, name))
            lines.append(
                html.Li([html.Strong(label + ": "), html.Span(text, className=cls)], id=f"atab-test-{name}")
            )
            done = done and res.state in ("delivered", "failed", "dead-lettered")
        late = self.clock() - run["at"] > TEST_WATCH_S
        return lines, done or late

    def form_children(self) -> list:
        doc = self.alerts.settings_document()
        return form_render.render(doc, self.alerts.resolved_settings(doc), self.timezone_in_force())

    def save(self, values: dict[str, Any]) -> tuple[dict[str, str], str, bool]:
        """(field errors, message, saved?). Invalid -> nothing written, nothing applied.

        The message says everything the trader must know of what was saved: a threshold
        kept while its rule is off, a timezone that waits for the next start.
        """
        doc = self.alerts.settings_document()
        parsed = form_parse.parse(values, doc)
        if parsed.errors:
            n = len(parsed.errors)
            return parsed.errors, f"Not saved: fix the {n} field{'s' if n > 1 else ''} marked in red.", False
        applied = self.alerts.apply_settings(parsed.changes, parsed.secrets, DASHBOARD)
        key = form_parse.error_field(applied.key, doc) if applied.key is not None else None
        message = applied.message
        if applied.saved:
            message = " ".join([message, *save_remarks(parsed, self.timezone_in_force())])
        return ({key: applied.reason} if key else {}), message, applied.saved


def channel_label(name: str, kind: str) -> str:
    """``Slack`` for a channel named after its type, else ``ops (Slack)``."""
    label = channel_registry.label(kind)
    return label if name == kind else f"{name} ({label})"


def save_tone(saved: bool, message: str) -> str:
    """pos (saved), warn (saved, with a note the trader must read), neg (not saved)."""
    if not saved:
        return "neg"
    return "warn" if "Note:" in message or "next start" in message or "could not" in message else "pos"


def save_remarks(parsed: form_parse.Parsed, timezone_in_force: str | None) -> list[str]:
    """What a successful save must also say: values kept but not checked, a timezone waiting for a restart."""
    out = [f"Note: {note}." for note in parsed.notes.values()]
    zone = next((v for path, v in parsed.changes if path == ("metrics", "timezone")), None)
    if isinstance(zone, str) and zone != timezone_in_force:
        out.append(
            f"Timezone {zone} takes effect at the next start (until then: {timezone_in_force or 'UTC'})."
        )
    return out
