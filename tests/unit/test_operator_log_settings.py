"""What a settings save reports for the operator's log: the keys really changed and the secret names.

The ``settings_saved`` line is built from this report, so it must name exactly
what changed (a form submits every field, most of them unchanged) and carry no
value at all, least of all a secret's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.settings_writer import SettingsWriter, dotted
from tests.support.settings_form import submit

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:ABCDEF-telegram-token-xyz"


@pytest.fixture
def writer(tmp_path: Path) -> SettingsWriter:
    shutil.copy(ROOT / "settings.yaml", tmp_path / "settings.yaml")
    return SettingsWriter(tmp_path / "settings.yaml", env={})


def test_an_unchanged_form_reports_no_key(writer: SettingsWriter) -> None:
    parsed = submit(writer)
    saved = writer.save_report(parsed.changes, parsed.secrets)
    assert (saved.keys, saved.secrets) == ((), ())


def test_only_the_keys_whose_value_changed_are_reported(writer: SettingsWriter) -> None:
    warning_repeat = ("alerts", "routes", "warning", "repeat_interval_s")
    assert writer.document()["alerts"]["routes"]["warning"]["repeat_interval_s"] == 3600
    changes = [(("alerts", "thresholds", "max_drawdown"), 0.2), (warning_repeat, 3600)]  # the 2nd: as is
    saved = writer.save_report(changes)
    assert saved.keys == ("alerts.thresholds.max_drawdown",)
    assert saved.settings.alerts.thresholds.max_drawdown == 0.2


def test_a_secret_is_reported_by_name_once_and_never_by_value(writer: SettingsWriter) -> None:
    typed = {
        "ch__telegram__enabled": True,
        "ch__telegram__chat_ids": "@ops_channel",
        "ch__telegram__token": TOKEN,
    }
    parsed = submit(writer, **typed)
    assert parsed.errors == {}
    saved = writer.save_report(parsed.changes, parsed.secrets)
    assert saved.secrets == ("ALERTS_TELEGRAM_TOKEN",)
    assert "alerts.channels.telegram" in saved.keys
    assert all(TOKEN not in key for key in saved.keys)
    again = writer.save_report(*_same_secret(writer))  # the same value typed again: nothing new
    assert again.secrets == ()


def _same_secret(writer: SettingsWriter) -> tuple[list, dict[str, str]]:
    parsed = submit(writer, ch__telegram__token=TOKEN)
    assert parsed.errors == {}
    return parsed.changes, parsed.secrets


def test_keys_are_named_like_the_settings_errors_name_them() -> None:
    assert dotted(("alerts", "rules", 2, "threshold")) == "alerts.rules[2].threshold"
    assert dotted(("collector", "endpoints", 0)) == "collector.endpoints[0]"
    assert dotted(("stale",)) == "stale"
