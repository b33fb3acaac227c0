"""Saving settings into the file in force: other keys and comments kept, validated, atomic, never wider."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app.settings import load_settings
from app.settings_file import save_settings, settings_file_in_force


def test_without_a_file_config_yaml_is_created_in_the_data_dir(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = save_settings(load_settings(), {"login_mode": "verify", "kiosk_idle_s": 90})
    assert result.saved and result.path == tmp_path / "config.yaml" and result.overridden == ()
    fresh = load_settings()
    assert (fresh.login_mode, fresh.kiosk_idle_s, fresh.config_file) == ("verify", 90.0, tmp_path / "config.yaml")
    assert stat.S_IMODE((tmp_path / "config.yaml").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temp file left behind


def test_yaml_keeps_other_keys_comments_and_permissions(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# site settings\nthreads: 3  # two cores free\nlogin_mode: identify\nnode_port: 9443\n")
    path.chmod(0o640)
    assert save_settings(load_settings(), {"login_mode": "verify", "language": "zh_CN"}).saved
    text = path.read_text()
    assert text.startswith("# site settings\nthreads: 3  # two cores free\nlogin_mode: verify\n")
    fresh = load_settings()
    assert (fresh.threads, fresh.node_port, fresh.login_mode, fresh.language) == (3, 9443, "verify", "zh_CN")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_json_file_named_by_vomid_config_keeps_its_keys(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "site" / "vomid.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"threads": 4, "log_level": "WARNING"}))
    settings_env.setenv("VOMID_CONFIG", str(path))
    settings = load_settings()
    assert settings_file_in_force(settings) == path
    assert save_settings(settings, {"kiosk_mode": True}).saved
    assert json.loads(path.read_text()) == {"threads": 4, "log_level": "WARNING", "kiosk_mode": True}
    assert load_settings().kiosk_mode is True


def test_an_invalid_value_is_refused_and_the_file_left_alone(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("kiosk_idle_s: 30\n")
    result = save_settings(load_settings(), {"kiosk_idle_s": -5})
    assert not result.saved and "kiosk_idle_s" in (result.error or "")
    assert path.read_text() == "kiosk_idle_s: 30\n"


def test_a_read_only_file_is_not_replaced(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("login_mode: identify\n")
    path.chmod(0o444)
    result = save_settings(load_settings(), {"login_mode": "verify"})
    assert not result.saved and result.error == "the file is read-only"
    assert path.read_text() == "login_mode: identify\n" and load_settings().login_mode == "identify"


def test_an_env_variable_or_flag_above_the_file_is_reported(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_env.setenv("VOMID_KIOSK_IDLE_S", "45")
    result = save_settings(load_settings(), {"kiosk_idle_s": 90, "login_mode": "verify", "kiosk_mode": True},
                           flags={"kiosk_mode": False})
    assert result.saved
    found = {(o.field, o.source, o.detail) for o in result.overridden}
    assert found == {("kiosk_idle_s", "env", "VOMID_KIOSK_IDLE_S"), ("kiosk_mode", "flag", "command line")}
    settings_env.delenv("VOMID_KIOSK_IDLE_S")
    assert load_settings().kiosk_idle_s == 90.0  # the file still got the value
