"""Who may command the monitor from Telegram: a listed user in a listed chat, checked every time (pure).

Both ids are checked on every message and every button press: a listed operator
writing from a chat the monitor does not send to (a group someone added the bot
to) is refused, and so is anyone else writing in a listed group.  A refused
attempt gets no answer at all (not even "not allowed", which would confirm the
bot is there); it is counted, and logged once per user, so a stranger hammering
the bot cannot flood the log.  The set of users remembered for that is bounded.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Distinct refused users remembered for "logged once"; beyond, attempts are only counted.
MAX_REMEMBERED = 1000


class Gate:
    """The user + chat check, and the refusal counter."""

    def __init__(self, operators: Iterable[int], chats: Iterable[str | int]) -> None:
        self.operators = frozenset(int(u) for u in operators)
        self.chats = frozenset(str(c) for c in chats)
        self.refused = 0
        self._seen: set[int | None] = set()

    def allows(self, user_id: int | None, chat_id: int | str | None) -> bool:
        """True only for a listed operator in a listed chat (a missing id is refused)."""
        return user_id in self.operators and chat_id is not None and str(chat_id) in self.chats

    def refuse(self, user_id: int | None) -> bool:
        """Count a refused attempt; True the first time this user is refused (log it then)."""
        self.refused += 1
        if user_id in self._seen or len(self._seen) >= MAX_REMEMBERED:
            return False
        self._seen.add(user_id)
        return True
