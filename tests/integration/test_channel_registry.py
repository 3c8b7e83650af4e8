"""A channel type added through the registry alone is validated, scrubbed and delivered like a built-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.channels import registry
from alerts.config import AlertsSettings, Route
from app.dashboard import form_fields, form_parse
from app.dashboard.alerts_commands import channel_label
from tests.support import toy_channel
from tests.support.alerts import FakeClock, Feed, make_service


@pytest.fixture
def jsonl() -> Iterator[registry.ChannelType]:
    registry.register(toy_channel.TYPE)
    yield toy_channel.TYPE
    registry.unregister("jsonl")


def _settings(path, token="tok-0123456789") -> AlertsSettings:
    return AlertsSettings(
        channels={"audit": toy_channel.JsonlSettings(path=str(path), token=token)},
        routes={"critical": Route(channels=["audit"])},
    )


def test_registered_type_receives_an_alert_through_outbox_and_worker(jsonl, tmp_path) -> None:
    out = tmp_path / "alerts.jsonl"
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _settings(out), tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    [line] = toy_channel.lines(out)
    assert line["alert"]["rule"] == "kill_switch" and line["alert"]["kind"] == "firing"
    assert line["idem"].endswith(":audit:default")
    [row] = svc.outbox.notifications(channel="audit")
    assert row.status == "sent"
    svc.stop()


def test_registered_type_secret_is_scrubbed_from_the_failure(jsonl, tmp_path) -> None:
    token = "tok-secret-987654321"
    clock = FakeClock()
    feed = Feed(clock)
    svc = make_service(feed, _settings(tmp_path / "missing-dir" / "a.jsonl", token), tmp_path)
    feed.health(kill_switch="triggered")
    svc.pump()
    [row] = svc.outbox.notifications(channel="audit")
    assert row.status == "dead" and "no directory" in (row.last_error or "")
    assert token not in (row.last_error or "") and token not in (
        svc.status().channels["audit"].last_error or ""
    )
    svc.stop()


def test_registered_type_is_known_to_form_labels_and_required_fields(jsonl) -> None:
    assert channel_label("audit", "jsonl") == "audit (JSON lines)"
    slots = form_fields.channel_names({"alerts": {"channels": {}}})
    assert slots["jsonl"] == "jsonl"
    keys = [f.key for f in form_fields.fields({"alerts": {"channels": {}}}, None)]
    assert "ch.jsonl.path" in keys
    parsed = form_parse.parse({"ch.jsonl.enabled": True, "ch.jsonl.path": ""}, {"alerts": {"channels": {}}})
    assert parsed.errors["ch.jsonl.path"] == "required: jsonl needs path"
    with pytest.raises(ValueError, match="channel of type jsonl: needs path"):
        toy_channel.JsonlSettings()
