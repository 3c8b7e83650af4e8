"""Silences: "do not notify me about this for a while", as a value with matchers and a window.

Pure (injected time, no I/O): the :class:`Silence` record, the matcher the engine's
one gate asks (:func:`matches`), the validation every front end gets the same
refusal sentence from (:func:`refusal`), and how long an ended silence stays listed.

A silence mutes notices, never evaluation: the rules still run and the page still
shows the alert as firing, "silenced until ..., by ...".  Its three matchers (bot,
rule, severity) are each a name or ``*``; one that matches everything is refused, so
a silence is always about something, and it always has an end (at most
``silences.max_duration_s``), so a forgotten silence cannot mute the monitor for
good.  The alert store writes it before the call that made it returns.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated

import msgspec

from alerts import catalog

#: The matcher that matches every value of its field.
ANY = "*"
#: An ended (expired or unsilenced) silence stays listed this long after its end.
LISTED_FOR_S = 5 * 86400.0
#: The longest silence by default (``silences.max_duration_s``): a week.
DEFAULT_MAX_DURATION_S = 7 * 86400.0
#: The longest comment kept (a chat message or a form field cannot grow the store without bound).
MAX_COMMENT = 500
#: The longest matcher value kept (a bot id, a rule name).
MAX_NAME = 128


class SilencesSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``silences:`` section of settings.yaml."""

    #: The longest silence anyone may set (seconds); a longer one is refused with this figure.
    max_duration_s: Annotated[float, msgspec.Meta(gt=0, le=366 * 86400.0)] = DEFAULT_MAX_DURATION_S


class Silence(msgspec.Struct, frozen=True, kw_only=True):
    """One silence: its matchers, its window, who made it and why; ``expired_*`` once ended early."""

    id: str
    bot: str
    rule: str
    severity: str
    starts_at: float
    ends_at: float
    author: str
    comment: str = ""
    expired_at: float | None = None
    expired_by: str | None = None

    @property
    def ended_at(self) -> float:
        """When it stops (or stopped) muting: its end, or the moment it was expired, if sooner."""
        return self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)


class SilenceOutcome(msgspec.Struct, frozen=True):
    """What became of a request to silence: the silence made, or the sentence saying why not."""

    silence: Silence | None
    refused: str = ""


def active(silence: Silence, now: float) -> bool:
    """Whether ``silence`` mutes at ``now``: started, not yet at its end, not expired."""
    return silence.starts_at <= now < silence.ended_at


def matches(silence: Silence, bot: str, rule: str, severity: str, now: float) -> bool:
    """Whether ``silence`` mutes a notice about (bot, rule, severity) at ``now``."""
    return (
        active(silence, now)
        and silence.bot in (ANY, bot)
        and silence.rule in (ANY, rule)
        and silence.severity in (ANY, severity)
    )


def silencing(silences: Iterable[Silence], bot: str, rule: str, severity: str, now: float) -> Silence | None:
    """The silence that mutes (bot, rule, severity) now, the one ending last if several; or None."""
    found = [s for s in silences if matches(s, bot, rule, severity, now)]
    return max(found, key=lambda s: (s.ended_at, s.id)) if found else None


class ActiveIndex:
    """The silences active at one time, by their three matchers: what the gate asks per notification.

    Built from one version of the silences (a mapping replaced, never changed, when a
    silence is made or expired) and valid until the first of them ends.  A check reads
    the eight keys a notice can match (each matcher its name or ``*``), so it costs the
    same with 1000 silences listed as with none.
    """

    __slots__ = ("_by_key", "built_at", "source", "valid_until")

    def __init__(self, source: Mapping[str, Silence], now: float) -> None:
        live = [s for s in source.values() if active(s, now)]
        later = [s.starts_at for s in source.values() if s.starts_at > now]  # a clock set back
        self.source, self.built_at = source, now
        self.valid_until = min([math.inf, *later, *(s.ended_at for s in live)])
        self._by_key: dict[tuple[str, str, str], list[Silence]] = {}
        for s in live:
            self._by_key.setdefault((s.bot, s.rule, s.severity), []).append(s)

    def valid(self, source: Mapping[str, Silence], now: float) -> bool:
        """Whether it still answers for ``source`` at ``now``."""
        return source is self.source and self.built_at <= now < self.valid_until

    def silencing(self, bot: str, rule: str, severity: str, now: float) -> Silence | None:
        """As :func:`silencing`, reading only the silences whose matchers can match."""
        keys = {(b, r, v) for b in (bot, ANY) for r in (rule, ANY) for v in (severity, ANY)}
        return silencing([s for k in keys for s in self._by_key.get(k, ())], bot, rule, severity, now)


def listed(silence: Silence, now: float) -> bool:
    """Whether it is still listed: active, or ended less than :data:`LISTED_FOR_S` ago."""
    return now < silence.ended_at + LISTED_FOR_S


def in_list_order(silences: Iterable[Silence], now: float) -> tuple[Silence, ...]:
    """The listed silences: the active ones first (soonest end first), then the ended (newest first)."""
    shown = [s for s in silences if listed(s, now)]
    live = sorted((s for s in shown if active(s, now)), key=lambda s: (s.ended_at, s.id))
    ended = sorted((s for s in shown if not active(s, now)), key=lambda s: (-s.ended_at, s.id))
    return (*live, *ended)


def rule_choices(custom: Iterable[str]) -> tuple[str, ...]:
    """Every rule name a silence may name: the built-in rules (on or off), then the custom ones."""
    names = [r.name for r in catalog.THRESHOLDS] + [n for ev in catalog.EVENTS for n in ev.rule_names]
    return tuple(dict.fromkeys([*names, *custom]))


def refusal(
    bot: str,
    rule: str,
    severity: str,
    duration_s: float | None,
    *,
    max_duration_s: float,
    rules: Collection[str],
    severities: Collection[str],
) -> str:
    """Why a silence cannot be made, in one sentence naming the field; ``""`` when it can.

    The bot may be any name (a bot not seen yet, or gone) or ``*``; the rule and the
    severity must be ones the monitor knows, or ``*``.
    """
    for field, value in (("bot", bot), ("rule", rule), ("severity", severity)):
        if not value or len(value) > MAX_NAME or not value.isprintable():
            return f"{field}: give a name of at most {MAX_NAME} printable characters, or {ANY}."
    if rule != ANY and rule not in rules:
        return f"rule: {rule} is not a rule of this monitor."
    if severity != ANY and severity not in severities:
        return f"severity: {severity} is not a severity ({', '.join(severities)} or {ANY})."
    if bot == rule == severity == ANY:
        return "A silence of everything (bot, rule and severity all *) is refused: name what to silence."
    return _duration_refusal(duration_s, max_duration_s)


def _duration_refusal(duration_s: float | None, max_duration_s: float) -> str:
    if duration_s is None:
        return "duration: an end is required (a duration or an end time)."
    if not duration_s > 0:  # NaN too
        return "duration: the end must be after the start (a duration above 0)."
    if duration_s > max_duration_s:
        return f"duration: at most {max_duration_s:g} s (silences.max_duration_s)."
    return ""


def make(
    silence_id: str,
    bot: str,
    rule: str,
    severity: str,
    *,
    now: float,
    duration_s: float,
    author: str,
    comment: str,
) -> Silence:
    """A silence starting ``now`` (call :func:`refusal` first); the comment is cut to its bound."""
    return Silence(
        id=silence_id,
        bot=bot,
        rule=rule,
        severity=severity,
        starts_at=now,
        ends_at=now + duration_s,
        author=author,
        comment=comment[:MAX_COMMENT],
    )


def expire(silence: Silence, now: float, by: str) -> Silence:
    """The silence ended early at ``now`` by ``by`` (an ended one stays as it was)."""
    if not active(silence, now):
        return silence
    return msgspec.structs.replace(silence, expired_at=now, expired_by=by)
