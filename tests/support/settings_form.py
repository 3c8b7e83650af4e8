"""Drive the Alerts tab's settings form without a browser: what a page would submit, against a file."""

from __future__ import annotations

from typing import Any

from app.dashboard import form_fields, form_parse
from app.settings_writer import SettingsWriter, plain


def submit(writer: SettingsWriter, **changes: Any) -> form_parse.Parsed:
    """Every field as shown now, with ``changes`` typed over it (``ch__email__host`` = ``ch.email.host``)."""
    doc = plain(writer.document())
    values = {f.key: f.value for f in form_fields.fields(doc, None)}
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return form_parse.parse(values, doc)


def save(writer: SettingsWriter, **changes: Any):
    """Submit and save; the form's field errors must be empty (they are asserted by the caller otherwise)."""
    parsed = submit(writer, **changes)
    assert parsed.errors == {}, parsed.errors
    return writer.save(parsed.changes, parsed.secrets)


# ---- the form in a browser (dash_duo) ------------------------------------------------------------
def pattern_id(key: str, kind: str) -> str:
    """The DOM id Dash gives a pattern-matching id {"type": kind, "key": key} (keys sorted)."""
    return '{"key":"' + key + '","type":"' + kind + '"}'


def switch_state(dash_duo: Any, key: str) -> tuple[bool, str]:
    """(is the switch checked, the words next to it)."""
    return dash_duo.driver.execute_script(
        "var s = document.getElementById(arguments[0]), w = document.getElementById(arguments[1]);"
        "return [!!(s && s.checked), w ? w.textContent : null];",
        pattern_id(key, "as"),
        pattern_id(key, "asw"),
    )


def note_text(dash_duo: Any, key: str) -> str:
    """The remark under a threshold's value field ('' when none)."""
    return dash_duo.driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
        pattern_id(key, "ano"),
    )


def scroll_to(dash_duo: Any, css: str) -> Any:
    """Put an element in the middle of the screen at once (the page's CSS scrolls smoothly otherwise)."""
    el = dash_duo.find_element(css)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", el)
    return el


def type_into(dash_duo: Any, key: str, text: str) -> None:
    """Replace a text field's value as a trader does, and leave it (Tab commits a debounced input)."""
    from selenium.webdriver.common.keys import Keys

    el = scroll_to(dash_duo, "[id='" + pattern_id(key, "af") + "']")
    el.click()
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(text + "\t")


def flip(dash_duo: Any, key: str) -> None:
    """Click a switch like a trader (on its input)."""
    el = scroll_to(dash_duo, "[id='" + pattern_id(key, "as") + "']")
    el.click()


def in_viewport(dash_duo: Any, css: str) -> bool:
    """Whether the element is wholly inside the visible window (scrollbars excluded), without scrolling."""
    return dash_duo.driver.execute_script(
        "var e = document.querySelector(arguments[0]); if (!e) { return false; }"
        "var r = e.getBoundingClientRect(), v = document.documentElement;"
        "return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&"
        " r.bottom <= v.clientHeight && r.right <= v.clientWidth;",
        css,
    )
