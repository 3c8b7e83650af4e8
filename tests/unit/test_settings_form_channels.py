"""The form and the writer on channels: saved secrets count as present, and stay where they were sent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.dashboard import form_fields, form_parse
from app.settings import SettingsError, load_settings
from app.settings_writer import SettingsWriter
from tests.support.settings_form import save, submit

ROOT = Path(__file__).resolve().parents[2]
URLS = "https://hooks.example.com/a/T0KEN-1, https://hooks.example.com/b/T0KEN-2"


@pytest.fixture
def writer(tmp_path: Path) -> SettingsWriter:
    shutil.copy(ROOT / "settings.yaml", tmp_path / "settings.yaml")
    return SettingsWriter(tmp_path / "settings.yaml", env={})


def test_a_saved_webhook_does_not_need_its_urls_typed_again(writer: SettingsWriter) -> None:
    save(writer, ch__webhook__enabled=True, ch__webhook__urls=URLS, route__critical__channels=["webhook"])
    parsed = submit(writer, thr__max_drawdown__value="0.25")  # the URL field comes back empty
    assert parsed.errors == {}
    settings = writer.save(parsed.changes, parsed.secrets)
    assert settings.alerts.thresholds.max_drawdown == 0.25
    assert settings.alerts.channels["webhook"].urls == [u.strip() for u in URLS.split(",")]


def test_a_new_webhook_still_needs_its_urls(writer: SettingsWriter) -> None:
    parsed = submit(writer, ch__webhook__enabled=True)
    assert parsed.errors["ch.webhook.urls"] == "required: webhook needs urls"


def _email(writer: SettingsWriter) -> None:
    save(
        writer,
        ch__email__enabled=True,
        ch__email__host="smtp.example.com",
        ch__email__password="s3cret-passw0rd",
        ch__email__sender="monitor@example.com",
        ch__email__recipients="ops@example.com",
    )


def test_moving_a_channel_refuses_to_keep_its_secret(writer: SettingsWriter) -> None:
    _email(writer)
    before = writer.path.read_bytes()
    parsed = submit(writer, ch__email__host="smtp.attacker.example")
    with pytest.raises(SettingsError) as err:
        writer.save(parsed.changes, parsed.secrets)
    assert err.value.key == "alerts.channels.email.password" and "host changed" in err.value.reason
    assert form_parse.error_field(err.value.key, {}) == "ch.email.password"
    assert writer.path.read_bytes() == before


def test_moving_a_channel_with_its_secret_typed_again_is_saved(writer: SettingsWriter) -> None:
    _email(writer)
    save(writer, ch__email__host="smtp2.example.com", ch__email__password="n3w-passw0rd!")
    email = load_settings(writer.path, env={}).alerts.channels["email"]
    assert (email.host, email.password) == ("smtp2.example.com", "n3w-passw0rd!")


def test_other_changes_keep_the_secret(writer: SettingsWriter) -> None:
    _email(writer)
    save(writer, ch__email__recipients="ops@example.com, cto@example.com")
    email = load_settings(writer.path, env={}).alerts.channels["email"]
    assert email.password == "s3cret-passw0rd" and email.recipients == ["ops@example.com", "cto@example.com"]


def test_a_channel_named_after_its_type_without_type_shows_in_the_form(writer: SettingsWriter) -> None:
    doc = {"alerts": {"channels": {"webhook": {"urls": ["${HOOK}"]}, "ops": {"type": "slack"}}}}
    assert (
        form_fields.channel_names(doc)["webhook"] == "webhook"
        and form_fields.channel_names(doc)["ops"] == "slack"
    )
    shown = {
        f.key: f
        for f in form_fields.fields(doc, {"alerts": {"channels": {"webhook": {"urls": ["https://x/y"]}}}})
    }
    assert shown["ch.webhook.urls"].secret and "(from ${HOOK})" in shown["ch.webhook.urls"].placeholder
