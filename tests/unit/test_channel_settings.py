"""Channel types: typed settings per type, `type:` implied by the name, secrets marked in the type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from alerts.channels import registry
from alerts.channels.base import secret_values
from alerts.config import AlertsSettings
from app.settings import SettingsError, load_settings


def load(tmp_path: Path, channels: str):
    path = tmp_path / "s.yaml"
    path.write_text("alerts:\n  channels:\n" + channels)
    return load_settings(path, env={})


def test_a_channel_named_after_its_type_needs_no_type(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        "    webhook: {urls: [https://example.com/a]}\n    slack: {webhook_url: https://h.example/x}\n",
    )
    assert (s.alerts.channels["webhook"].type, s.alerts.channels["webhook"].urls) == (
        "webhook",
        ["https://example.com/a"],
    )
    assert s.alerts.channels["slack"].type == "slack"


def test_any_other_name_must_say_its_type(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, "    ops-hook: {urls: [https://example.com/a]}\n")
    assert err.value.key == "alerts.channels.ops-hook.type"
    assert "required" in err.value.reason and "webhook" in err.value.reason


def test_a_telegram_channel_refuses_webhook_keys(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, "    tg: {type: telegram, token: '1:abc', chat_ids: [1], urls: [https://x.example]}\n")
    assert err.value.key == "alerts.channels.tg"
    assert "unknown field `urls`" in err.value.reason


@pytest.mark.parametrize(
    ("cfg", "needs"),
    [
        ("{type: telegram, token: '1:abc'}", "needs token and chat_ids"),
        ("{type: slack, channel: '#a'}", "needs webhook_url, or token and channel"),
        ("{type: email, sender: a@b.example}", "needs sender and recipients"),
        ("{type: sms, account_sid: AC1}", "needs account_sid, auth_token, from_number and to_numbers"),
        ("{type: webhook}", "needs urls"),
    ],
)
def test_each_type_names_what_it_needs(tmp_path: Path, cfg: str, needs: str) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, f"    c: {cfg}\n")
    assert err.value.key == "alerts.channels.c" and needs in err.value.reason


def test_secret_and_destination_fields_come_from_the_types() -> None:
    t = registry.TYPES
    assert {"email", "slack", "telegram", "sms", "webhook"} <= set(t)  # the built-in types; more may be added
    assert (t["email"].secrets, t["email"].destinations) == (("password",), ("host", "port"))
    assert (t["slack"].secrets, t["slack"].destinations) == (
        ("webhook_url", "token"),
        ("webhook_url", "api_url"),
    )
    assert (t["telegram"].secrets, t["telegram"].destinations) == (("token",), ("api_url",))
    assert (t["sms"].secrets, t["sms"].destinations) == (("auth_token",), ("api_url",))
    assert (t["webhook"].secrets, t["webhook"].destinations) == (
        ("urls", "hmac_secret", "headers"),
        ("urls",),
    )


def test_every_secret_value_is_listed_for_scrubbing() -> None:
    cfg = msgspec.convert(
        {
            "channels": {
                "h": {
                    "type": "webhook",
                    "urls": ["https://a.example/T0K3N", "https://b.example/x"],
                    "hmac_secret": "hm4c-secret",
                    "headers": {"Authorization": "Bearer abcdef"},
                },
                "s": {
                    "type": "slack",
                    "token": "xoxb-123",
                    "channel": "#a",
                    "api_url": "https://api.example",
                },
            }
        },
        AlertsSettings,
    )
    assert sorted(secret_values(cfg.channels["h"])) == sorted(
        ["https://a.example/T0K3N", "https://b.example/x", "hm4c-secret", "Bearer abcdef"]
    )
    assert secret_values(cfg.channels["s"]) == ["xoxb-123"]  # the channel name and API URL are not secret


def test_every_form_field_is_a_setting_of_its_type() -> None:
    for kind, desc in registry.TYPES.items():
        names = {f.name for f in msgspec.structs.fields(desc.settings)}
        assert {f.name for f in desc.form} <= names, kind
        assert all(f in names for group in desc.settings.required for f in group), kind


def test_loading_settings_with_channels_imports_no_sdk(tmp_path: Path) -> None:
    """The types are known at start-up; a service's SDK loads only when its channel is made."""
    path = tmp_path / "s.yaml"
    path.write_text("alerts:\n  channels:\n    slack: {webhook_url: https://h.example/x}\n")
    sdks = "{m.split('.')[0] for m in sys.modules} & {'slack_sdk', 'telegram', 'twilio', 'yagmail'}"
    code = (
        "import sys\nfrom app.settings import load_settings\n"
        f"s = load_settings({str(path)!r}, env={{}})\nassert s.alerts.channels['slack'].type == 'slack'\n"
        f"print(sorted({sdks}))\n"
        "from alerts.channels import build\nbuild(s.alerts, 'http://d')\n"
        f"print(sorted({sdks}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["[]", "['slack_sdk']"]
