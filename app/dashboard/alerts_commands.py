"""The Alerts tab's commands: Acknowledge, Test Alert and Save.

Acknowledge is the alert engine's ack: it stops escalation and repeats -- it is not a
trading control; nothing here talks to a bot.  Save hands the form's values to the
configuration's owner through :class:`~app.settings_changes.Reconfigurable`, which
validates, writes settings.yaml atomically and applies it.  Test Alert enqueues a test
notification through the real outbox and workers; its per-channel results are then read
by the page for at most :data:`TEST_WATCH_S`: command feedback, not a data feed.

Every error text shown comes from the delivery workers, which scrub configured secrets out of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from dash import html

from alerts.channels import registry as channel_registry
from alerts.read_model import ChannelResult
from app.dashboard import form_parse, form_render
from app.dashboard.alerts_sections import channel_text, zone_of
from app.settings_changes import Reconfigurable

#: A channel with no row yet: the test is on its way.
SENDING = ChannelResult(state="sending")

TEST_COOLDOWN_S = 10.0  # a second Test Alert within this is refused (per channel for the per-channel buttons)
TEST_WATCH_S = 12.0  # how long the page follows a test's results


class Cooldown:
    """At most one press per ``seconds`` per key, across every open page (server-side)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when allowed (and recorded), else the seconds still to wait."""
        with self._lock:
            now = self.clock()
            wait = self._last.get(key, -1e18) + self.seconds - now
            if wait > 0:
                return wait
            self._last[key] = now
            return 0.0


class AlertCommands:
    """The command side of the Alerts tab (a mixin of :class:`~app.dashboard.alerts_tab.AlertsTab`)."""

    service: Any
    settings: Reconfigurable
    hub: Any
    clock: Callable[[], float]
    cooldown: Cooldown

    def timezone_in_force(self) -> str | None:
        """The zone the running store counts days in (a saved change waits for the next start)."""
        if self.hub is None:
            return None
        return str(self.hub.under_lock(lambda store: store.config.metrics.timezone))

    # ---- commands ---------------------------------------------------------------------
    def ack(self, alert_id: str) -> str:
        if self.service.ack(alert_id, "dashboard"):
            return f"Alert {alert_id} acknowledged: no more repeats or escalation."
        return f"Alert {alert_id} is not firing any more (nothing to acknowledge)."

    def send_test(self, channel: str | None = None) -> tuple[dict | None, str]:
        """(run to watch, message). Refused within the cooldown, or with no channel configured."""
        names = list(self.service.channels) if channel is None else [channel]
        if not names or (channel is not None and channel not in self.service.channels):
            return (
                None,
                "No channel configured (save the channel first)."
                if channel is None
                else f"Channel {channel} is not configured (save it first).",
            )
        wait = self.cooldown.take(channel or "*")
        if wait > 0:
            return None, f"Test refused: one was sent less than {TEST_COOLDOWN_S:g} s ago; wait {wait:.0f} s."
        test_id = self.service.send_test(names)
        return {"id": test_id, "channels": names, "at": self.clock()}, ""

    def test_report(self, run: dict) -> tuple[list, bool]:
        """(lines to show, finished?) for a test run."""
        results = self.service.test_results(run["id"])
        kinds = {n: getattr(c.cfg, "type", n) for n, c in self.service.channels.items()}
        lines, done = [], True
        for name in run["channels"]:
            res = results.get(name, SENDING)
            text, cls = channel_text(res, zone_of(self.hub), self.clock())
            label = channel_label(name, kinds.get(name, name))
            lines.append(
                html.Li([html.Strong(label + ": "), html.Span(text, className=cls)], id=f"atab-test-{name}")
            )
            done = done and res.state in ("delivered", "failed", "dead-lettered")
        late = self.clock() - run["at"] > TEST_WATCH_S
        return lines, done or late

    def form_children(self) -> list:
        doc = self.settings.settings_document()
        return form_render.render(doc, self.settings.resolved_settings(doc), self.timezone_in_force())

    def save(self, values: dict[str, Any]) -> tuple[dict[str, str], str, bool]:
        """(field errors, message, saved?). Invalid -> nothing written, nothing applied.

        The message says everything the trader must know of what was saved: a threshold
        kept while its rule is off, a timezone that waits for the next start.
        """
        doc = self.settings.settings_document()
        parsed = form_parse.parse(values, doc)
        if parsed.errors:
            n = len(parsed.errors)
            return parsed.errors, f"Not saved: fix the {n} field{'s' if n > 1 else ''} marked in red.", False
        applied = self.settings.apply_settings(parsed.changes, parsed.secrets)
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
