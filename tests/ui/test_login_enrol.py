"""Enrol a real speaker through the file-backed source, then log in as them, as someone else, and with silence.

The screens run over the ``service`` fixture: the default model (CAM++ zh-en, its 0.42 cosine threshold) over
the real encrypted store, opened as the app opens it; what is asserted is what the screens show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.kiosk import KioskService
from app.kiosk.media import decode_file
from engine.models.registry import DEFAULT_MODEL
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


def table(widget) -> list[tuple[str, ...]]:
    """The text of every row of a QTableWidget, as shown."""
    return [tuple(widget.item(r, c).text() for c in range(widget.columnCount())) for r in range(widget.rowCount())]


def show_admin_tab(qtbot, win: MainWindow, index: int) -> None:
    """Open the admin screen (PIN) on this tab; the tab reloads from the store when shown."""
    assert win.show_screen(3)
    win.admin.tabs.setCurrentIndex(index)
    win.admin.refresh()


def test_enrolled_speaker_is_listed_signs_in_and_is_gone_after_deletion(qtbot, window, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    outcome = enrol_through_screen(qtbot, win, source, [own[3], own[4], own[6]])
    assert outcome.passed and outcome.takes == 3
    assert "Ada Lovelace is enrolled" in win.enrol.done_result.text()

    show_admin_tab(qtbot, win, 0)  # the speakers table: id, name, status, models (blank on the store before)
    qtbot.waitUntil(lambda: [r[:4] for r in table(win.admin.speakers)]
                    == [(SPEAKER, "Ada Lovelace", "active", DEFAULT_MODEL)], timeout=10_000)

    accepted = login_with(qtbot, win, source, own[8])
    assert (accepted.decision, accepted.speaker_id) == ("accepted", SPEAKER)
    assert accepted.threshold == pytest.approx(0.42) and accepted.score >= accepted.threshold
    assert "Welcome, Ada Lovelace" in win.login.result.text()

    other = login_with(qtbot, win, source, voices[IMPOSTOR][4])
    assert (other.decision, other.speaker_id, other.code) == ("rejected", None, "not_recognised")
    assert win.login.result.text() == "Not recognised"

    stored = win.service.directory.get(SPEAKER, DEFAULT_MODEL)
    show_admin_tab(qtbot, win, 0)
    qtbot.waitUntil(lambda: win.admin.select_speaker(SPEAKER), timeout=10_000)
    win.admin.confirm_delete = lambda sid: sid == SPEAKER
    with qtbot.waitSignal(win.admin.changed, timeout=WAIT_MS):
        win.admin.delete_selected()
    qtbot.waitUntil(lambda: table(win.admin.speakers) == [], timeout=10_000)

    gone = login_with(qtbot, win, source, own[9])  # a fresh take: the same one twice is refused as a replay
    assert (gone.decision, gone.speaker_id, gone.code) == ("rejected", None, "not_recognised")
    assert win.login.result.text() == "Not recognised"
    probe = win.service.engine.embed(decode_file(own[9]), 16000, purpose=None).vector
    assert stored is not None and float(np.dot(probe, stored.mean)) >= 0.42  # refused only because deleted

    show_admin_tab(qtbot, win, 3)  # the audit log, newest first: date and time, event, actor, subject, details
    signed_in, deleted, enrolled = "Sign-in (who is speaking)", "Speaker deleted", "Enrolled"
    qtbot.waitUntil(lambda: any(r[1] == deleted for r in table(win.admin.audit)), timeout=10_000)
    shown = list(reversed(table(win.admin.audit)))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", when) for when, *_ in shown)  # dated
    decisions = [(event, actor, subject, details.split("; ")[0]) for _, event, actor, subject, details in shown
                 if event in (signed_in, deleted)]
    me = win.service.actor
    assert me == f"kiosk:{win.service.node.node_id}"
    # one row per decision, by this kiosk, in words, naming who matched (the subject) and whether it was accepted
    assert decisions == [(signed_in, me, SPEAKER, "accepted: yes"),
                         (signed_in, me, "", "accepted: no"),
                         (deleted, me, SPEAKER, ""),
                         (signed_in, me, "", "accepted: no")]
    enrolment = [(event, actor, subject) for _, event, actor, subject, _ in shown if event == enrolled]
    assert enrolment == [(enrolled, me, SPEAKER)]  # one row for the one enrolment
    assert not any("_" in event for _, event, *_ in shown)  # no raw codes such as setting_changed


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


def test_enrolling_an_id_that_is_already_enrolled_says_so_and_keeps_the_first_voiceprint(qtbot, window, voices) -> None:
    win, source = window
    own = voices[SPEAKER]
    enrol_through_screen(qtbot, win, source, [own[3], own[4], own[6]])
    first = win.service.directory.get(SPEAKER, DEFAULT_MODEL)
    screen = win.enrol
    screen.reset()
    assert win.show_screen(1)
    screen.speaker_id.setText(SPEAKER)
    screen.name.setText("Someone Else")
    screen.agree.setChecked(True)
    qtbot.mouseClick(screen.begin, Qt.MouseButton.LeftButton)
    other = voices[IMPOSTOR]
    source.queue([other[3], other[4], other[6]])
    for _ in range(3):
        with qtbot.waitSignal(screen.take_checked, timeout=WAIT_MS):
            qtbot.mouseClick(screen.panel.speak, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(screen.failed, timeout=WAIT_MS):
        qtbot.mouseClick(screen.finish, Qt.MouseButton.LeftButton)
    assert "already enrolled" in screen.take_result.text()
    kept = win.service.directory.get(SPEAKER, DEFAULT_MODEL)
    assert kept is not None and first is not None and np.array_equal(kept.mean, first.mean)
    assert win.service.directory.speaker(SPEAKER).name == "Ada Lovelace"
