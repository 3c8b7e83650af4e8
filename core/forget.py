"""The operator's one command on the state: forget a bot.

It belongs to the app (the dashboard and the API issue it, the store applies it), not to the
collector's event contract: no bot can send it.  It still travels as an item of a batch, so the
journal keeps it in order with the events around it (its type name, ``ForgetBot``, is its tag
there) and a replay after a restart forgets the bot again.
"""

from __future__ import annotations

import msgspec


class ForgetBot(msgspec.Struct, frozen=True, kw_only=True):
    """The operator forgot ``bot``: everything known of it is dropped from the state."""

    bot: str
