"""Settings: the shipped file is valid, bad files stop start-up naming file, key and reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import overrides, parse_args
from app.settings import DEFAULT_PATH, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_shipped_settings_are_valid_and_safe_by_default() -> None:
    s = load_settings(DEFAULT_PATH)
    assert s.server.host == "127.0.0.1" and s.server.port == 8050
    assert [(e.url, e.mode) for e in s.collector.endpoints] == [("tcp://127.0.0.1:5556", "bind")]
    assert s.collector.stale_after_s == 10 and s.collector.max_message_bytes == 65536
    assert s.metrics.default_starting_equity == 10000 and s.metrics.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("server:\n  port: eighty\n", "server.port", "Expected `int`, got `str`"),
        ("server:\n  port: 70000\n", "server.port", "<= 65535"),
        ("collector:\n  stale_after_s: -1\n", "collector.stale_after_s", "> 0"),
        ("collector:\n  endpoints:\n    - url: http://x\n", "collector.endpoints[0].url", "matching regex"),
        ("metrics:\n  timezone: Mars/Olympus\n", "metrics.timezone", "unknown timezone"),
        ("metrics:\n  sharpe_interval_s: 60\n  sharpe_window_s: 60\n", "metrics.sharpe_window_s", "twice"),
        ("metrcs: {}\n", "", "unknown field `metrcs`"),
        ("bots:\n  b1:\n    starting_equity: 0\n", "bots.b1.starting_equity", "> 0"),
    ],
)
def test_invalid_settings_name_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.path == str(path)
    assert err.value.key == key
    assert reason in err.value.reason


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(write(tmp_path, "server: [\n"))
    with pytest.raises(SettingsError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_env_substitution(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  public_url: ${PUBLIC_URL}\n  host: ${HOST:-127.0.0.2}\n")
    s = load_settings(path, env={"PUBLIC_URL": "https://mon.example"})
    assert (s.server.public_url, s.server.host) == ("https://mon.example", "127.0.0.2")
    with pytest.raises(SettingsError) as err:
        load_settings(path, env={})
    assert err.value.key == "server.public_url" and "PUBLIC_URL is not set" in err.value.reason


def test_cli_flags_override_the_file(tmp_path: Path) -> None:
    args = parse_args(["--host", "0.0.0.0", "--port", "9000", "--zmq", "tcp://127.0.0.1:7000"])
    s = load_settings(DEFAULT_PATH, overrides(args))
    assert (s.server.host, s.server.port) == ("0.0.0.0", 9000)
    assert [e.url for e in s.collector.endpoints] == ["tcp://127.0.0.1:7000"]


def test_monitor_refuses_to_start_on_invalid_settings(tmp_path: Path) -> None:
    path = write(tmp_path, "collector:\n  max_message_bytes: lots\n")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{path}: collector.max_message_bytes: Expected `int`, got `str`" in proc.stderr


def test_monitor_refuses_to_start_on_a_threshold_outside_its_range(tmp_path: Path) -> None:
    """``max_latency_ms: -3`` stops start-up with the file, the key and the form's reason."""
    path = write(tmp_path, "alerts:\n  thresholds:\n    max_latency_ms: -3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{path}: alerts.thresholds.max_latency_ms: must be a positive number" in proc.stderr
