"""Bot ids and names in the settings accept nothing more than the event contract's ids.

msgspec checks a pattern with ``re.search``, where ``$`` also matches before a
final newline: ``"bot\\n"`` would pass a ``^...$`` pattern.  A bot id that is not
exactly one the contract allows could never match a publishing bot, and a name
with a newline breaks every message and log line it appears in.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import SettingsError, validate

BAD = ["bot\n", "bot\n\n", "\nbot", "b" * 65, "", "bot 1", "bö"]
GOOD = ["b", "B-1.x_y", "b" * 64]


def _places(name: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Every place a bot id or a name is written, with the key an error names."""
    hook = {"type": "webhook", "urls": ["https://example.org/hook"]}
    rule = {"name": "r", "metric": "drawdown", "value": 0.5}
    return {
        "bots": ({"bots": {name: {"starting_equity": 1000}}}, f"bots.{name}"),
        "rule bots": ({"alerts": {"rules": [{**rule, "bots": [name]}]}}, "alerts.rules[0].bots[0]"),
        "rule name": ({"alerts": {"rules": [{**rule, "name": name}]}}, "alerts.rules[0].name"),
        "channel name": ({"alerts": {"channels": {name: hook}}}, f"alerts.channels.{name}"),
        "route channel": (
            {"alerts": {"channels": {"hook": hook}, "routes": {"critical": {"channels": [name]}}}},
            "alerts.routes.critical.channels[0]",
        ),
    }


@pytest.mark.parametrize(
    "place",
    [
        "bots",
        "rule bots",
        "rule name",
        "channel name",
        "route channel",
    ],
)
@pytest.mark.parametrize("name", BAD, ids=repr)
def test_a_name_beyond_the_contract_is_refused_with_its_key(place: str, name: str) -> None:
    doc, key = _places(name)[place]
    with pytest.raises(SettingsError) as err:
        validate(doc, "settings.yaml")
    assert err.value.key == key, err.value


@pytest.mark.parametrize("place", list(_places("x")))
@pytest.mark.parametrize("name", BAD, ids=repr)
def test_a_name_beyond_the_contract_is_refused(place: str, name: str) -> None:
    doc, _key = _places(name)[place]
    with pytest.raises(SettingsError, match="matching regex"):
        validate(doc, "settings.yaml")


@pytest.mark.parametrize("place", ["bots", "rule bots", "rule name", "channel name"])
@pytest.mark.parametrize("name", GOOD)
def test_a_name_of_the_contract_is_accepted(place: str, name: str) -> None:
    doc, _key = _places(name)[place]
    validate(doc, "settings.yaml")
