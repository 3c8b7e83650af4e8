"""The settings form says, on a route to Alertmanager, that repeats and escalation are Alertmanager's job."""

from __future__ import annotations

from app.dashboard import form_fields

DOC = {
    "alerts": {
        "channels": {
            "alertmanager": {"urls": ["http://am1:9093"]},  # named after its type: no `type:`
            "ops": {"type": "webhook", "urls": ["https://example.org/hook"]},
        },
        "routes": {"critical": {"channels": ["alertmanager", "ops"]}, "warning": {"channels": ["ops"]}},
    }
}


def test_only_a_route_to_alertmanager_says_it_repeats_and_escalates_by_itself() -> None:
    labels = {f.key: f.label for f in form_fields.fields(DOC, None)}
    note = "Alertmanager repeats and escalates by itself"
    assert note in labels["route.critical.repeat"] and note in labels["route.critical.escalate_after"]
    assert note not in labels["route.warning.repeat"] and note not in labels["route.info.escalate_after"]
