"""Log lines for bots going stale and coming back, from a once-a-second look at the metrics.

An operator running the monitor headless has only its log: when a bot falls
silent, the line ``event=bot_stale`` says which bot and since when, and
``event=bot_back`` says how long it was silent once it talks again.  (A bot's
first event is logged by the collector, which sees it arrive.)

The check runs in a thread of its own, once a second, and reads the same
liveness the page shows (``hub.metrics()``: ``stale`` and
``last_event_age_s`` per bot), so it costs ingest nothing and never
disagrees with the dashboard.  The transitions themselves are
:class:`LivenessLog`, which does no I/O and takes its clock from the caller,
so they are tested with a fake clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from common.logline import line

if TYPE_CHECKING:
    from app.hub import Hub

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0


class Liveness(Protocol):
    """What the check reads of one bot (a ``BotMetrics`` has both)."""

    @property
    def stale(self) -> bool: ...

    @property
    def last_event_age_s(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Transition:
    """One bot changing state: ``stale`` (silent past the threshold) or ``back`` (talking again)."""

    kind: str  # "stale" | "back"
    bot: str
    #: stale: age of its last event when noticed; back: age of the event that brought it back
    age_s: float | None
    threshold_s: float
    #: back only: time between the last event before the silence and the first one after it
    silent_s: float | None = None

    def line(self) -> str:
        if self.kind == "stale":
            return line(
                "bot_stale", bot=self.bot, last_event_age_s=_round(self.age_s), threshold_s=self.threshold_s
            )
        return line("bot_back", bot=self.bot, silent_s=_round(self.silent_s), threshold_s=self.threshold_s)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


class LivenessLog:
    """Remembers which bots are stale and reports only the changes (pure: the clock is given).

    The first look at the bots (right after start, possibly with bots restored
    from the journal) reports the ones already stale, so a restarted monitor
    says at once which bots have not come back; live ones are simply known.
    A bot that disappears (forgotten by the operator) is dropped silently.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        #: bot -> arrival time of its last event before it went stale (None: never had one)
        self._stale: dict[str, float | None] = {}
        self._known: set[str] = set()

    def observe(self, bots: Mapping[str, Liveness], threshold_s: float) -> list[Transition]:
        """Compare with the previous look; return the bots that went stale or came back."""
        now = self.clock()
        out: list[Transition] = []
        for bot, doc in bots.items():
            age = doc.last_event_age_s
            if doc.stale and bot not in self._stale:
                self._stale[bot] = None if age is None else now - age
                out.append(Transition("stale", bot, age, threshold_s))
            elif not doc.stale and bot in self._stale:
                last_before = self._stale.pop(bot)
                silent = None if last_before is None or age is None else now - age - last_before
                out.append(Transition("back", bot, age, threshold_s, silent))
            self._known.add(bot)
        for gone in self._known - bots.keys():
            self._known.discard(gone)
            self._stale.pop(gone, None)
        return out


class LivenessWatcher:
    """The ``liveness-log`` thread: one look at ``hub.metrics()`` per second, one line per change."""

    def __init__(self, hub: Hub, interval_s: float = CHECK_INTERVAL_S) -> None:
        self.hub = hub
        self.interval_s = interval_s
        self.tracker = LivenessLog(hub.clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="liveness-log", daemon=True)
        self._thread.start()

    def check(self) -> list[Transition]:
        """One look: log and return the transitions since the previous one."""
        changes = self.tracker.observe(self.hub.metrics().bots, self.hub.stale_after_s)
        for change in changes:
            log.log(logging.WARNING if change.kind == "stale" else logging.INFO, change.line())
        return changes

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a failed look must not end the log of the next ones
                log.exception("liveness check failed")
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
