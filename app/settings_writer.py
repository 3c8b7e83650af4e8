"""Save settings.yaml from the dashboard without losing what a human wrote in it.

Why round-trip ruamel and not "dump the Settings struct": the file is
documentation too (comments, key order, commented-out examples, keys the form
does not manage, ``${VAR}`` references).  So a save re-reads the file *as it is
on disk now*, changes only the keys the form manages whose value really
changed, validates the result exactly like start-up would, and only then
writes it:

* atomically: a temporary file in the same directory, ``fsync``, ``rename``
  over the original, ``fsync`` of the directory -- a crash leaves the old file
  or the new one, never half of one;
* with a backup: the previous version is kept as ``settings.yaml.bak``;
* secrets never in clear: a secret typed in the form is written to the
  owner-only (0600) secrets file named by ``secrets_file:`` (default
  ``secrets.yaml`` next to settings.yaml, added to settings.yaml when absent),
  and settings.yaml gets a ``${NAME}`` reference to it (see app/settings.py).

An invalid result raises :class:`~app.settings.SettingsError` and writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.util import load_yaml_guess_indent

from alerts.channels import registry as channel_registry
from app.settings import Settings, SettingsError, read_secrets, secrets_path, substitute_env, validate
from app.settings_changes import DELETE, Change, get_path

DEFAULT_SECRETS_FILE = "secrets.yaml"

_LOCK = threading.Lock()  # one save at a time per process (two pages pressing Save at once)


def _yaml(text: str = "") -> YAML:
    """Round-trip YAML that writes ``null`` as ``null`` and keeps the file's list indentation."""
    y = YAML(typ="rt")
    if text:
        y.indent(**_indentation(text))
    y.preserve_quotes = True
    y.width = 120
    y.representer.add_representer(
        type(None), lambda rep, _d: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return y


def _indentation(text: str) -> dict[str, int]:
    """The file's own indentation, so a save does not re-indent every line of it."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "-"))]
    mapping = min((len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.startswith(" ")), default=2)
    try:
        _doc, seq, offset = load_yaml_guess_indent(text)
    except Exception:  # unparsable text is reported by the loader, not here
        seq, offset = None, None
    if offset is None:
        return {"mapping": mapping, "sequence": mapping, "offset": 0}
    return {"mapping": mapping, "sequence": seq or mapping, "offset": offset}


def load_document(path: str | Path) -> CommentedMap:
    """The file as an editable, comment-preserving mapping (empty file = empty mapping)."""
    text = Path(path).read_text(encoding="utf-8")
    doc = _yaml().load(text)
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise SettingsError(path, "", "the top level must be a mapping")
    return doc


def dump(doc: CommentedMap, like: str = "") -> str:
    """YAML text of ``doc``, indented like the text ``like`` (the file being replaced)."""
    buf = io.StringIO()
    _yaml(like).dump(doc, buf)
    return buf.getvalue()


def plain(doc: Any) -> Any:
    """CommentedMap/Seq -> dict/list (what the safe loader would have produced)."""
    if isinstance(doc, Mapping):
        return {str(k): plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [plain(v) for v in doc]
    if isinstance(doc, (bool, ScalarBoolean)):
        return bool(doc)
    for kind in (int, float, str):  # ruamel's ScalarFloat etc. would fail msgspec's strict types
        if isinstance(doc, kind):
            return kind(doc)
    return doc


def literal(value: Any, refs: Iterable[str] = ()) -> Any:
    """``value`` as the file must hold it to mean exactly this text: every ``${`` becomes ``$${``.

    What is typed in the page is stored literally (``${HOME}`` typed in a field stays the
    text ``${HOME}``, see app/settings.py); only the references the form itself made to the
    secrets typed in this save (``${NAME}`` with NAME in ``refs``) stay references.
    """
    if isinstance(value, str):
        keep = {"${" + r + "}" for r in refs}
        return value if value in keep else value.replace("${", "$${")
    if isinstance(value, Mapping):
        return {k: literal(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [literal(v, refs) for v in value]
    return value


def apply_changes(
    doc: CommentedMap,
    changes: Iterable[Change],
    refs: Iterable[str] | None = None,
    edited: list[str] | None = None,
) -> int:
    """Set (or delete) each path; untouched when equal, so comments and styles stay. Returns edits.

    With ``refs`` (the secret names typed in this save) values are stored literally, see
    :func:`literal`; a value equal to what the file holds is left as written, references included.
    ``edited`` receives the dotted key of every path really changed (keys only, never values).
    """
    edits = 0
    refs = None if refs is None else frozenset(refs)
    for path, value in changes:
        before = edits
        *parents, leaf = path
        node = doc
        for part in parents:
            child = get_path(node, [part])
            if not isinstance(child, (dict, list)):
                if value is DELETE:
                    break
                child = CommentedMap()
                node[part] = child
            node = child
        else:
            edits += _set(node, leaf, value, refs)
        if edited is not None and edits > before:
            edited.append(dotted(path))
    return edits


def dotted(path: Iterable[str | int]) -> str:
    """``("alerts", "rules", 2, "threshold")`` -> ``alerts.rules[2].threshold`` (how errors name keys)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _set(node: Any, leaf: str | int, value: Any, refs: frozenset[str] | None = None) -> int:
    exists = (leaf in node) if isinstance(node, dict) else (isinstance(leaf, int) and leaf < len(node))
    if value is DELETE:
        if exists:
            del node[leaf]
            return 1
        return 0
    stored = value if refs is None else literal(value, refs)
    if exists and plain(node[leaf]) in (plain(value), plain(stored)):
        return 0
    node[leaf] = _styled(stored, node)
    return 1


def _styled(value: Any, parent: Any) -> Any:
    """New containers inside a flow-style ``{...}`` stay flow style, so the line keeps its look."""
    flow = bool(getattr(getattr(parent, "fa", None), "flow_style", False))
    if isinstance(value, Mapping):
        out = CommentedMap((k, _styled(v, None)) for k, v in value.items())
    elif isinstance(value, list):
        out = CommentedSeq(_styled(v, None) for v in value)
    else:
        return value
    if flow or (isinstance(value, list) and all(not isinstance(v, (Mapping, list)) for v in value)):
        out.fa.set_flow_style()
    return out


@dataclass(frozen=True, slots=True)
class Saved:
    """What a save changed: names only, so it can be logged without any secret in it."""

    settings: Settings
    #: keys of settings.yaml whose value really changed (``alerts.rules[2].threshold``)
    keys: tuple[str, ...]
    #: names of the secrets whose value was typed anew (their values stay in the secrets file)
    secrets: tuple[str, ...]


class SettingsWriter:
    """Validate-then-write of settings.yaml (+ its secrets file) for the dashboard's form."""

    def __init__(self, path: str | Path, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.env = env

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")

    def document(self) -> CommentedMap:
        return load_document(self.path)

    def secrets_file(self, doc: Mapping | None = None) -> Path:
        doc = self.document() if doc is None else doc
        name = doc.get("secrets_file") or DEFAULT_SECRETS_FILE
        target = secrets_path(self.path, str(name))
        assert target is not None
        return target

    def secrets(self, doc: Mapping | None = None) -> dict[str, str]:
        doc = self.document() if doc is None else doc
        return read_secrets(self.path, doc.get("secrets_file") or DEFAULT_SECRETS_FILE)

    def save(self, changes: Iterable[Change], secrets: Mapping[str, str] | None = None) -> Settings:
        """Apply ``changes`` to the file as it is now, validate, back up, write; return the new settings.

        ``secrets`` are ``NAME: value`` pairs for the secrets file; the changes refer
        to them as ``${NAME}``.  Nothing is written when the result is invalid.
        """
        return self.save_report(changes, secrets).settings

    def save_report(self, changes: Iterable[Change], secrets: Mapping[str, str] | None = None) -> Saved:
        """:meth:`save`, also saying which keys and secret names really changed (for the log)."""
        changes = list(changes)
        edited: list[str] = []
        with _LOCK:
            doc = self.document()
            if secrets and "secrets_file" not in doc:
                doc["secrets_file"] = DEFAULT_SECRETS_FILE
                doc.yaml_add_eol_comment("owner-only (0600) NAME: value file for ${NAME}", "secrets_file")
            before = plain(get_path(doc, ["alerts", "channels"]) or {})
            apply_changes(doc, changes, refs=secrets or {}, edited=edited)
            kept_secret_moved(
                before, plain(get_path(doc, ["alerts", "channels"]) or {}), secrets or {}, self.path
            )
            stored = self.secrets(doc)
            all_secrets = {**stored, **(secrets or {})}
            settings = self._validate(doc, all_secrets)
            if secrets:
                self._write_secrets(self.secrets_file(doc), all_secrets)
            old = self.path.read_bytes()
            text = dump(doc, like=old.decode("utf-8", "replace"))
            if old.decode("utf-8", "replace") != text:
                atomic_write(self.backup_path, old, mode=_mode_of(self.path, 0o600))
                atomic_write(self.path, text.encode("utf-8"), mode=_mode_of(self.path, 0o644))
            typed = tuple(sorted(n for n, v in (secrets or {}).items() if stored.get(n) != v))
            return Saved(settings, tuple(edited), typed)

    def _validate(self, doc: CommentedMap, secrets: Mapping[str, str]) -> Settings:
        env = {**(os.environ if self.env is None else self.env), **secrets}
        try:
            data = substitute_env(plain(doc), self.path, env=env)
        except SettingsError as exc:  # say where, never which variables this process has or lacks
            reason = "refers to a ${...} variable that is not set (see the monitor's start-up check)"
            raise SettingsError(self.path, exc.key, reason) from None
        return validate(data, self.path)

    @staticmethod
    def _write_secrets(target: Path, secrets: Mapping[str, str]) -> None:
        doc = CommentedMap(sorted(secrets.items()))
        header = "# Secrets typed in the dashboard (settings.yaml refers to them as ${NAME}). Keep 0600.\n"
        atomic_write(target, (header + dump(doc)).encode("utf-8"), mode=0o600)


def kept_secret_moved(before: Mapping, after: Mapping, typed: Mapping[str, str], path: Path) -> None:
    """Refuse a save that sends a saved secret somewhere new without it being typed again.

    The form never shows a secret, so whoever can use the form could otherwise
    point a channel's host or base URL at their own server and receive the
    password or token kept from before.  Which fields are secrets and which are
    destinations is marked on each channel type's settings (alerts/channels/).
    """
    for name, new in after.items():
        old = before.get(name)
        if not isinstance(new, Mapping) or not isinstance(old, Mapping):
            continue  # a new channel: every secret it has was typed now
        desc = channel_registry.TYPES.get(str(new.get("type") or name))
        if desc is None or str(old.get("type") or name) != desc.type:
            continue
        moved = [f for f in desc.destinations if old.get(f) != new.get(f)]
        if not moved:
            continue
        for field in desc.secrets:
            if (
                field in desc.destinations
                or not new.get(field)
                or _typed_now(new[field], old.get(field), typed)
            ):
                continue
            reason = (
                f"type it again: {moved[0]} changed, and a saved secret is never sent to a new destination"
            )
            raise SettingsError(path, f"alerts.channels.{name}.{field}", reason)


def _channels(doc: Mapping) -> dict:
    return plain(get_path(doc, ["alerts", "channels"]) or {})


def _typed_now(new: Any, old: Any, typed: Mapping[str, str]) -> bool:
    """The secret's value changed, or every ``${NAME}`` it refers to was typed in this save."""
    if new != old:
        return True
    text = " ".join(map(str, new)) if isinstance(new, list) else str(new)
    refs = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)
    return bool(refs) and all(r in typed for r in refs)


def _mode_of(path: Path, default: int) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return default


def atomic_write(target: Path, data: bytes, mode: int = 0o644) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory.

    The temp file is created with ``mode`` from the start (never world-readable
    for a moment when ``mode`` is 0600).
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
