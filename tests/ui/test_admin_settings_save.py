"""The admin Settings tab saves what the admin applies, so the next start (a fresh load) uses it.

On ``MemoryDirectory`` on purpose: these tests are about the settings file (the form, overrides, a read-only
file) and load no model; they enrol, sign in, list, delete and audit-assert nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.kiosk import KioskOptions, KioskService, MemoryDirectory
from app.settings import load_settings
from ui.screens.admin_settings import SettingsTab
from ui.workers import Workers


@pytest.fixture
def workers() -> Iterator[Workers]:
    """The worker pools, stopped after the test."""
    pools = Workers()
    yield pools
    pools.shutdown()


def open_tab(qtbot, workers: Workers) -> SettingsTab:
    """The Settings tab over a kiosk service started from the real settings loader (no model needed)."""
    widget = SettingsTab(KioskService(load_settings(), directory=MemoryDirectory()), workers)
    qtbot.addWidget(widget)
    widget.load()
    return widget


def edit_and_apply(qtbot, tab: SettingsTab) -> object:
    """Change every kiosk option in the form, press Apply, wait for the save; returns the SaveResult."""
    tab.mode.setCurrentIndex(tab.mode.findData("verify"))
    tab.failures.setValue(7)
    tab.lock_s.setValue(120)
    tab.idle_s.setValue(300)
    tab.clear_s.setValue(5)
    tab.kiosk.setChecked(True)
    tab.auto_listen.setChecked(True)
    tab.language.setCurrentIndex(tab.language.findData("zh_CN"))
    with qtbot.waitSignal(tab.saved, timeout=10_000) as blocker:
        tab.apply()
    return blocker.args[0]


def test_applied_settings_are_used_by_the_next_start(qtbot, settings_env: pytest.MonkeyPatch, workers: Workers,
                                                      tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("# kept\nthreads: 3\nnode_port: 9443\n")
    tab = open_tab(qtbot, workers)
    result = edit_and_apply(qtbot, tab)
    assert result.saved and "saved to" in tab.note.text() and "Note:" not in tab.note.text()
    fresh = load_settings(data_dir=tmp_path)
    assert KioskOptions.from_settings(fresh) == KioskOptions(
        mode="verify", lock_failures=7, lock_s=120.0, idle_reset_s=300.0, kiosk_mode=True,
        auto_listen=True, language="zh_CN", result_clear_s=5.0)
    assert (fresh.threads, fresh.node_port) == (3, 9443)
    assert (tmp_path / "config.yaml").read_text().startswith("# kept\nthreads: 3\nnode_port: 9443\n")


def test_an_env_override_is_named_in_the_note(qtbot, settings_env: pytest.MonkeyPatch, workers: Workers,
                                              tmp_path: Path) -> None:
    settings_env.setenv("VOMID_LOGIN_MODE", "identify")
    tab = open_tab(qtbot, workers)
    result = edit_and_apply(qtbot, tab)
    assert result.saved and [(o.field, o.source) for o in result.overridden] == [("login_mode", "env")]
    assert "login_mode" in tab.note.text() and "VOMID_LOGIN_MODE" in tab.note.text()
    settings_env.delenv("VOMID_LOGIN_MODE")
    assert load_settings(data_dir=tmp_path).login_mode == "verify"  # the file still has the value


def test_a_read_only_file_keeps_the_change_for_the_session(qtbot, settings_env: pytest.MonkeyPatch, workers: Workers,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("kiosk_idle_s: 60\n")
    path.chmod(0o444)
    tab = open_tab(qtbot, workers)
    result = edit_and_apply(qtbot, tab)
    assert not result.saved and "could not save" in tab.note.text() and "read-only" in tab.note.text()
    assert tab.service.options.idle_reset_s == 300.0 and tab.service.options.mode == "verify"
    assert load_settings(data_dir=tmp_path).kiosk_idle_s == 60.0
