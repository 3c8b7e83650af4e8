"""The chat commands: their names, arguments and usage lines, and parsing one message (pure).

A message is chat-user input: it is parsed strictly into a :class:`Command` or
refused with the command's one-line usage.  A command addressed to another bot in
a group (``/status@other_bot``) is not ours and is ignored.  The replies are built
in app/telegram/replies.py; what each command does is app/telegram/dispatch.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import present

#: Longest command line read; anything beyond is not a command of ours.
MAX_LINE = 1024


@dataclass(frozen=True, slots=True)
class Spec:
    """A command: its arguments as the usage line shows them, what it does, an example."""

    args: str
    does: str
    min_args: int = 0
    max_args: int = 0


#: Every command, in the order /help lists them.
COMMANDS: dict[str, Spec] = {
    "status": Spec("", "every bot: live or stale, equity, daily P&L, drawdown, positions, alerts"),
    "pnl": Spec("[bot]", "P&L: realized, unrealized, fees, today", 0, 1),
    "positions": Spec("[bot]", "open positions with their marks", 0, 1),
    "alerts": Spec("", "open alerts with their ids"),
    "health": Spec("", "the monitor: collector, journal, alert delivery, this chat link"),
    "ack": Spec("<alert id>", "acknowledge a firing alert (stops its repeats and escalation)", 1, 1),
    "silence": Spec(
        "<bot|*> <rule|*> <duration> [comment]", "silence matching alerts, e.g. 30m, 2h, 1d", 3, 64
    ),
    "silences": Spec("", "active silences with their ids"),
    "unsilence": Spec("<silence id>", "end a silence now", 1, 1),
    "report": Spec("", "the daily report so far"),
    "help": Spec("", "this list"),
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d{1,6})([smhd]?)")
#: Longest silence a command may ask for.
MAX_SILENCE_S = 30 * 86400


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its name and its arguments (the text after it, split on spaces)."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """A message that is a command of ours but not a valid one: the line that answers it."""

    answer: str


def usage(name: str) -> str:
    """``Usage: /silence <bot|*> <rule|*> <duration> [comment]``."""
    spec = COMMANDS[name]
    return f"Usage: /{name} {spec.args}".rstrip()


def parse(text: str | None, bot_username: str = "") -> Command | Refused | None:
    """The command of a message; Refused with a usage line; None when it is not for us at all."""
    if not text or not text.startswith("/") or len(text) > MAX_LINE:
        return None
    head, *args = text.split()
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None  # a command for another bot in the same group
    name = name.lower()
    if name == "start":
        name = "help"
    spec = COMMANDS.get(name)
    if spec is None:
        return Refused(f"Unknown command /{name[:32]}. Send /help for the list.")
    if not spec.min_args <= len(args) <= spec.max_args:
        return Refused(usage(name))
    return Command(name, tuple(args))


def duration_s(text: str) -> int | None:
    """``90`` / ``30m`` / ``2h`` / ``1d`` as seconds; None for anything else or beyond 30 days."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m:
        return None
    seconds = int(m.group(1)) * _UNITS[m.group(2) or "s"]
    return seconds if 0 < seconds <= MAX_SILENCE_S else None


def help_text() -> str:
    """/help: every command with its arguments, one line each."""
    lines = ["<b>Commands</b>"]
    lines += [f"/{name} {spec.args} - {spec.does}".replace("  ", " ") for name, spec in COMMANDS.items()]
    lines.append(f"Durations: 90 (seconds), 30m, 2h, 1d; at most {present.duration(MAX_SILENCE_S)}.")
    return "\n".join(_escape_args(x) for x in lines)


def _escape_args(line: str) -> str:
    """The usage placeholders (``<bot>``) are text, not tags."""
    if line.startswith("<b>"):
        return line
    return line.replace("<", "&lt;").replace(">", "&gt;")
