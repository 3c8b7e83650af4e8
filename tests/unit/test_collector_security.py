"""Start-up refuses an unauthenticated collector beyond loopback; the monitor's CURVE keys are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zmq
import zmq.auth

from app.__main__ import main
from app.settings import SettingsError, validate
from collectors.curve import is_public_key, key_paths, load_or_create_server_keys


def _collector(url: str, mode: str = "bind", **extra: object) -> dict:
    return {"collector": {"endpoints": [{"url": url, "mode": mode}], **extra}}


@pytest.mark.parametrize(
    "url", ["tcp://*:5556", "tcp://0.0.0.0:5556", "tcp://192.168.1.20:5556", "tcp://[::]:5556"]
)
def test_a_non_loopback_bind_without_curve_is_refused_with_key_and_reason(url: str) -> None:
    with pytest.raises(SettingsError) as err:
        validate(_collector(url), "s.yaml")
    assert err.value.key == "collector.endpoints[0].url"
    assert "without authentication" in err.value.reason and "allow_insecure" in err.value.reason


@pytest.mark.parametrize(
    "url", ["tcp://127.0.0.1:5556", "tcp://127.0.0.2:9", "tcp://localhost:5556", "ipc:///tmp/x"]
)
def test_loopback_and_local_binds_need_nothing(url: str) -> None:
    assert validate(_collector(url), "s.yaml").collector.curve.enabled is False


def test_allow_insecure_or_curve_lets_a_non_loopback_bind_start() -> None:
    assert validate(_collector("tcp://*:5556", allow_insecure=True), "s.yaml").collector.allow_insecure
    key = zmq.curve_keypair()[0].decode()
    s = validate(
        _collector("tcp://*:5556", curve={"enabled": True, "authorized_keys": {key: ["b"]}}), "s.yaml"
    )
    assert s.collector.curve.authorized_keys == {key: ["b"]}


def test_connecting_to_a_remote_bot_is_not_a_bind() -> None:
    assert validate(_collector("tcp://10.0.0.7:5556", mode="connect"), "s.yaml")


@pytest.mark.parametrize("key", ["short", "x" * 41, "#" * 40, "é" * 40])
def test_an_authorized_key_that_is_not_a_curve_public_key_is_refused(key: str) -> None:
    with pytest.raises(SettingsError) as err:
        validate(
            _collector("tcp://127.0.0.1:5556", curve={"enabled": True, "authorized_keys": {key: ["b"]}}),
            "s.yaml",
        )
    assert err.value.key.startswith("collector.curve.authorized_keys")


def test_a_plain_list_of_keys_is_refused_with_the_form_that_binds_keys_to_bots() -> None:
    key = zmq.curve_keypair()[0].decode()
    with pytest.raises(SettingsError) as err:
        validate(_collector("tcp://*:5556", curve={"enabled": True, "authorized_keys": [key]}), "s.yaml")
    assert err.value.key == "collector.curve.authorized_keys"
    assert "name the bot ids each key may publish as" in err.value.reason
    with pytest.raises(SettingsError, match="names no bot id"):
        validate(_collector("tcp://*:5556", curve={"enabled": True, "authorized_keys": {key: []}}), "s.yaml")
    assert validate(_collector("tcp://*:5556", curve={"enabled": True, "authorized_keys": []}), "s.yaml")


def test_the_command_line_refuses_an_insecure_bind_before_starting(tmp_path: Path, capsys) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(f"storage: {{data_dir: {tmp_path / 'data'}}}\n")
    assert main(["--config", str(config), "--zmq", "tcp://0.0.0.0:5556"]) == 2
    assert "collector.endpoints[0].url" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_the_monitor_key_pair_is_created_once_owner_only_and_reloaded(tmp_path: Path) -> None:
    public, secret = load_or_create_server_keys(tmp_path)
    public_path, secret_path = key_paths(tmp_path)
    assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
    assert is_public_key(public.decode()) and len(secret) == 40
    assert zmq.auth.load_certificate(public_path) == (public, None)  # what a bot is given
    assert secret.decode() not in public_path.read_text()
    assert load_or_create_server_keys(tmp_path) == (public, secret)  # the same pair after a restart


def test_a_secret_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_server_keys(tmp_path)
    os.chmod(key_paths(tmp_path)[1], 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_server_keys(tmp_path)
