"""Admin screen (delete, disable, PIN) and kiosk mode (close needs the PIN, idle returns to login).

The window runs over the ``service`` fixture: the real encrypted store, so the speakers table shows what the
store lists (the models column was blank in production while these tests ran on the in-memory fake).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.kiosk import KioskService
from engine.gallery import Voiceprint
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.workers import Workers


def put_speaker(service: KioskService, speaker_id: str, name: str, seed: int) -> None:
    """A stored voiceprint (random unit vectors: these tests are about administration, not voices)."""
    rng = np.random.default_rng(seed)
    takes = rng.random((3, service.engine.model.dim)).astype(np.float32)
    mean = takes.mean(axis=0) / np.linalg.norm(takes.mean(axis=0))
    service.directory.put(Voiceprint(speaker_id, service.model_id, mean, takes, 12.0, name=name))


@pytest.fixture
def window(qtbot, service: KioskService) -> Iterator[MainWindow]:
    """A main window in kiosk mode, model already loaded."""
    win = MainWindow(service, Workers(), FileSource([]), kiosk=True)  # closed below, not by qtbot: needs the PIN
    with qtbot.waitSignal(win.ready, timeout=60_000):
        win.start()
    yield win
    win.allow_close()
    win.close()


def rows(table) -> list[str]:
    return [table.item(r, 0).text() for r in range(table.rowCount())]


def column(table, index: int) -> list[str]:
    return [table.item(r, index).text() for r in range(table.rowCount())]


def test_admin_delete_removes_the_speaker(qtbot, window: MainWindow, service: KioskService) -> None:
    put_speaker(service, "1688", "Ada Lovelace", 1)
    put_speaker(service, "3080", "Grace Hopper", 2)
    window.ask_pin = lambda: service.check_pin("2468")  # type: ignore[method-assign]
    assert window.show_screen(3)
    admin = window.admin
    qtbot.waitUntil(lambda: rows(admin.speakers) == ["1688", "3080"], timeout=10_000)
    assert column(admin.speakers, 1) == ["Ada Lovelace", "Grace Hopper"]
    assert column(admin.speakers, 3) == [service.model_id, service.model_id]  # the models column
    assert admin.select_speaker("1688")
    admin.confirm_delete = lambda sid: sid == "1688"
    with qtbot.waitSignal(admin.changed, timeout=10_000):
        admin.delete_selected()
    qtbot.waitUntil(lambda: rows(admin.speakers) == ["3080"], timeout=10_000)
    assert [s.speaker_id for s in service.speakers()] == ["3080"]
    assert service.engine.gallery.get("1688", service.model_id) is None
    assert any(e["event"] == "speaker_deleted" for e in service.audit_log())


def test_disabled_speaker_leaves_the_search_space(qtbot, window: MainWindow, service: KioskService) -> None:
    put_speaker(service, "2414", "Lin Wei", 3)
    window.ask_pin = lambda: True  # type: ignore[method-assign]
    window.show_screen(3)
    admin = window.admin
    qtbot.waitUntil(lambda: rows(admin.speakers) == ["2414"], timeout=10_000)
    admin.select_speaker("2414")
    with qtbot.waitSignal(admin.changed, timeout=10_000):
        admin.disable_btn.click()
    assert service.speakers()[0].status == "disabled"
    qtbot.waitUntil(lambda: column(admin.speakers, 2) == ["disabled"], timeout=10_000)
    assert service.engine.gallery.matrix(service.model_id)[0] == []


def test_admin_needs_the_pin(window: MainWindow, service: KioskService) -> None:
    window.ask_pin = lambda: service.check_pin("1111")  # type: ignore[method-assign]
    assert not window.show_screen(3)
    assert window.stack.currentWidget() is window.login


def test_kiosk_window_cannot_close_without_pin(qtbot, window: MainWindow) -> None:
    window.ask_pin = lambda: False  # type: ignore[method-assign]
    assert window.kiosk and window.isFullScreen()
    window.close()
    assert window.isVisible()
    window.ask_pin = lambda: True  # type: ignore[method-assign]
    window.close()
    assert not window.isVisible()


def test_inactivity_returns_to_a_fresh_login(window: MainWindow) -> None:
    window.stack.setCurrentWidget(window.labeling)
    window.login.detail.setText("Welcome, someone")
    window.go_home()
    assert window.stack.currentWidget() is window.login
    assert window.login.detail.text() == ""
