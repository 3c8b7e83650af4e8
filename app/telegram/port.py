"""What the Telegram front end needs of the operator facade: its own narrow Protocol.

Like the page's ``BotAdmin`` and the API's ``Acknowledger``, the chat front end names
only what it calls; the composition root hands it ``app.operator.Operator``, which
satisfies it structurally.  Every action takes the actor ``telegram:<user id>``
(``app.actions.telegram``), recorded with it in the alert history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from alerts.notification import Report
    from alerts.silences import Silence, SilenceOutcome
    from alerts.snapshot import AlertSnapshot
    from core.documents import MetricsDocument, StateDocument


class TelegramOperator(Protocol):
    """Reads (documents, alert read model, silences, zone) and actions (acknowledge, silence)."""

    @property
    def timezone(self) -> str: ...

    def metrics(self) -> MetricsDocument: ...

    def state(self, bot: str) -> StateDocument | None: ...

    def snapshot(self) -> AlertSnapshot: ...

    def acknowledge(self, alert_id: str, actor: str) -> bool: ...

    def silence(
        self, bot: str, rule: str, severity: str, duration_s: float, comment: str, actor: str
    ) -> SilenceOutcome: ...

    def silence_alert(
        self, alert_id: str, duration_s: float, actor: str, comment: str = ""
    ) -> SilenceOutcome: ...

    def unsilence(self, silence_id: str, actor: str) -> bool: ...

    def silences(self) -> tuple[Silence, ...]: ...

    def report_so_far(self) -> Report: ...
