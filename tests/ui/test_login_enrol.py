"""Enrol a real speaker through the file-backed source, then log in as them, as someone else, and with silence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.kiosk import KioskService
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.workers import Workers

SPEAKER = "1688"
IMPOSTOR = "2033"
WAIT_MS = 180_000


@pytest.fixture
def window(qtbot, service: KioskService) -> Iterator[tuple[MainWindow, FileSource]]:
    """The main window over the service, fed by a file source; shut down cleanly afterwards."""
    workers = Workers()
    source = FileSource([])
    win = MainWindow(service, workers, source)
    qtbot.addWidget(win)
    win.ask_pin = lambda: service.check_pin("2468")  # type: ignore[method-assign]
    with qtbot.waitSignal(win.ready, timeout=WAIT_MS):
        win.start()
    yield win, source
    win.allow_close()
    win.close()


def enrol_through_screen(qtbot, win: MainWindow, source: FileSource, takes: list[Path]) -> object:
    """Fill the form, record each take from the files, finish; returns the EnrolOutcome."""
    assert win.show_screen(1)
    screen = win.enrol
    screen.speaker_id.setText(SPEAKER)
    screen.name.setText("Ada Lovelace")
    screen.agree.setChecked(True)
    qtbot.mouseClick(screen.begin, Qt.MouseButton.LeftButton)
    source.queue(takes)
    for i in range(len(takes)):
        with qtbot.waitSignal(screen.take_checked, timeout=WAIT_MS) as took:
            qtbot.mouseClick(screen.panel.speak, Qt.MouseButton.LeftButton)
        index, check = took.args
        assert (index, check.ok) == (i, True), check
    assert screen.finish.isEnabled()
    with qtbot.waitSignal(screen.enrolled, timeout=WAIT_MS) as done:
        qtbot.mouseClick(screen.finish, Qt.MouseButton.LeftButton)
    return done.args[0]


def login_with(qtbot, win: MainWindow, source: FileSource, path: Path) -> object:
    """Speak ``path`` at the login screen (space bar); returns the LoginOutcome shown."""
    win.show_screen(0)
    source.queue([path])
    with qtbot.waitSignal(win.login.outcome, timeout=WAIT_MS) as shown:
        qtbot.keyClick(win.login, Qt.Key.Key_Space)
    return shown.args[0]


def test_enrol_then_login_accepts_the_speaker_and_rejects_another(qtbot, window, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    outcome = enrol_through_screen(qtbot, win, source, [own[3], own[4], own[6]])
    assert outcome.passed and outcome.takes == 3
    assert "Ada Lovelace is enrolled" in win.enrol.done_result.text()
    assert [r.speaker_id for r in win.service.speakers()] == [SPEAKER]

    accepted = login_with(qtbot, win, source, own[8])
    assert (accepted.decision, accepted.speaker_id) == ("accepted", SPEAKER)
    assert "Welcome, Ada Lovelace" in win.login.result.text()

    other = login_with(qtbot, win, source, voices[IMPOSTOR][4])
    assert other.decision == "rejected" and other.speaker_id is None
    assert win.login.result.text() == "Not recognised"


def test_silence_asks_to_try_again_with_the_reason(qtbot, window, silence_file) -> None:
    win, source = window
    outcome = login_with(qtbot, win, source, silence_file)
    assert outcome.decision == "retry" and outcome.code in ("too_short", "no_speech")
    assert win.login.result.text() == "Try again"
    assert "speak" in win.login.detail.text().lower()


def test_hands_free_login_starts_when_speech_starts(qtbot, service: KioskService, voices, tmp_path) -> None:
    import numpy as np
    import soundfile as sf

    from ui.screens.login import LoginScreen

    speech, sr = sf.read(voices[SPEAKER][8], dtype="float32")
    quiet = (1e-4 * np.random.default_rng(1).standard_normal(3 * sr)).astype(np.float32)
    path = tmp_path / "pause_then_speech.wav"
    sf.write(path, np.concatenate([quiet, speech]), sr)
    service.set_options(auto_listen=True)
    workers = Workers()
    screen = LoginScreen(service, workers, FileSource([path]))
    qtbot.addWidget(screen)
    screen.show()
    screen.set_ready(True)
    takes = []
    screen.panel.take.connect(lambda samples, reason: takes.append(samples))
    with qtbot.waitSignal(screen.outcome, timeout=WAIT_MS) as shown:
        screen.arm()  # no button, no key: the take starts by itself when the voice does
    assert shown.args[0].decision == "rejected"  # nobody is enrolled
    assert len(takes[0]) < len(speech) + sr  # the three quiet seconds before the voice were not kept
    screen.hide()
    workers.shutdown()
