"""settings_writer + settings_form without a browser: round trip, atomicity, secrets, validation."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from alerts.history import channel_results, group
from alerts.read_model import ChannelResult, DeliveryRow
from app.actions import Cooldown
from app.dashboard import form_fields, form_parse
from app.dashboard.alerts_sections import channel_text
from app.settings import SettingsError, load_settings
from app.settings_writer import SettingsWriter, plain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def writer(tmp_path: Path) -> SettingsWriter:
    shutil.copy(ROOT / "settings.yaml", tmp_path / "settings.yaml")
    return SettingsWriter(tmp_path / "settings.yaml", env={})


def submit(writer: SettingsWriter, **changes: object) -> form_parse.Parsed:
    doc = plain(writer.document())
    values = {f.key: f.value for f in form_fields.fields(doc, None)}
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return form_parse.parse(values, doc)


def test_unchanged_form_writes_nothing(writer: SettingsWriter) -> None:
    parsed = submit(writer)
    assert parsed.errors == {}  # every change is a no-op on the file (equal values are not rewritten)
    writer.save(parsed.changes, parsed.secrets)
    assert writer.path.read_bytes() == (ROOT / "settings.yaml").read_bytes()
    assert not writer.backup_path.exists()


def test_shipped_file_round_trips_a_change_keeping_comments(writer: SettingsWriter) -> None:
    before = writer.path.read_text()
    parsed = submit(writer, thr__max_drawdown__value="0.2", route__warning__repeat="600")
    settings = writer.save(parsed.changes, parsed.secrets)
    after = writer.path.read_text()
    assert settings.alerts.thresholds.max_drawdown == 0.2
    assert "    max_drawdown: 0.2      # drawdown fraction above it -> critical" in after
    assert "warning: {channels: [], repeat_interval_s: 600}" in after
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 2  # nothing else moved: comments, order, unmanaged keys intact
    assert writer.backup_path.read_text() == before


def test_secret_goes_to_owner_only_file_and_loads(writer: SettingsWriter) -> None:
    token = "123456:ABCDEF-telegram-token-xyz"
    parsed = submit(
        writer,
        ch__telegram__enabled=True,
        ch__telegram__token=token,
        ch__telegram__chat_ids="-1001234567890, @ops_channel",
        route__critical__channels=["telegram"],
    )
    assert parsed.errors == {}
    writer.save(parsed.changes, parsed.secrets)
    text = writer.path.read_text()
    assert token not in text and "${ALERTS_TELEGRAM_TOKEN}" in text and "secrets_file: secrets.yaml" in text
    secrets = writer.path.with_name("secrets.yaml")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    loaded = load_settings(writer.path, env={})
    assert loaded.alerts.channels["telegram"].token == token
    shown = form_fields.fields(
        plain(writer.document()), {"alerts": {"channels": {"telegram": {"token": token}}}}
    )
    tok = next(f for f in shown if f.key == "ch.telegram.token")
    assert tok.value == "" and token not in tok.placeholder and "-xyz" in tok.placeholder


def test_world_readable_secrets_file_is_refused(writer: SettingsWriter) -> None:
    secrets = writer.path.with_name("secrets.yaml")
    secrets.write_text("X: y\n")
    os.chmod(secrets, 0o644)
    writer.path.write_text(writer.path.read_text() + "secrets_file: secrets.yaml\n")
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings(writer.path, env={})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("thr.max_latency_ms.value", "-5", "positive number"),
        ("thr.max_drawdown.value", "150%", "fraction"),
        ("stale_after_s", "0", "positive number"),
        ("ch.email.recipients", "ops@example.com, not-an-address", "e-mail address"),
        ("ch.sms.to_numbers", "0044 20 7946 0000", "E.164"),
        ("ch.telegram.chat_ids", "my chat", "chat id"),
        ("ch.slack.webhook_url", "hooks.slack.com/x", "URL"),
    ],
)
def test_invalid_field_is_refused_next_to_it_and_nothing_written(
    writer: SettingsWriter, key: str, value: str, message: str
) -> None:
    kind = key.split(".")[1] if key.startswith("ch.") else None
    extra = {f"ch.{kind}.enabled": True} if kind else {}
    doc = plain(writer.document())
    values = {f.key: f.value for f in form_fields.fields(doc, None)} | extra | {key: value}
    parsed = form_parse.parse(values, doc)
    assert message in parsed.errors[key]
    assert parsed.changes == [] and parsed.secrets == {}


def test_enabling_a_channel_without_what_it_needs_is_an_error(writer: SettingsWriter) -> None:
    parsed = submit(writer, ch__sms__enabled=True, ch__sms__from_number="+14155550123")
    assert "required" in parsed.errors["ch.sms.account_sid"]


def test_route_to_a_disabled_channel_is_an_error(writer: SettingsWriter) -> None:
    parsed = submit(writer, route__critical__channels=["slack"])
    assert "not enabled" in parsed.errors["route.critical.channels"]


def test_mask_shows_at_most_four_characters() -> None:
    assert form_fields.mask("https://hooks.slack.com/services/T/B/abcdEFGH1234") == "set ••••1234"
    assert form_fields.mask("short") == "set ••••" and form_fields.mask(None) == "not set"


def test_history_groups_rows_per_notification_and_channel() -> None:
    rows = [
        {
            "idem": "a1:firing:0:slack:default",
            "alert_id": "a1",
            "kind": "firing",
            "channel": "slack",
            "status": "dead",
            "last_error": "HTTP 403: invalid_token",
            "attempts": 1,
            "created_at": 1.0,
            "payload": '{"severity": "critical", "bot": "b1"}',
        },
        {
            "idem": "a1:firing:0:tg:1",
            "alert_id": "a1",
            "kind": "firing",
            "channel": "tg",
            "status": "pending",
            "last_error": "HTTP 503: busy",
            "attempts": 2,
            "due_at": 5.0,
            "created_at": 1.0,
            "payload": "{}",
        },
        {
            "idem": "a1:firing:0:tg:2",
            "alert_id": "a1",
            "kind": "firing",
            "channel": "tg",
            "status": "sent",
            "attempts": 1,
            "created_at": 1.0,
            "payload": "{}",
        },
    ]
    rows = [
        DeliveryRow(
            **{"id": i, "dest": "d", "prio": 0, "due_at": 0.0, **r, "payload": json.loads(r["payload"])}
        )
        for i, r in enumerate(rows)
    ]
    [entry] = group(rows, 200)
    assert entry.bot == "b1" and entry.channels["slack"].state == "failed"
    assert entry.channels["tg"] == ChannelResult(
        state="retrying", attempt=2, next_try=5.0, error="HTTP 503: busy"
    )
    assert channel_text(channel_results(rows[:1])["slack"]) == ("failed: HTTP 403: invalid_token", "neg")


def test_cooldown_refuses_a_second_press_within_ten_seconds() -> None:
    now = [100.0]
    cd = Cooldown(10.0, clock=lambda: now[0])
    assert cd.take("*") == 0.0
    now[0] = 105.0
    assert cd.take("*") == pytest.approx(5.0)
    now[0] = 110.5
    assert cd.take("*") == 0.0
