"""The operator facade: the one way in for every operator action, whichever front end asks.

The page, the API and any later front end (a chat bot) call only :class:`Operator`,
each through the narrow Protocol it declares for its own need.  Every action takes
its *actor* (``"dashboard"``, ``"api"``, ``"telegram:<user id>"``: app/actions.py)
and is recorded with it: an acknowledgement's "by", a forget's resolve notice and a
Test Alert's entry in the alert history name who acted and from where.  Rules that
must hold whoever asks (the Test Alert cooldown) live here, not in a front end.

Built and owned by the composition root (app/runtime.py), next to the settings'
owner it hands ``apply_settings`` to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from alerts.config import AlertsSettings
from alerts.notification import Report
from alerts.read_model import ChannelResult
from alerts.service import AlertService
from alerts.silences import Silence, SilenceOutcome
from alerts.snapshot import AlertSnapshot
from app.actions import Cooldown, TestSent
from app.hub import Hub
from app.report_scheduler import DailyReports
from app.settings_changes import Applied, Change
from common.logline import line
from core.documents import MetricsDocument, StateDocument

log = logging.getLogger(__name__)

#: A second Test Alert within this is refused (per channel for the per-channel buttons).
TEST_COOLDOWN_S = 10.0


class SettingsOwner(Protocol):
    """The owner of the running configuration (the composition root): reads, validates, writes, applies."""

    def settings_document(self) -> dict[str, Any]: ...

    def resolved_settings(self, doc: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def apply_settings(
        self, changes: Iterable[Change], secrets: Mapping[str, str] | None = None, *, actor: str
    ) -> Applied: ...


class Operator:
    """Acknowledge, forget a bot, send a test, silence, apply settings; and the read-only answers.

    A silence records its actor as its author (and an early end's as ``expired_by``);
    the page shows an alert it mutes as "silenced until ..., by <actor>".
    """

    def __init__(
        self,
        alerts: AlertService,
        hub: Hub,
        settings: SettingsOwner | None,
        *,
        timezone: str,
        clock: Callable[[], float] = time.monotonic,
        test_cooldown_s: float = TEST_COOLDOWN_S,
        reports: DailyReports | None = None,
    ) -> None:
        self._alerts, self._hub, self._settings = alerts, hub, settings
        self._timezone = timezone
        self.test_cooldown = Cooldown(test_cooldown_s, clock)
        self._reports = reports or DailyReports(alerts, hub, timezone)

    # ---- actions ------------------------------------------------------------------------
    def acknowledge(self, alert_id: str, actor: str) -> bool:
        """Stop a firing alert's repeats and escalation, recording ``actor`` as who acknowledged it."""
        return self._alerts.ack(alert_id, actor)

    def forget_bot(self, bot: str, actor: str) -> str:
        """Drop ``bot`` from the state (journaled), then close its alerts; a sentence saying what happened.

        The store first, so no evaluation after this can see the bot and raise its
        alerts again; the resolve notices of its alerts name ``actor``.
        """
        known = self._hub.forget(bot)
        closed = self._alerts.forget(bot, by=actor)
        log.warning(line("bot_forgotten", bot=bot, known=known, alerts_closed=closed, by=actor))
        if not known and not closed:
            return f"{bot} is not known to the monitor"
        return f"{bot} forgotten; {closed} alert(s) closed"

    def send_test(self, actor: str, channel: str | None = None) -> TestSent:
        """A test notification to ``channel`` (default: every channel), refused within the cooldown."""
        kinds = self._alerts.channel_kinds()
        if channel is None and not kinds:
            return TestSent(None, refused="No channel configured (save the channel first).")
        if channel is not None and channel not in kinds:
            return TestSent(None, refused=f"Channel {channel} is not configured (save it first).")
        wait = self.test_cooldown.take(channel or "*")
        if wait > 0:
            seconds = self.test_cooldown.seconds
            return TestSent(
                None, refused=f"Test refused: one was sent less than {seconds:g} s ago; wait {wait:.0f} s."
            )
        names = list(kinds) if channel is None else [channel]
        return TestSent(self._alerts.send_test(names, by=actor), tuple(names))

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float, comment: str, actor: str
    ) -> SilenceOutcome:
        """Mute the notices of (bot, rule, severity), each a name or ``*``, for ``duration_s``.

        Written to the alert store before this returns; refused (with the sentence
        saying why) when it would match everything, has no end or too long a one, or
        names an unknown rule or severity.
        """
        return self._alerts.silence(bot, rule, severity, duration_s, comment, actor)

    def silence_alert(
        self, alert_id: str, duration_s: float, actor: str, comment: str = ""
    ) -> SilenceOutcome:
        """Silence one open alert: its bot and its rule, any severity."""
        alert = next((a for a in self._alerts.active() if a.alert_id == alert_id), None)
        if alert is None:
            return SilenceOutcome(None, refused=f"No open alert {alert_id}.")
        return self.silence(alert.bot, alert.rule, "*", duration_s, comment, actor)

    def unsilence(self, silence_id: str, actor: str) -> bool:
        """End an active silence now (``actor`` recorded as who expired it); False if none such."""
        return self._alerts.unsilence(silence_id, actor)

    def silences(self) -> tuple[Silence, ...]:
        """The silences listed: active first (soonest end first), then those ended within 5 days."""
        return self._alerts.silences()

    def apply_settings(
        self, changes: Iterable[Change], secrets: Mapping[str, str] | None, actor: str
    ) -> Applied:
        """Validate, write and apply a settings change like start-up would (the owner's rules)."""
        return self._owner().apply_settings(changes, secrets, actor=actor)

    def send_report_now(self, actor: str) -> str:
        """Today's figures so far to the report channels (a ``report`` notification); a sentence saying so.

        ``actor`` is recorded with it (the history's "by").  Unlike the daily report it has
        no key of its own: each press sends one, at most one per Test Alert cooldown, whichever
        front end presses.
        """
        channels = self._reports.channels()
        if not channels:
            return "No report channel configured (reports.daily.channels, or the warning route's)."
        wait = self.test_cooldown.take("report:")  # the Test Alert's cooldown; no channel name has a colon
        if wait > 0:
            seconds = self.test_cooldown.seconds
            return f"Report refused: one was sent less than {seconds:g} s ago; wait {wait:.0f} s."
        report_id = self._reports.send_so_far(actor)
        log.info(line("report_sent_now", by=actor, report_id=report_id, channels=",".join(channels)))
        return f"Report sent to {', '.join(channels)}."

    # ---- read-only answers ----------------------------------------------------------------
    def report_so_far(self) -> Report:
        """Today's figures so far, as the daily report words them (the chat's ``/report``)."""
        return self._reports.so_far()

    def settings_document(self) -> dict[str, Any]:
        return self._owner().settings_document()

    def resolved_settings(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._owner().resolved_settings(doc)

    @property
    def can_reconfigure(self) -> bool:
        """False when running on built-in defaults: there is no settings file to change."""
        return self._settings is not None

    @property
    def timezone(self) -> str:
        """The ``metrics.timezone`` in force (fixed for the run: a saved change waits for the next start)."""
        return self._timezone

    @property
    def stale_after_s(self) -> float:
        """The liveness threshold in force (a settings change moves it live)."""
        return self._hub.stale_after_s

    def alert_settings(self) -> AlertsSettings:
        """The alert rules, routes and channels in force."""
        return self._alerts.settings

    def channel_kinds(self) -> dict[str, str]:
        """Configured channel name -> its type (``slack``, ``telegram``...), in settings order."""
        return self._alerts.channel_kinds()

    def test_results(self, test_id: str) -> dict[str, ChannelResult]:
        return self._alerts.test_results(test_id)

    def snapshot(self) -> AlertSnapshot:
        return self._alerts.snapshot()

    def metrics(self) -> MetricsDocument:
        """The metrics document as ``/api/metrics`` serves it (a chat front end reads it too)."""
        return self._hub.metrics()

    def state(self, bot: str) -> StateDocument | None:
        """One bot's state document (positions, orders...); None for an unknown bot."""
        return self._hub.state(bot)

    def _owner(self) -> SettingsOwner:
        if self._settings is None:
            raise RuntimeError("running on built-in defaults: there is no settings file to change")
        return self._settings
