"""A shared screen forgets the last person: results clear after a delay and on the next take, the idle reset
works outside kiosk mode, and the next person sees nothing of the one before (issue 18).

Real recordings through the file source, over the ``service`` fixture (the default model on the real store).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget

from app.kiosk import KioskService
from app.kiosk.media import decode_file
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.workers import Workers

SPEAKER, NAME = "1688", "Ada Lovelace"
OTHER = "2033"
WAIT_MS = 180_000


def enrol(service: KioskService, files: list[Path]) -> None:
    """Enrol SPEAKER from three real takes through the kiosk service (the screen's own path is tested elsewhere)."""
    takes = [decode_file(p) for p in files]
    service.enrol(SPEAKER, NAME, takes, [service.check_take(t) for t in takes])


def shown_text(root: QWidget) -> str:
    """Every text a person can see in ``root``: labels, fields and buttons that are visible."""
    parts = []
    for kind in (QLabel, QLineEdit, QAbstractButton):
        for w in root.findChildren(kind):
            if w.isVisibleTo(root):
                parts.append(w.text())
    return "\n".join(parts)


@pytest.fixture
def window(qtbot, service: KioskService) -> Iterator[tuple[MainWindow, FileSource]]:
    """A main window (not kiosk mode) over the service, fed by a file source."""
    source = FileSource([])
    win = MainWindow(service, Workers(), source)
    qtbot.addWidget(win)
    win.ask_pin = lambda: True  # type: ignore[method-assign]
    with qtbot.waitSignal(win.ready, timeout=WAIT_MS):
        win.start()
    yield win, source
    win.allow_close()
    win.close()


def speak(qtbot, win: MainWindow, source: FileSource, path: Path) -> object:
    source.queue([path])
    with qtbot.waitSignal(win.login.outcome, timeout=WAIT_MS) as shown:
        qtbot.mouseClick(win.login.panel.speak, Qt.MouseButton.LeftButton)
    return shown.args[0]


def test_a_welcome_clears_after_the_delay_and_nothing_personal_stays(qtbot, window, service, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    enrol(service, [own[3], own[4], own[6]])
    service.set_options(result_clear_s=1.5)
    outcome = speak(qtbot, win, source, own[8])
    assert outcome.decision == "accepted"
    seen = shown_text(win.login)
    assert f"Welcome, {NAME}" in seen and SPEAKER in seen and f"{outcome.score:.2f}" in seen
    qtbot.waitUntil(lambda: win.login.result.text() == "Press Speak (or the space bar) and read the phrase.",
                    timeout=10_000)
    left = shown_text(win)
    assert NAME not in left and SPEAKER not in left and f"{outcome.score:.2f}" not in left


def test_the_next_person_sees_nothing_of_the_first(qtbot, window, service, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    enrol(service, [own[3], own[4], own[6]])
    service.set_options(result_clear_s=600.0)  # the next take clears it, not the timer
    first = speak(qtbot, win, source, own[8])
    assert first.decision == "accepted" and NAME in win.login.result.text()
    seen_while_listening: list[str] = []
    win.login.panel.started.connect(lambda: seen_while_listening.append(shown_text(win)))
    second = speak(qtbot, win, source, voices[OTHER][4])
    assert (second.decision, second.code) == ("rejected", "not_recognised")
    assert len(seen_while_listening) == 1
    assert NAME not in seen_while_listening[0] and SPEAKER not in seen_while_listening[0]
    assert "Listening…" in seen_while_listening[0]
    now = shown_text(win)
    assert "Not recognised" in now and NAME not in now and SPEAKER not in now


def test_verify_mode_checks_the_id_first_and_forgets_it(qtbot, window, service, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    enrol(service, [own[3], own[4], own[6]])
    service.set_options(mode="verify", result_clear_s=1.5)
    win.login.refresh_mode()
    source.queue([own[8]])
    qtbot.mouseClick(win.login.panel.speak, Qt.MouseButton.LeftButton)
    assert not win.login.panel.recording  # nothing was recorded without an id
    assert win.login.result.text() == "Please enter your id first."
    win.login.claim.setText(SPEAKER)
    with qtbot.waitSignal(win.login.outcome, timeout=WAIT_MS) as shown:
        qtbot.mouseClick(win.login.panel.speak, Qt.MouseButton.LeftButton)
    assert shown.args[0].decision == "accepted"
    assert f"Welcome, {NAME}" in win.login.result.text()
    qtbot.waitUntil(lambda: win.login.claim.text() == "", timeout=10_000)
    assert SPEAKER not in shown_text(win) and NAME not in shown_text(win)


def test_idle_reset_outside_kiosk_mode_clears_the_enrolment_form(qtbot, service) -> None:
    service.set_options(idle_reset_s=1.0)
    win = MainWindow(service, Workers(), FileSource([]), kiosk=False)
    qtbot.addWidget(win)
    win.ask_pin = lambda: True  # type: ignore[method-assign]
    win.start()
    assert not win.kiosk
    assert win.show_screen(1)
    win.enrol.speaker_id.setText(SPEAKER)
    win.enrol.name.setText(NAME)
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.login, timeout=10_000)
    assert win.enrol.speaker_id.text() == "" and win.enrol.name.text() == ""
    assert win.nav.button(0).isChecked()
    win.workers.pool.waitForDone(WAIT_MS)
    win.allow_close()
    win.close()


def test_enrolment_messages_never_go_stale(qtbot, service, voices, tmp_path) -> None:
    from ui.screens.enrol import EnrolScreen

    own = voices[SPEAKER]
    speech, sr = sf.read(own[3], dtype="float32")
    short = tmp_path / "short.wav"
    sf.write(short, speech[: sr], sr)  # one second: too short for an enrolment take
    service.set_options(result_clear_s=1.5)
    source = FileSource([])
    workers = Workers()
    screen = EnrolScreen(service, workers, source)
    qtbot.addWidget(screen)
    screen.show()
    screen.speaker_id.setText(SPEAKER)
    screen.name.setText(NAME)
    screen.agree.setChecked(True)
    screen.start_takes()
    assert screen.panel.prompt_caption.isVisible()
    source.queue([short])
    with qtbot.waitSignal(screen.take_checked, timeout=WAIT_MS) as took:
        qtbot.mouseClick(screen.panel.speak, Qt.MouseButton.LeftButton)
    assert took.args[1].code == "too_short"
    text = screen.take_result.text()
    assert text.startswith("Take 1: Too short:") and "s of speech heard, 3.0 s needed" in text  # the numbers
    for i, path in enumerate([own[3], own[4], own[6]]):
        source.queue([path])
        during: list[str] = []
        screen.panel.started.connect(lambda seen=during: seen.append(screen.take_result.text()))
        with qtbot.waitSignal(screen.take_checked, timeout=WAIT_MS) as took:
            qtbot.mouseClick(screen.panel.speak, Qt.MouseButton.LeftButton)
        assert took.args[1].ok
        assert during and "Too short" not in during[-1]  # the last take's message went when this one began
    assert not screen.panel.prompt_caption.isVisible() and not screen.panel.prompt.isVisible()
    assert "Please read aloud" not in shown_text(screen)
    with qtbot.waitSignal(screen.enrolled, timeout=WAIT_MS):
        qtbot.mouseClick(screen.finish, Qt.MouseButton.LeftButton)
    assert f"{NAME} is enrolled" in shown_text(screen)
    qtbot.waitUntil(lambda: screen.pages.currentIndex() == 0, timeout=10_000)
    left = shown_text(screen)
    assert NAME not in left and SPEAKER not in left and "score" not in left
    workers.shutdown()
