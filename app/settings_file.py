"""Write changed settings into the settings file in force: other keys kept, validated, replaced atomically.

The file is the one ``load_settings`` read (``config_file``), else ``data_dir/config.yaml``. A YAML file
is edited line by line so comments survive; when that cannot give the same mapping it is written anew.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.settings import Settings, SettingsError, _resolve_paths, explain_settings, read_settings_file

log = logging.getLogger(__name__)
HIGHER_LAYERS = ("profile", "env", "flag")


@dataclass(frozen=True)
class Override:
    """A saved field that a higher layer (profile, env or flag) sets too, so the file loses at start."""

    field: str
    source: str
    detail: str


@dataclass(frozen=True)
class SaveResult:
    """Where the settings went, whether they were saved (else why not) and what overrides them."""

    path: Path
    saved: bool
    error: str | None = None
    overridden: tuple[Override, ...] = ()


def settings_file_in_force(settings: Settings) -> Path:
    """The file these settings were read from, or ``data_dir/config.yaml`` when there was none."""
    return Path(settings.config_file) if settings.config_file else Path(settings.data_dir) / "config.yaml"


def save_settings(
    settings: Settings, changes: Mapping[str, Any], *, flags: Mapping[str, Any] | None = None
) -> SaveResult:
    """Write ``changes`` (Settings field names) into the settings file in force; never raises."""
    path = settings_file_in_force(settings)
    try:
        target = path.resolve()
        raw = _read_raw(target)
        values = _validated(target, raw, changes)
        _write_atomically(target, _render(target, raw, values))
        _check_read_back(target, values)
    except OSError as exc:
        return SaveResult(path, False, exc.strerror or str(exc))
    except SettingsError as exc:
        return SaveResult(path, False, exc.message)
    hint = {"config_file": path, "data_dir": settings.data_dir} | dict(flags or {})
    return SaveResult(path, True, overridden=higher_layers(values, hint))


def higher_layers(names: Mapping[str, Any] | list[str], flags: Mapping[str, Any]) -> tuple[Override, ...]:
    """Fields among ``names`` that a profile, a VOMID_* variable or a flag sets, as ``vomid config show`` says."""
    try:
        _, origins = explain_settings(**flags)
    except SettingsError as exc:  # something else is wrong; the next start will say so loudly
        log.warning("cannot tell which layer sets the saved settings: %s", exc.message)
        return ()
    return tuple(
        Override(o.name, o.source, o.detail) for o in origins if o.name in names and o.source in HIGHER_LAYERS
    )


def _read_raw(path: Path) -> dict[str, Any]:
    """The file's mapping as written (paths not resolved); empty when the file does not exist yet."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = _parse(path, text)
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError carry the line
        raise SettingsError(f"settings file {path} does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping of setting names to values")
    return data


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        return json.loads(text) if text.strip() else {}
    import yaml

    return yaml.safe_load(text) or {}


def _validated(path: Path, raw: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changed values as the Settings model accepts them, checked with the rest of the file."""
    unknown = sorted(set(changes) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"not a known setting: {', '.join(unknown)}")
    data = _resolve_paths(dict(raw) | dict(changes), path.parent)
    try:
        checked = Settings.model_validate(data)  # reads no other source
    except ValidationError as exc:
        reason = "; ".join(f"{e['loc'][0] if e['loc'] else '?'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid setting: {reason}") from exc
    return {name: _plain(getattr(checked, name)) for name in changes}


def _plain(value: Any) -> Any:
    """A value as YAML/JSON can hold it."""
    return str(value) if isinstance(value, Path) else value


def _render(path: Path, raw: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """The new text of the file: JSON written anew, YAML edited in place where that is exact."""
    wanted = dict(raw) | dict(values)
    if path.suffix.lower() == ".json":
        return json.dumps(wanted, indent=2, ensure_ascii=False) + "\n"
    import yaml

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    edited = _edit_yaml_lines(old, values)
    with contextlib.suppress(yaml.YAMLError):
        if (yaml.safe_load(edited) or {}) == wanted:
            return edited
    return yaml.safe_dump(wanted, sort_keys=False, allow_unicode=True)


def _edit_yaml_lines(text: str, values: Mapping[str, Any]) -> str:
    """Replace each top-level ``name: value`` line (the last one when repeated), or append it."""
    import yaml

    lines = text.splitlines()
    for name, value in values.items():
        line = yaml.safe_dump({name: value}, allow_unicode=True, default_flow_style=False).strip()
        found = [i for i, old in enumerate(lines) if re.match(rf"{re.escape(name)}\s*:", old)]
        if found:
            lines[found[-1]] = line
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Write a temp file beside ``path`` with no wider permissions, then ``os.replace`` it over ``path``."""
    before = path.stat() if path.exists() else None
    if before is not None and (not before.st_mode & 0o222 or not os.access(path, os.W_OK)):
        raise OSError(errno.EACCES, "the file is read-only", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0o600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if before is not None:
            os.chmod(tmp, stat.S_IMODE(before.st_mode))
            with contextlib.suppress(OSError, AttributeError):
                os.chown(tmp, before.st_uid, before.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _check_read_back(path: Path, values: Mapping[str, Any]) -> None:
    """Read the file as a start would and check it holds the saved values."""
    back = read_settings_file(path)
    wrong = sorted(n for n, v in values.items() if _plain(back.get(n)) != v)
    if wrong:
        raise SettingsError(f"settings file {path} did not read back the saved {', '.join(wrong)}")
