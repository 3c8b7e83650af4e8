"""What each command and button does: through the operator facade only, worded by app/telegram/replies.py.

No socket and no thread here: the poller (app/telegram/poller.py) hands a parsed
command or a decoded button press and the actor, and gets back the text to send.
Reads take the typed documents and the alert read model from the facade; actions
(acknowledge) go to the facade with the actor ``telegram:<user id>``, so a Telegram
acknowledgement stops escalation exactly as one from the dashboard does, and the
history shows who and from where.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alerts.buttons import Press
from alerts.read_model import ActiveAlert
from alerts.states import FIRING
from app.telegram import replies
from app.telegram.commands import Command, duration_s, help_text, usage
from app.telegram.port import TelegramOperator
from app.telegram.text import esc
from core import present


@dataclass(frozen=True, slots=True)
class PressOutcome:
    """A button press: the short answer shown to the presser, and the note appended to the message.

    ``note`` is None when nothing changed (a second press, a resolved alert): the
    message stays as it is.
    """

    answer: str
    note: str | None = None


class Dispatcher:
    """Answers commands and button presses for one operator facade."""

    def __init__(self, operator: TelegramOperator, clock: Callable[[], float] = time.time) -> None:
        self._op = operator
        self._clock = clock
        self._zone = ZoneInfo(operator.timezone)

    def _now(self) -> replies.Clock:
        return replies.Clock(self._clock(), self._zone)

    def answer(self, cmd: Command, actor: str) -> str:
        """The reply to a parsed command (Telegram HTML, escaped)."""
        handler = self._handlers().get(cmd.name)
        if handler is None:
            return esc(usage(cmd.name))
        return handler(cmd.args, actor)

    def _handlers(self) -> dict[str, Callable[[tuple[str, ...], str], str]]:
        """Command name -> what answers it (app/telegram/commands.py names and checks the arguments)."""
        return {
            "status": self._status,
            "pnl": self._pnl,
            "positions": self._positions,
            "alerts": self._alerts,
            "health": self._health,
            "ack": self._ack_command,
            "silence": self._silence,
            "silences": self._silences,
            "unsilence": self._unsilence,
            "report": self._report,
            "help": self._help,
        }

    # ---- reading commands ------------------------------------------------------------------
    def _status(self, _args: tuple[str, ...], _actor: str) -> str:
        doc = self._op.metrics()
        counts = {bot: len(s.positions) for bot in doc.bots if (s := self._op.state(bot)) is not None}
        return replies.status(doc, self._op.snapshot().active, counts, self._now())

    def _bots(self, args: tuple[str, ...], known: list[str]) -> list[str] | str:
        """The bots a command is about: the one named, or all; an answer when the name is unknown."""
        if not args:
            return known
        if args[0] in known:
            return [args[0]]
        listed = ", ".join(esc(b) for b in known[:20]) or "none yet"
        return f"Unknown bot {esc(args[0][:64])}. Known bots: {listed}."

    def _pnl(self, args: tuple[str, ...], _actor: str) -> str:
        doc = self._op.metrics()
        bots = self._bots(args, list(doc.bots))
        return bots if isinstance(bots, str) else replies.pnl(doc, bots)

    def _positions(self, args: tuple[str, ...], _actor: str) -> str:
        bots = self._bots(args, list(self._op.metrics().bots))
        if isinstance(bots, str):
            return bots
        book = {bot: s.positions for bot in bots if (s := self._op.state(bot)) is not None}
        return replies.positions(book)

    def _alerts(self, _args: tuple[str, ...], _actor: str) -> str:
        return replies.alerts(self._op.snapshot().active, self._now())

    def _health(self, _args: tuple[str, ...], _actor: str) -> str:
        return replies.health(self._op.metrics(), self._op.snapshot().status, self._now())

    def _help(self, _args: tuple[str, ...], _actor: str) -> str:
        return help_text()

    # ---- actions -----------------------------------------------------------------------------
    def _ack_command(self, args: tuple[str, ...], actor: str) -> str:
        outcome = self._ack(args[0], actor)
        return outcome.note or outcome.answer

    def _ack(self, alert_id: str, actor: str) -> PressOutcome:
        """Acknowledge through the facade, unless it is gone, not firing or already acknowledged."""
        alert = self._open(alert_id)
        if alert is None:
            return PressOutcome(f"No open alert {esc(alert_id[:64])}: resolved or unknown, nothing done.")
        if alert.acknowledged:
            by = f"{esc(alert.acked_by)} at {self._now().when(alert.acked_at)}"
            return PressOutcome(f"Already acknowledged by {by}; nothing changed.")
        if alert.status != FIRING or not self._op.acknowledge(alert.alert_id, actor):
            return PressOutcome(f"Alert {esc(alert_id)} is not firing: nothing to acknowledge.")
        what = f"{esc(alert.bot)} {esc(alert.rule)}"
        return PressOutcome("Acknowledged.", f"Acknowledged {what} by {esc(actor)} at {self._stamp()}")

    def _open(self, alert_id: str) -> ActiveAlert | None:
        return next((a for a in self._op.snapshot().active if a.alert_id == alert_id), None)

    def _stamp(self) -> str:
        now = self._now()
        return now.when(now.now)

    def _silence(self, args: tuple[str, ...], actor: str) -> str:
        """/silence <bot|*> <rule|*> <duration> [comment]: any severity; the facade's refusals said."""
        bot, rule, duration, *comment = args
        seconds = duration_s(duration)
        if seconds is None:
            return esc(usage("silence")) + " (durations: 90 seconds, 30m, 2h, 1d)"
        outcome = self._op.silence(bot, rule, "*", seconds, " ".join(comment), actor)
        if outcome.silence is None:
            return f"Not silenced: {esc(outcome.refused)}"
        return "Silenced " + replies.silence_line(outcome.silence, self._now())

    def _silences(self, _args: tuple[str, ...], _actor: str) -> str:
        return replies.silences(self._op.silences(), self._now())

    def _unsilence(self, args: tuple[str, ...], actor: str) -> str:
        if self._op.unsilence(args[0], actor):
            return f"Silence {esc(args[0])} ended."
        return f"No active silence {esc(args[0][:64])}: nothing done."

    def _report(self, _args: tuple[str, ...], _actor: str) -> str:
        return replies.report(self._op.report_so_far())

    # ---- buttons -----------------------------------------------------------------------------
    def press(self, press: Press, actor: str) -> PressOutcome:
        """A button press: acknowledge, or silence the alert's bot and rule for ``press.seconds``."""
        if press.action == "ack":
            return self._ack(press.alert_id, actor)
        return self._silence_alert(press.alert_id, press.seconds, actor)

    def _silence_alert(self, alert_id: str, seconds: int, actor: str) -> PressOutcome:
        """Silence through the facade, unless the alert is gone or a silence already mutes it."""
        alert = self._open(alert_id)
        if alert is None:
            return PressOutcome(f"No open alert {esc(alert_id[:64])}: resolved or unknown, nothing done.")
        now = self._now()
        if alert.silence_id:
            until = now.when(alert.silenced_until)
            return PressOutcome(
                f"Already silenced by {esc(alert.silenced_by)} until {until}; nothing changed."
            )
        outcome = self._op.silence_alert(alert.alert_id, seconds, actor)
        if outcome.silence is None:
            return PressOutcome(f"Not silenced: {esc(outcome.refused)}")
        what = f"{esc(alert.bot)} {esc(alert.rule)}"
        until = now.when(outcome.silence.ended_at)
        note = f"Silenced {what} for {present.duration(seconds)} (until {until}) by {esc(actor)}"
        return PressOutcome("Silenced.", f"{note} at {self._stamp()}")
