"""Every screen at kiosk sizes, in English and Chinese (issue 18): the window takes the panel's size, no visible
widget overlaps a sibling, sticks out of its parent or is too small for its text (geometry, not pixels), and
sign-in, enrolment and the meeting room fit without scrolling.

The screens show real states: two people enrolled from real recordings on the ``service`` fixture's store,
a take's waveform, two enrolment takes checked, a meeting labelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.kiosk import KioskService
from ui import style
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.i18n import install_translators, remove_translators
from ui.layout_check import layout_problems
from ui.screenshots import _enrol, settle, show_screen, stage_screens
from ui.workers import Workers

SIZES = [(800, 480), (1024, 600), (1920, 1080), (600, 1024)]
FITS = ("login", "enrol", "labeling")  # the screens a person uses at the kiosk: no scrolling at any size


@pytest.fixture(params=["en", "zh_CN"])
def window(request, qtbot, qapp: QApplication, service: KioskService,
           shared_data: Path) -> Iterator[MainWindow]:
    """The main window in one language, with the app's style sheet, each screen in a realistic state."""
    old = qapp.styleSheet()
    qapp.setStyleSheet(style.STYLE_SHEET + style.arrow_sheet())
    translators = install_translators(qapp, request.param)
    _enrol(service, shared_data)
    win = MainWindow(service, Workers(), FileSource([]))
    qtbot.addWidget(win)
    win.show()
    win.login.set_ready(True)
    for name, stage in stage_screens(win, service, shared_data).items():
        show_screen(win, name)
        stage()
    yield win
    win.workers.pool.waitForDone(60_000)
    win.allow_close()
    win.close()
    remove_translators(qapp, translators)
    qapp.setStyleSheet(old)


def test_every_screen_fits_each_kiosk_size(qapp, window: MainWindow) -> None:
    problems = []
    for width, height in SIZES:
        window.resize(width, height)
        settle(qapp, window)
        assert (window.width(), window.height()) == (width, height), "the window does not shrink to the panel"
        for name in ("login", "enrol", "labeling", "admin"):
            show_screen(window, name)
            tabs = range(window.admin.tabs.count()) if name == "admin" else [None]
            for tab in tabs:
                if tab is not None:
                    window.admin.tabs.setCurrentIndex(tab)
                settle(qapp, window)
                where = f"{width}x{height} {name}{'' if tab is None else f' tab {tab}'}"
                problems += [f"{where}: {p}" for p in layout_problems(window)]
                view, page = window.scroll.viewport().size(), window.stack.size()
                if name in FITS and (page.width() > view.width() or page.height() > view.height()):
                    problems.append(f"{where}: scrolls ({page.width()}x{page.height()} in {view.width()}x"
                                    f"{view.height()})")
    assert problems == []


def test_the_speak_button_stays_put_whatever_the_phrase(qapp, window: MainWindow) -> None:
    window.resize(600, 1024)  # portrait: a long phrase wraps
    show_screen(window, "login")
    panel = window.login.panel
    places = set()
    for phrase in ("1  2  3  4  5  6", "Today I will meet my colleagues on the third floor, by the lifts.",
                   "今天我会在三楼电梯旁见到我的同事们，然后一起去会议室开会。"):
        panel.prompt.setText(phrase)
        settle(qapp, window)
        places.add(panel.speak.geometry().top())
        assert layout_problems(window.login) == []  # and the phrase is not cut
    assert len(places) == 1
