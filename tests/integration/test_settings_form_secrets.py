"""The settings form cannot be used to read the monitor's environment or move a saved secret.

Real files (settings.yaml + its 0600 secrets file), the form's own parser, the real writer
and loader, and a real local HTTP server standing for an attacker's endpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.channels import build
from alerts.channels.base import DELIVERED
from alerts.outbox import Row
from app.dashboard import form_fields, form_parse
from app.settings import SettingsError, load_settings
from app.settings_writer import SettingsWriter

TOKEN = "123456:SAVED-telegram-token-xyz"
EMAIL = (
    "host: smtp.example.org\n      port: 587\n      username: me\n"
    "      password: ${ALERTS_EMAIL_PASSWORD}\n"
    "      sender: m@example.org\n      recipients: [ops@example.org]\n"
)


def files(tmp_path: Path, api_url: str) -> tuple[Path, Path]:
    cfg, sec = tmp_path / "settings.yaml", tmp_path / "secrets.yaml"
    sec.write_text(f"ALERTS_TELEGRAM_TOKEN: '{TOKEN}'\n")
    sec.chmod(0o600)
    cfg.write_text(
        "secrets_file: secrets.yaml\nalerts:\n  channels:\n    telegram:\n"
        f"      token: ${{ALERTS_TELEGRAM_TOKEN}}\n      chat_ids: [42]\n      api_url: {api_url}\n"
    )
    return cfg, sec


def submit(cfg: Path, **values: object) -> tuple[dict, str | None]:
    """What pressing Save does: parse the form against the file, hand it to the writer."""
    doc = SettingsWriter(cfg).document()
    base = {f.key: f.value for f in form_fields.fields(doc, None) if f.key.startswith("ch.telegram.")}
    parsed = form_parse.parse({**base, **values}, doc)
    assert not parsed.errors, parsed.errors
    try:
        SettingsWriter(cfg, env={"HOME": "/root", "AWS_SECRET": "aws-s3cret"}).save(
            parsed.changes, parsed.secrets
        )
    except SettingsError as exc:
        return {form_parse.error_field(exc.key, doc): exc.reason}, str(exc)
    return {}, None


def test_changing_api_url_alone_is_refused_and_the_token_never_reaches_it(httpserver, tmp_path) -> None:
    saved = httpserver.url_for("/saved")
    cfg, sec = files(tmp_path, saved)
    before = cfg.read_bytes(), sec.read_bytes()
    errors, text = submit(cfg, **{"ch.telegram.api_url": httpserver.url_for("/attacker")})
    assert "ch.telegram.token" in errors and "type it again" in errors["ch.telegram.token"]
    assert TOKEN not in (text or "")
    assert (cfg.read_bytes(), sec.read_bytes()) == before
    # Test Alert sends with what is saved: the attacker's path never sees a request, let alone the token
    httpserver.expect_request(f"/saved/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}}}
    )
    settings = load_settings(cfg)
    ch = build(settings.alerts, "http://dash.test")["telegram"]
    p = {
        "alert_id": "t",
        "kind": "test",
        "severity": "info",
        "bot": "test",
        "summary": "test",
        "rule": "test",
    }
    assert ch.send("42", [Row(1, "t", "t", "telegram", "42", "test", 0, p, 0.0, 1)]).status == DELIVERED
    ch.close()
    assert all("/attacker" not in req.path for req, _ in httpserver.log)
    # typing the token again moves it, deliberately
    errors, _ = submit(
        cfg, **{"ch.telegram.api_url": httpserver.url_for("/new"), "ch.telegram.token": "9:new"}
    )
    assert errors == {}


@pytest.mark.parametrize("typed", ["${HOME}", "${AWS_SECRET:-x}", "${NOT_SET_ANYWHERE}", "$${HOME}"])
def test_a_variable_typed_in_the_form_is_stored_literally(tmp_path, typed: str) -> None:
    cfg, _ = files(tmp_path, "https://api.telegram.org")
    url = "https://api.telegram.org/" + typed
    errors, text = submit(cfg, **{"ch.telegram.api_url": url, "ch.telegram.token": "9:new-token"})
    assert errors == {} and text is None  # no error text to reveal whether the variable exists
    loaded = load_settings(cfg, env={"HOME": "/root", "AWS_SECRET": "aws-s3cret"})
    assert loaded.alerts.channels["telegram"].api_url == url  # exactly what was typed
    doc = SettingsWriter(cfg).document()
    shown = {f.key: f.value for f in form_fields.fields(doc, None)}
    assert shown["ch.telegram.api_url"] == url  # and shown as typed


def test_a_broken_secrets_file_is_reported_without_its_lines(tmp_path) -> None:
    cfg, sec = files(tmp_path, "https://api.telegram.org")
    sec.write_text(f"ALERTS_TELEGRAM_TOKEN: '{TOKEN}'\n  bad: [\n")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert TOKEN not in str(err.value) and "SAVED" not in str(err.value)


@pytest.mark.parametrize(
    ("channel", "saved", "moved", "secret"),
    [
        (
            "sms",
            "account_sid: AC1\n      auth_token: ${ALERTS_SMS_AUTH_TOKEN}\n"
            "      from_number: '+15550000001'\n      to_numbers: ['+15550000002']\n      api_url: https://api.twilio.com\n",
            {"ch.sms.api_url": "http://127.0.0.1:9/steal"},
            "auth_token",
        ),
        (
            "slack",
            "token: ${ALERTS_SLACK_TOKEN}\n      channel: '#ops'\n",
            {"ch.slack.api_url": "http://127.0.0.1:9/steal/"},
            "token",
        ),
        (
            "email",
            EMAIL,
            {"ch.email.host": "127.0.0.1"},
            "password",
        ),
        (
            "email",
            EMAIL,
            {"ch.email.port": "2525"},
            "password",
        ),
    ],
)
def test_every_destination_change_needs_its_secret_typed_again(
    tmp_path, channel: str, saved: str, moved: dict, secret: str
) -> None:
    cfg, sec = tmp_path / "settings.yaml", tmp_path / "secrets.yaml"
    name = f"ALERTS_{channel.upper()}_{secret.upper()}"
    sec.write_text(f"{name}: saved-secret-value-123\n")
    sec.chmod(0o600)
    cfg.write_text(f"secrets_file: secrets.yaml\nalerts:\n  channels:\n    {channel}:\n      {saved}")
    before = cfg.read_bytes(), sec.read_bytes()
    doc = SettingsWriter(cfg).document()
    values = {f.key: f.value for f in form_fields.fields(doc, None) if f.key.startswith(f"ch.{channel}.")}
    parsed = form_parse.parse({**values, **moved}, doc)
    assert not parsed.errors, parsed.errors
    with pytest.raises(SettingsError) as err:
        SettingsWriter(cfg).save(parsed.changes, parsed.secrets)
    assert form_parse.error_field(err.value.key, doc) == f"ch.{channel}.{secret}"  # shown next to the field
    assert "saved-secret-value" not in str(err.value)
    assert (cfg.read_bytes(), sec.read_bytes()) == before
