"""The pure rules of silences: the matcher, the refusals, the listing (alerts/silences.py)."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from alerts import silences
from alerts.silences import ANY, Silence, SilencesSettings

T0 = 1_700_000_000.0
RULES = ("kill_switch", "drawdown", "stale")
SEVERITIES = ("info", "warning", "critical")


def _silence(**kw: object) -> Silence:
    doc = {"id": "s-1", "bot": "b1", "rule": ANY, "severity": ANY, "starts_at": T0, "ends_at": T0 + 60}
    return Silence(**{**doc, "author": "api", **kw})  # type: ignore[arg-type]


def _refusal(bot: str = "b1", rule: str = ANY, severity: str = ANY, duration: float | None = 60.0) -> str:
    return silences.refusal(
        bot, rule, severity, duration, max_duration_s=3600, rules=RULES, severities=SEVERITIES
    )


def test_a_silence_mutes_inside_its_window_only() -> None:
    s = _silence()
    assert not silences.matches(s, "b1", "drawdown", "warning", T0 - 0.001)
    assert silences.matches(s, "b1", "drawdown", "warning", T0)
    assert silences.matches(s, "b1", "drawdown", "warning", T0 + 59.999)
    assert not silences.matches(s, "b1", "drawdown", "warning", T0 + 60)
    assert not silences.matches(s, "b2", "drawdown", "warning", T0 + 1)


def test_an_expired_silence_mutes_nothing_from_its_expiry() -> None:
    s = silences.expire(_silence(), T0 + 10, "telegram:1")
    assert s.expired_by == "telegram:1" and s.ended_at == T0 + 10
    assert silences.matches(s, "b1", "x", "info", T0 + 9.9)
    assert not silences.matches(s, "b1", "x", "info", T0 + 10)
    assert silences.expire(s, T0 + 20, "api") is s  # ended already: unchanged


def test_the_silence_ending_last_is_the_one_named() -> None:
    short, long_ = _silence(id="a"), _silence(id="b", ends_at=T0 + 600)
    assert silences.silencing([short, long_], "b1", "r", "info", T0 + 1) is long_
    assert silences.silencing([short, long_], "b2", "r", "info", T0 + 1) is None


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        ({"bot": ANY}, "A silence of everything"),
        ({"rule": "nope"}, "rule: nope is not a rule"),
        ({"severity": "loud"}, "severity: loud is not a severity"),
        ({"duration": None}, "duration: an end is required"),
        ({"duration": 0.0}, "duration: the end must be after the start"),
        ({"duration": -5.0}, "duration: the end must be after the start"),
        ({"duration": math.nan}, "duration: the end must be after the start"),
        ({"duration": 3600.5}, "duration: at most 3600 s (silences.max_duration_s)."),
        ({"bot": ""}, "bot: give a name"),
        ({"bot": "a\nb"}, "bot: give a name"),
        ({"bot": "x" * 129}, "bot: give a name"),
    ],
)
def test_refusals_say_which_field_and_why(args: dict, starts: str) -> None:
    assert _refusal(**args).startswith(starts)


def test_any_bot_name_known_or_not_is_accepted() -> None:
    assert _refusal(bot="a-bot-never-seen") == ""
    assert _refusal(bot=ANY, rule="stale") == ""
    assert _refusal(bot=ANY, severity="critical", duration=3600) == ""


def test_ended_silences_stay_listed_five_days_after_their_end() -> None:
    live = _silence(id="live", ends_at=T0 + 10 * 86400)
    ended = silences.expire(_silence(id="ended"), T0 + 30, "api")
    old = _silence(id="old", ends_at=T0 + 60)
    now = T0 + 30 + silences.LISTED_FOR_S - 1
    assert [s.id for s in silences.in_list_order([old, ended, live], now)] == ["live", "old", "ended"]
    now = T0 + 59 + silences.LISTED_FOR_S
    assert [s.id for s in silences.in_list_order([old, ended, live], now)] == ["live", "old"]


def test_the_setting_is_validated() -> None:
    assert SilencesSettings().max_duration_s == 7 * 86400
    for bad in (0, -1, 400 * 86400):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"max_duration_s": bad}, SilencesSettings)


names = st.sampled_from(["b1", "b2", "r1", "r2", "info", "critical", ANY])


@hsettings(max_examples=300, deadline=None)
@given(
    bot=names,
    rule=names,
    sev=names,
    starts=st.floats(-1e6, 1e6),
    length=st.floats(0, 1e6),
    expired=st.none() | st.floats(-1e6, 2e6),
    q=st.tuples(names, names, names),
    now=st.floats(-2e6, 3e6),
)
def test_a_silence_never_matches_outside_its_window_or_matchers(
    bot: str, rule: str, sev: str, starts: float, length: float, expired: float | None, q: tuple, now: float
) -> None:
    s = Silence(
        id="s", bot=bot, rule=rule, severity=sev, starts_at=starts, ends_at=starts + length,
        author="api", expired_at=expired,
    )  # fmt: skip
    qbot, qrule, qsev = q
    if silences.matches(s, qbot, qrule, qsev, now):
        assert starts <= now < starts + length
        assert expired is None or now < expired
        assert bot in (ANY, qbot) and rule in (ANY, qrule) and sev in (ANY, qsev)
        assert silences.listed(s, now)


@hsettings(max_examples=200, deadline=None)
@given(
    specs=st.lists(st.tuples(names, names, names, st.floats(0, 100), st.floats(0, 100)), max_size=12),
    q=st.tuples(names, names, names),
    now=st.floats(0, 200),
)
def test_the_gates_index_answers_as_reading_every_silence(specs: list, q: tuple, now: float) -> None:
    listed = {
        f"s{i}": Silence(
            id=f"s{i}", bot=b, rule=r, severity=v, starts_at=start, ends_at=start + length, author="api"
        )
        for i, (b, r, v, start, length) in enumerate(specs)
    }
    index = silences.ActiveIndex(listed, now)
    assert index.valid(listed, now)
    assert index.silencing(*q, now) == silences.silencing(listed.values(), *q, now)
    assert not index.valid(dict(listed), now)  # another version of the silences: rebuilt
    if index.valid_until < math.inf:
        assert not index.valid(listed, index.valid_until)  # one of them ended: rebuilt
