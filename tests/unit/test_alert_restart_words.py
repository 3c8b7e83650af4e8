"""The words of a resolve decided at a monitor restart: a fact with its times, never a blind all-clear.

Pure: payloads in, text out (the engine freezes ``after_restart`` into the payload).
"""

from __future__ import annotations

from alerts import messages
from alerts.channels import sms

STOPPED, BACK = 1_700_000_000.0, 1_700_000_095.0


def _payload(why: str | None, stopped: float | None = STOPPED) -> dict:
    p = {
        "alert_id": "a1",
        "kind": "resolved",
        "severity": "critical",
        "rule": "max_drawdown",
        "bot": "b1",
        "summary": "drawdown 20 % > limit 10 %",
        "resolved_summary": None if why == "unknown_bot" else "drawdown 8.1 % back within limit 10 %",
        "fired_at": STOPPED - 60,
        "resolved_at": BACK,
    }
    if why is not None:
        p["after_restart"] = {"why": why, "stopped_at": stopped, "restarted_at": BACK}
    return p


def _text(p: dict) -> str:
    return "\n".join([messages.headline(p), *messages.detail_lines(p)])


def test_resolved_during_the_outage_states_when_the_monitor_stopped_and_came_back():
    text = _text(_payload("outage"))
    assert text.startswith(
        "[CRITICAL] RESOLVED (while the monitor was down) b1: drawdown 8.1 % back within limit 10 %\n"
    )
    assert "last seen firing: drawdown 20 % > limit 10 %" in text
    assert (
        "resolved while the monitor was down: the monitor stopped at about 14 Nov 2023 22:13:20 UTC"
        " and restarted at 14 Nov 2023 22:14:55 UTC; the condition no longer held when it came back"
    ) in text


def test_an_unrecorded_stop_time_is_said_not_invented():
    text = _text(_payload("outage", stopped=None))
    assert "restarted at 14 Nov 2023 22:14:55 UTC (when it stopped is not recorded)" in text
    assert "about ?" not in text


def test_an_alert_of_a_bot_without_saved_state_ends_unverified_with_what_to_check():
    p = _payload("unknown_bot")
    text = _text(p)
    assert text.startswith(
        "[CRITICAL] RESOLVED UNVERIFIED b1: not checked again: no data of this bot since the monitor"
        " restarted; last known: drawdown 20 % > limit 10 %\n"
    )
    assert "back within" not in text  # never an all-clear it could not check
    assert "NOT VERIFIED" in text and "without an all-clear" in text and "check that b1 is running" in text
    assert sms.message([p], "http://d").startswith("CRITICAL RESOLVED UNVERIFIED")


def test_an_ordinary_resolve_says_nothing_of_a_restart():
    p = _payload(None)
    assert messages.headline(p) == "[CRITICAL] RESOLVED b1: drawdown 8.1 % back within limit 10 %"
    assert messages.restart_note(p) is None
    assert "monitor" not in _text(p)
    assert sms.message([p], "http://d").startswith("CRITICAL RESOLVED b1: drawdown 8.1 % back within")


def test_only_a_resolve_takes_the_restart_words():
    p = dict(_payload("outage"), kind="repeat")
    assert messages.kind_word(p) == "STILL FIRING"
