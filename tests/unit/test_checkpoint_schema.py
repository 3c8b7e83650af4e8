"""The checkpoint schema evolves safely: every bot attribute has a field, every field a default.

A new attribute of :class:`BotState` that the schema does not carry would be lost at
every restart; a schema field without a default would make every checkpoint written
before it unreadable.  Both are caught here, naming the field, before any release.
"""

from __future__ import annotations

import msgspec
import pytest

from app.hub import Hub
from core import checkpoint
from core import checkpoint_schema as schema
from core.store import BotState, StateStore
from tests.support import release_fixtures as fx
from tests.support.clock import FakeClock


def _attributes(bot: BotState) -> set[str]:
    """What a bot holds: what its constructor sets, and class-level defaults of plain values."""
    names = set(vars(bot))
    for cls in type(bot).__mro__[:-1]:
        for name, value in vars(cls).items():
            if not name.startswith("__") and not callable(value) and not isinstance(value, staticmethod):
                names.add(name)
    return names


def test_every_attribute_of_a_bot_has_a_field_in_the_checkpoint_schema() -> None:
    missing = _attributes(BotState("b", fx.CONFIG)) - set(schema.BOT_FIELDS)
    assert not missing, (
        f"BotState attribute(s) {sorted(missing)} missing from core.checkpoint_schema.BotSchema: "
        "add a field of the same name, default UNSET (a checkpoint would lose them on every restart)"
    )
    assert not set(schema.BOT_FIELDS) - _attributes(BotState("b", fx.CONFIG)) - schema.BOT_DERIVED


def _structs(root: type) -> set[type]:
    """``root`` and every Struct of the schema module its fields hold."""
    seen, todo = set(), [root]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for field in msgspec.structs.fields(cls):
            todo.extend(t for t in _SCHEMA_STRUCTS if t.__name__ in repr(field.type))
    return seen


_SCHEMA_STRUCTS = [
    t
    for t in vars(schema).values()
    if isinstance(t, type) and issubclass(t, msgspec.Struct) and t.__module__ == schema.__name__
]


def test_every_field_of_the_schema_has_a_default() -> None:
    without = [
        f"{cls.__name__}.{f.name}"
        for cls in _structs(schema.StateSchema)
        for f in msgspec.structs.fields(cls)
        if f.required
    ]
    assert not without, (
        f"schema field(s) {without} have no default: checkpoints written before them would not read"
    )


def _fixture_store() -> StateStore:
    """The store of the release fixtures' scenario (every part of a bot's state in use)."""
    first, second = fx.scenario()
    clock = FakeClock()
    store = StateStore(fx.CONFIG, clock)
    hub = Hub(store)
    for arrival, items in first + second:
        clock.t = arrival
        hub.apply_batch(items, received=len(items))
    clock.t = fx.READ_AT
    return store


@pytest.mark.parametrize("field", schema.BOT_FIELDS)
def test_a_checkpoint_written_before_a_bot_field_existed_still_restores(field: str) -> None:
    """Each field in turn is absent from the bytes, as in a checkpoint of the release before it.

    The restored bot must still hold every attribute a new bot holds, of the type
    the constructor gives it or the checkpoint does: a missing one is what makes
    every later read of the metrics raise.
    """
    store = _fixture_store()
    full = schema.to_schema(checkpoint.capture_state(store))
    doc = msgspec.to_builtins(full)
    for bot in doc["bots"].values():
        bot.pop(field)
    restored = schema.from_schema(msgspec.convert(doc, schema.StateSchema), fx.CONFIG)["bots"]
    complete = schema.from_schema(full, fx.CONFIG)["bots"]
    for name, bot in restored.items():
        new = BotState(name, fx.CONFIG)
        for attr in _attributes(new):
            assert hasattr(bot, attr), f"{attr} missing after restoring a checkpoint without {field}"
            types = {type(getattr(new, attr)), type(getattr(complete[name], attr))}
            assert type(getattr(bot, attr)) in types, attr
