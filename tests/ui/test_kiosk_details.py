"""The smaller things a person notices at the kiosk (issue 18): an empty store says nobody is enrolled, Enter
works on the top menu, keyboard focus shows, Calibrate without a file says so, a language change says a
restart is needed, a long speaker name keeps the speaking time on its lane, zh_CN tells status from button.

Over the ``service`` fixture (the default model on the real store) where a screen reads the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from app.kiosk import KioskService
from app.kiosk.media import decode_file
from app.kiosk.types import Segment
from tests.ui.conftest import chinese
from ui import style
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.i18n import TRANSLATIONS
from ui.widgets.timeline import LABEL_W, Timeline
from ui.workers import Workers

WAIT_MS = 180_000


@pytest.fixture
def styled(qapp: QApplication) -> Iterator[QApplication]:
    """The app's own style sheet, as the kiosk runs with it."""
    old = qapp.styleSheet()
    qapp.setStyleSheet(style.STYLE_SHEET)
    yield qapp
    qapp.setStyleSheet(old)


@pytest.fixture
def window(qtbot, service: KioskService, styled) -> Iterator[MainWindow]:
    win = MainWindow(service, Workers(), FileSource([]))
    qtbot.addWidget(win)
    win.ask_pin = lambda: True  # type: ignore[method-assign]
    with qtbot.waitSignal(win.ready, timeout=WAIT_MS):
        win.start()
    yield win
    win.allow_close()
    win.close()


def test_an_empty_store_says_nobody_is_enrolled_yet(qtbot, window: MainWindow, service, voices) -> None:
    nobody = "Nobody is enrolled yet: an administrator can enrol people on the Enrol screen."
    qtbot.waitUntil(lambda: window.login.result.text() == nobody, timeout=10_000)
    takes = [decode_file(p) for p in voices["1688"][3:6]]
    service.enrol("1688", "Ada", takes, [service.check_take(t) for t in takes])
    window.login.count_enrolled()
    qtbot.waitUntil(lambda: window.login.result.text() == "Press Speak (or the space bar) and read the phrase.",
                    timeout=10_000)


def test_enter_on_the_top_menu_opens_the_screen(qtbot, window: MainWindow) -> None:
    meeting = window.nav.button(2)
    meeting.setFocus()
    qtbot.keyClick(meeting, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.labeling, timeout=5_000)
    qtbot.keyClick(window.nav.button(0), Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.login, timeout=5_000)


def test_keyboard_focus_shows_on_the_main_buttons(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    for button in (window.login.panel.speak, window.nav.button(1)):
        window.nav.button(3).setFocus()  # somewhere else
        qtbot.wait(50)
        plain = button.grab().toImage()
        button.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(button.hasFocus, timeout=5_000)
        qtbot.wait(50)
        focused = button.grab().toImage()
        assert focused != plain, button.text()  # the focus ring is drawn


def test_calibrate_without_a_file_says_so(qtbot, service: KioskService) -> None:
    from ui.screens.admin_settings import CalibrationTab

    workers = Workers()
    tab = CalibrationTab(service, workers)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.mouseClick(tab.run_btn, Qt.MouseButton.LeftButton)
    assert tab.path_error.isVisible() and tab.path_error.text() == "Choose a trial list file first (Browse…)."
    assert tab.path_error.geometry().top() >= tab.path.geometry().bottom()  # under the field, not far away
    workers.shutdown()


def test_a_language_change_says_a_restart_is_needed(qtbot, service: KioskService) -> None:
    from ui.screens.admin_settings import SettingsTab

    workers = Workers()
    tab = SettingsTab(service, workers)
    qtbot.addWidget(tab)
    tab.load()
    tab.language.setCurrentIndex(tab.language.findData("zh_CN"))
    with qtbot.waitSignal(tab.saved, timeout=10_000):
        tab.apply()
    assert "The new language shows after the app is restarted." in tab.note.text()
    workers.shutdown()


def test_a_long_speaker_name_keeps_the_speaking_time_on_the_lane(qtbot) -> None:
    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.set_segments([Segment(0.0, 12.0, "Speaker 1")], 12.0)
    timeline.rename("Speaker 1", "Professor Maximiliane Augusta von Hohenzollern-Sigmaringen")
    metrics = QFontMetrics(QFont(timeline.font().family(), 12))
    caption = timeline.lane_caption("Speaker 1", 12.0, metrics)
    assert caption.endswith("·  12 s") and caption.startswith("Professor")
    assert metrics.horizontalAdvance(caption) <= LABEL_W - 36


def test_zh_cn_tells_the_active_status_from_the_enable_button() -> None:
    glossary = json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8"))
    assert glossary["active"] != glossary["Enable"]
    assert glossary["disabled"] != glossary["Disable"]


def test_a_lane_gives_its_speaking_time_in_seconds_in_chinese(qtbot) -> None:
    with chinese():
        timeline = Timeline()
        qtbot.addWidget(timeline)
        timeline.set_segments([Segment(0.0, 12.0, "Speaker 1")], 12.0)
        caption = timeline.lane_caption("Speaker 1", 12.0, QFontMetrics(QFont(timeline.font().family(), 12)))
        assert caption.endswith("·  12 秒"), caption
