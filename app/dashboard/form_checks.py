"""Checking one submitted value of the form by its kind: the parsed value, or the message shown next to it.

A message names an item of a list by its position, never by its value: a URL may carry a token.
A threshold's value is checked against its catalog row's range (:func:`threshold_kind`), the
same range the settings type's bounds come from, so the form and a settings file refuse alike.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from functools import cache
from typing import Any

from alerts import catalog, safety_catalog

EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+\Z")


E164 = re.compile(r"^\+[1-9]\d{6,14}\Z")


CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})\Z")


URL = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.IGNORECASE)


#: An Apprise URL (``json://host/path``, ``discord://id/token``): any scheme, no spaces.
APPRISE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+\Z", re.IGNORECASE)


HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,253}\Z")


def split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n;]+", text or "") if p.strip()]


def check(kind: str, text: Any) -> tuple[Any, str | None]:
    """(parsed value, None) or (None, the message shown next to the field)."""
    if kind in ("switch", "checklist", "severity"):
        return text, None
    text = "" if text is None else str(text).strip()
    checker = _CHECKS.get(kind)
    return checker(text) if checker else (text or None, None)


def _number(
    text: str,
    *,
    low: float | None = None,
    strict: bool = False,
    high: float | None = None,
    optional: bool = False,
    what: str = "a number",
) -> tuple[Any, str | None]:
    if not text:
        return (None, None) if optional else (None, f"enter {what}")
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None, f"must be {what}"
    if (
        not math.isfinite(value)
        or (low is not None and (value <= low if strict else value < low))
        or (high is not None and value > high)
    ):
        return None, f"must be {what}"
    return (int(value) if value.is_integer() and abs(value) < 1e15 else value), None


def threshold_kind(rule: catalog.ThresholdRule) -> str:
    """The form kind of a threshold's value field: checked against the rule's own range."""
    return f"threshold.{rule.name}"


def _in_range(rng: catalog.Range):
    """An optional number (empty = no value) inside ``rng``, refused with the range's reason."""

    def run(text: str) -> tuple[Any, str | None]:
        if not text:
            return None, None
        try:
            value = float(text.replace(",", "").replace("_", ""))
        except ValueError:
            return None, rng.reason
        if not rng.holds(value):
            return None, rng.reason
        return (int(value) if value.is_integer() else value), None

    return run


def _listed(pattern: re.Pattern, what: str):
    def run(text: str) -> tuple[Any, str | None]:
        items = split_list(text)
        bad = [n for n, i in enumerate(items, 1) if not pattern.fullmatch(i)]
        if bad:  # by position, never the value: a URL may carry a token
            return None, f"item {bad[0]} is not {what}"
        return items, None

    return run


def _one(pattern: re.Pattern, what: str):
    """One value or none: whether a field is needed is the channel type's ``required`` rule."""

    def run(text: str) -> tuple[Any, str | None]:
        if not text:
            return None, None
        return (text, None) if pattern.fullmatch(text) else (None, f"must be {what}")

    return run


def _port(text: str) -> tuple[Any, str | None]:
    if not text:
        return None, None
    value, err = _number(text, low=1, high=65535, what="a port number (1-65535)")
    return (value, err) if err or isinstance(value, int) else (None, "must be a port number (1-65535)")


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone name this system knows, by its lower-case spelling (typed case is forgiven)."""
    return {z.lower(): z for z in zoneinfo.available_timezones() | {"UTC"}}


def timezone_names() -> list[str]:
    """The zone names the form offers (sorted), the same set the field accepts."""
    return sorted(_zones().values())


def _timezone(text: str) -> tuple[Any, str | None]:
    if not text:
        return None, "enter a timezone, e.g. UTC or Europe/Berlin"
    known = _zones().get(text.lower())
    if known is None:
        return None, "unknown timezone: use an IANA name such as UTC, Europe/Berlin or America/New_York"
    return known, None


def _secret(text: str) -> tuple[Any, str | None]:
    if text and any(c.isspace() for c in text):
        return None, "must not contain spaces"
    return text or None, None


_CHECKS = {
    "pos": lambda t: _number(t, low=0, strict=True, what="a positive number"),
    "nonneg": lambda t: _number(t or "0", low=0, what="zero or a positive number"),
    "posopt": lambda t: _number(t, low=0, strict=True, optional=True, what="a positive number"),
    "nonnegopt": lambda t: _number(t, low=0, optional=True, what="zero or a positive number"),
    "port": _port,
    "host": _one(HOST, "a host name or IP address"),
    "email": _one(EMAIL, "an e-mail address"),
    "emails": _listed(EMAIL, "an e-mail address"),
    "url": _one(URL, "an http(s):// URL"),
    "url?": _one(URL, "an http(s):// URL"),  # as "url": an empty value is always accepted
    "urls": _listed(URL, "an http(s):// URL"),
    "appriseurls": _listed(APPRISE_URL, "an Apprise URL such as json://host/path"),
    "e164": _one(E164, "a phone number in E.164 format, e.g. +14155550123"),
    "e164s": _listed(E164, "a phone number in E.164 format, e.g. +14155550123"),
    "chatids": _listed(CHAT_ID, "a Telegram chat id (a number such as -1001234567890, or @channel)"),
    "secret": _secret,
    "text": lambda t: (t or None, None),
    "tz": _timezone,
    **{threshold_kind(t): _in_range(t.range) for t in catalog.THRESHOLDS},
    **{f"safety.{x.name}": _in_range(x.range) for x in safety_catalog.SAFETY_LIMITS},
    **{f"fleet.{r.name}": _in_range(r.range) for r in safety_catalog.FLEET},
}
