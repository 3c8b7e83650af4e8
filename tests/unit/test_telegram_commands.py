"""The pure parts of the Telegram front end: parsing, usage answers, escaping, 4,096 splitting,
button data within 64 bytes, and the user + chat check."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import msgspec
import pytest

from alerts import buttons
from alerts.channels.telegram import TelegramSettings
from alerts.notification import Report, ReportLine
from alerts.read_model import ActiveAlert
from app.settings import SettingsError, load_settings
from app.telegram import replies
from app.telegram.auth import MAX_REMEMBERED, Gate
from app.telegram.commands import COMMANDS, Command, Refused, duration_s, help_text, parse, usage
from app.telegram.text import MAX_CHARS, esc, split
from core import present
from core.documents import MetricsDocument
from tests.support.documents import bot_metrics, metrics_doc

HOSTILE = "<b>x</b>&amp;"


# ---- parsing and usage -------------------------------------------------------------------------
def test_parse_commands_with_arguments_and_bot_suffix():
    assert parse("/status") == Command("status")
    assert parse("/PnL b1") == Command("pnl", ("b1",))
    assert parse("/status@monitor_bot", "monitor_bot") == Command("status")
    assert parse("/silence b1 * 2h deploy in progress") == Command(
        "silence", ("b1", "*", "2h", "deploy", "in", "progress")
    )
    assert parse("/start") == Command("help")


def test_not_for_us_is_silence():
    assert parse("hello") is None
    assert parse(None) is None
    assert parse("/status@other_bot", "monitor_bot") is None  # another bot's command in a group
    assert parse("/" + "x" * 5000) is None


def test_unknown_command_and_bad_arguments_get_one_usage_line():
    unknown = parse("/frobnicate")
    assert isinstance(unknown, Refused) and "/help" in unknown.answer and "\n" not in unknown.answer
    assert parse("/ack") == Refused(usage("ack"))
    assert parse("/ack a b") == Refused("Usage: /ack <alert id>")
    assert parse("/pnl a b") == Refused("Usage: /pnl [bot]")
    assert parse("/silence b1 rule") == Refused(usage("silence"))
    assert parse("/status extra") == Refused("Usage: /status")


def test_durations():
    assert duration_s("90") == 90
    assert duration_s("30m") == 1800
    assert duration_s("2h") == 7200
    assert duration_s("1d") == 86400
    for bad in ("0", "-1h", "2x", "h", "31d", "1.5h", ""):
        assert duration_s(bad) is None, bad


def test_help_lists_every_command_with_placeholders_escaped():
    text = help_text()
    for name in COMMANDS:
        assert f"/{name}" in text
    assert "&lt;alert id&gt;" in text and "<alert id>" not in text


# ---- escaping and splitting --------------------------------------------------------------------
def test_escape_hostile_text():
    assert esc(HOSTILE) == "&lt;b&gt;x&lt;/b&gt;&amp;amp;"


def test_split_respects_the_limit_between_lines_and_counts_the_rest():
    text = "\n".join(f"line {i} " + "x" * 100 for i in range(1000))
    parts = split(text)
    assert len(parts) == 4
    assert all(len(p) <= MAX_CHARS for p in parts)
    assert parts[-1].endswith("more lines")
    shown = sum(p.count("\n") + 1 for p in parts) - 1
    assert f"and {1000 - shown} more lines" in parts[-1]
    assert split("short") == ["short"]


def test_split_cuts_a_giant_line_never_inside_an_entity():
    line = esc("&" * 5000)
    (part,) = split(line)
    assert len(part) <= MAX_CHARS
    assert part.rstrip("\u2026").endswith("&amp;")


# ---- button data -------------------------------------------------------------------------------
def test_button_data_fits_64_bytes_for_the_longest_alert_id():
    longest = "f" * 40
    for data in (buttons.ack_data(longest), buttons.silence_data(longest, buttons.MAX_SILENCE_S)):
        assert data is not None and len(data.encode()) <= buttons.MAX_DATA_BYTES
    assert buttons.decode(buttons.ack_data(longest)) == buttons.Press("ack", longest)
    assert buttons.decode(buttons.silence_data("abc")) == buttons.Press("silence", "abc", 3600)
    assert buttons.ack_data("f" * 41) is None
    assert buttons.ack_data("a:b") is None


@pytest.mark.parametrize(
    "data",
    ["", "a:", "a:x:y", "s:abc", "s:abc:0", "s:abc:-5", "s:abc:99999999", "z:abc", "a:<b>", "a:" + "f" * 70],
)
def test_button_data_not_ours_is_refused(data):
    assert buttons.decode(data) is None


# ---- the user + chat check ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "chat", "allowed"),
    [
        (111, -100, True),  # operator in the group the monitor sends to
        (111, 111, False),  # operator in a private chat not listed
        (222, -100, False),  # someone else in the listed group
        (222, 222, False),
        (None, -100, False),  # no user (a channel post)
        (111, None, False),  # no chat (an inline query)
    ],
)
def test_auth_matrix(user, chat, allowed):
    assert Gate([111], ["-100"]).allows(user, chat) is allowed


def test_refusals_are_counted_and_logged_once_per_user_within_a_bound():
    gate = Gate([111], [-100])
    assert gate.refuse(222) is True
    assert gate.refuse(222) is False
    assert gate.refused == 2
    for u in range(MAX_REMEMBERED + 10):
        gate.refuse(10_000 + u)
    assert len(gate._seen) == MAX_REMEMBERED


# ---- replies, from typed documents ------------------------------------------------------------
def _doc(bot: str = HOSTILE) -> MetricsDocument:
    m = bot_metrics(equity=12345.678, currency="USD", daily_pnl=-12.5, drawdown=0.1234, last_event_age_s=0.4)
    return metrics_doc({bot: m})


def test_status_words_figures_like_the_presenter_and_escapes_bot_names():
    doc = _doc()
    m = doc.bots[HOSTILE]
    zone = ZoneInfo("Europe/Paris")
    alert = ActiveAlert(
        alert_id="a1",
        key="k",
        rule="max_drawdown",
        bot=HOSTILE,
        severity="critical",
        status="firing",
        since=1.0,
    )
    text = replies.status(doc, [alert], {HOSTILE: 2}, replies.Clock(1_700_000_000.0, zone))
    assert "<b>&lt;b&gt;x&lt;/b&gt;&amp;amp;</b>" in text
    assert HOSTILE not in text
    assert f"equity {present.money(m.equity)} USD" in text  # 12,345.68 USD
    assert f"daily P&amp;L {present.signed(m.daily_pnl)} USD" in text
    assert f"drawdown {present.drawdown(m.drawdown)}" in text  # 12.34%
    assert "last event 0.4 s ago" in text
    assert "open positions 2 · firing alerts 1" in text
    assert ("STALE" if m.stale else "live") in text
    assert "CET" in text


def test_totals_never_add_two_currencies():
    doc = _doc("b1")
    eur = msgspec.structs.replace(doc.bots["b1"], currency="EUR", equity=5.0, daily_pnl=1.0)
    usd = msgspec.structs.replace(doc.bots["b1"], currency="USD", equity=7.0, daily_pnl=-2.0)
    two = msgspec.structs.replace(doc, bots={"e": eur, "u": usd})
    lines = replies.totals(two)
    assert "  EUR: equity 5.00 · daily P&amp;L +1.00" in lines
    assert "  USD: equity 7.00 · daily P&amp;L -2.00" in lines


def test_report_is_its_title_then_a_line_per_figure_escaped():
    body = Report(HOSTILE, (ReportLine(f"{HOSTILE} P&L", "+1.00 USD"), ReportLine("Alerts", "fired 0")))
    assert replies.report(body).split("\n") == [
        "<b>&lt;b&gt;x&lt;/b&gt;&amp;amp;</b>",
        "&lt;b&gt;x&lt;/b&gt;&amp;amp; P&amp;L: +1.00 USD",
        "Alerts: fired 0",
    ]


# ---- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ("operators: [-5]", "alerts.channels.telegram.operators[0]", ">= 1"),
        ("operators: [me]", "alerts.channels.telegram.operators[0]", "Expected `int`"),
        ("max_update_age_s: 0", "alerts.channels.telegram.max_update_age_s", "> 0"),
    ],
)
def test_invalid_telegram_operator_settings_stop_start_up_naming_file_key_and_reason(
    tmp_path, extra, key, reason
):
    path = tmp_path / "settings.yaml"
    path.write_text(
        f"alerts:\n  channels:\n    telegram: {{token: t, chat_ids: [-100], {extra}}}\n", encoding="utf-8"
    )
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert (err.value.path, err.value.key) == (str(path), key)
    assert reason in err.value.reason


def test_operator_settings_default_to_send_only():
    cfg = msgspec.convert({"token": "t", "chat_ids": [-100]}, TelegramSettings)
    assert (cfg.operators, cfg.max_update_age_s) == ([], 300.0)


def test_alerts_say_who_acknowledged_and_silenced_them():
    zone = ZoneInfo("UTC")
    alert = ActiveAlert(
        alert_id="a1",
        key="k",
        rule="max_drawdown",
        bot=HOSTILE,
        severity="critical",
        status="firing",
        since=1_700_000_000.0,
        summary="drawdown 20.00% > limit 10.00%",
        acked_by="telegram:1",
        acked_at=1_700_000_060.0,
        silence_id="s1",
        silenced_by="dashboard",
        silenced_until=1_700_003_600.0,
    )
    text = replies.alerts([alert], replies.Clock(1_700_000_100.0, zone))
    assert "acknowledged by telegram:1 at 22:14:20 UTC, silenced by dashboard until 23:13:20 UTC" in text
    assert "drawdown 20.00% &gt; limit 10.00%" in text and "<code>a1</code>" in text
