"""Caps: the per-bot and global bounds an event is checked against before it is applied (pure core).

Nothing a bot sends may grow memory without bound, so an event that would take
its bot (or the store) over a bound of ``limits`` is refused whole, as a reject,
before it changes anything.  Bounds and reasons: docs/metrics.md, "Bounds".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from collectors.events import Error, Event, Fill, Health, Latency, Mark, Snapshot
from core.config import LimitsSettings

if TYPE_CHECKING:
    from core.store import BotState

Refusal = tuple[str, str] | None


def refusal(limits: LimitsSettings, bots: dict, s: BotState | None, event: Event) -> Refusal:
    """Why ``event`` would take its bot over a bound of ``limits`` (reason, detail), or None.

    ``bots`` are the bots the store holds, ``s`` the event's (None: a new bot).
    Checked before anything is applied, so a refused event changes nothing but
    the reject counters (and its bot's sequence tracking).
    """
    if s is None:
        allowed = limits.allowed_bots
        if allowed is not None and event.bot not in allowed:
            return "unknown_bot", "bot id not in limits.allowed_bots"
        if len(bots) >= limits.max_bots:
            return "too_many_bots", f"more than {limits.max_bots} bots (limits.max_bots)"
    check = CAPS.get(type(event))
    return None if check is None else check(limits, s, event)


def _new_names(known: object, names: Iterable[str]) -> int:
    return sum(1 for n in set(names) if n not in known)  # type: ignore[operator]


def _cap(kind: str, cap: int, held: int, new: int) -> Refusal:
    if new and held + new > cap:
        return f"too_many_{kind}", f"{held} {kind} held, {new} new would exceed limits.max_{kind} ({cap})"
    return None


def _symbols_cap(limits: LimitsSettings, s: BotState | None, ev: Fill | Mark | Snapshot) -> Refusal:
    if s is not None and type(ev) is not Snapshot:  # the hot path: symbols the bot already holds
        held_now = s.symbols
        if ev.symbol in held_now if type(ev) is Fill else held_now.issuperset(ev.prices):  # type: ignore[union-attr]
            return None
    if type(ev) is Fill:
        names: Iterable[str] = (ev.symbol,)
    elif type(ev) is Mark:
        names = ev.prices
    else:
        names = [p.symbol for p in ev.positions if p.qty]  # type: ignore[union-attr]
    held = set() if s is None else s.symbols
    return _cap("symbols", limits.max_symbols, len(held), _new_names(held, names))


def _ops_cap(limits: LimitsSettings, s: BotState | None, ev: Latency) -> Refusal:
    if s is None or ev.op in s.latency:
        return None
    cap = limits.max_latency_ops
    if len(s.latency) >= cap:
        s.latency.prune(s.now)  # ops with no sample left in the window no longer count
    if len(s.latency) < cap:
        return None
    return "too_many_ops", f"{cap} latency ops in the window (limits.max_latency_ops)"


def _components_cap(limits: LimitsSettings, s: BotState | None, ev: Error) -> Refusal:
    if s is None or ev.component in s.errors.by_component:
        return None
    cap = limits.max_error_components
    if len(s.errors.by_component) < cap:
        return None
    return "too_many_components", f"{cap} error components held (limits.max_error_components)"


def _apis_cap(limits: LimitsSettings, s: BotState | None, ev: Health) -> Refusal:
    if not ev.apis:
        return None
    held = {} if s is None else s.apis
    return _cap("apis", limits.max_apis, len(held), _new_names(held, ev.apis))


#: The per-bot bounds each event type can push against (docs/metrics.md, "Bounds").
CAPS: dict[type, Callable[[LimitsSettings, BotState | None, Event], Refusal]] = {
    Fill: _symbols_cap,
    Mark: _symbols_cap,
    Snapshot: _symbols_cap,
    Latency: _ops_cap,
    Error: _components_cap,
    Health: _apis_cap,
}
