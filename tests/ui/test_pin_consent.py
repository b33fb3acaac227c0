"""One rule for PIN and consent (issue 18): no default PIN (the first start asks for one, stored hashed), a wrong
PIN is said and counts toward a time-limited lockout, the PIN changes in Settings (audited), and the meeting
room's "Enrol this speaker…" needs the same PIN and consent as the Enrol screen.

Over the ``service`` fixture: the default model on the real encrypted store, real meeting recordings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.kiosk import KioskService
from app.kiosk.service import pin_matches
from app.settings_file import settings_file_in_force
from tests.ui.conftest import ADMIN_PIN
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.screens.labeling import LabelingScreen
from ui.screens.pin import PinDialog
from ui.workers import Workers

WAIT_MS = 300_000


def events(service: KioskService, name: str) -> list[dict]:
    return [e for e in service.audit_log() if e["event"] == name]


def type_pin(qtbot, dialog: PinDialog, pin: str) -> object:
    dialog.pin.setText(pin)
    with qtbot.waitSignal(dialog.checked, timeout=10_000) as checked:
        dialog.buttons.accepted.emit()
    return checked.args[0]


def test_a_wrong_pin_is_said_and_locks_for_a_while(qtbot, service: KioskService) -> None:
    service.set_options(lock_failures=3, lock_s=60.0)
    workers = Workers()
    dialog = PinDialog(service, workers)
    qtbot.addWidget(dialog)
    dialog.open()
    assert not type_pin(qtbot, dialog, "1111")
    assert dialog.isVisible() and dialog.error.isVisible()
    assert dialog.error.text() == "Wrong PIN. After 3 wrong PINs the PIN is locked for a while."
    assert dialog.pin.text() == ""
    type_pin(qtbot, dialog, "2222")
    check = type_pin(qtbot, dialog, "3333")
    assert check.code == "locked"
    assert dialog.error.text() == "Too many wrong PINs: try again in 60 s."
    right_but_locked = type_pin(qtbot, dialog, ADMIN_PIN)
    assert not right_but_locked and right_but_locked.code == "locked" and dialog.isVisible()
    assert "try again in" in dialog.error.text()
    assert [e["fields"]["ok"] for e in events(service, "admin_pin")] == [False] * 4  # audited, never the PIN
    assert ADMIN_PIN not in str(service.audit_log())
    workers.shutdown()


def test_the_right_pin_opens(qtbot, service: KioskService) -> None:
    workers = Workers()
    dialog = PinDialog(service, workers)
    qtbot.addWidget(dialog)
    dialog.open()
    assert type_pin(qtbot, dialog, ADMIN_PIN)
    assert dialog.result() == QDialog.DialogCode.Accepted
    workers.shutdown()


@pytest.fixture
def first_start(qtbot, service: KioskService) -> Iterator[MainWindow]:
    """A kiosk with no admin PIN at all (no VOMID_ADMIN_PIN, nothing stored), started."""
    service.options = replace(service.options, admin_pin=None, admin_pin_hash=None)
    win = MainWindow(service, Workers(), FileSource([]))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.ready, timeout=WAIT_MS):
        win.start()
    yield win
    win.allow_close()
    win.close()


def test_first_start_asks_the_operator_to_set_a_pin_stored_hashed(qtbot, first_start, service) -> None:
    win = first_start
    setup = win.pin_setup
    assert setup is not None and setup.isVisible() and setup.windowTitle() == "Set the admin PIN"
    qtbot.waitUntil(lambda: "No admin PIN set yet" in win._status_labels[3].text(), timeout=10_000)
    assert not service.check_pin("0000")  # no default PIN
    setup.new.setText("12")
    setup.again.setText("12")
    setup.submit()
    assert setup.new_error.text() == "A PIN is 4 to 12 digits." and setup.isVisible()
    setup.new.setText("135790")
    setup.again.setText("135791")
    setup.submit()
    assert setup.new_error.text() == "The two new PINs differ."
    setup.again.setText("135790")
    with qtbot.waitSignal(setup.changed, timeout=10_000) as changed:
        setup.submit()
    assert changed.args[0].ok and changed.args[0].saved
    assert not setup.isVisible()
    saved = yaml.safe_load(settings_file_in_force(service.settings).read_text())
    assert "135790" not in str(saved) and pin_matches("135790", saved["admin_pin_hash"])
    assert [e["actor"] for e in events(service, "admin_pin_set")] == [service.actor]
    assert service.check_pin("135790") and not service.check_pin("0000")
    win.refresh_status()
    qtbot.waitUntil(lambda: win._status_labels[3].text() == "No faults", timeout=10_000)


def test_the_pin_changes_in_settings_and_is_audited(qtbot, service: KioskService) -> None:
    from ui.screens.admin_settings import SettingsTab

    workers = Workers()
    tab = SettingsTab(service, workers)
    qtbot.addWidget(tab)
    tab.show()
    dialog = tab.open_change_pin()
    assert dialog.windowTitle() == "Change the admin PIN" and dialog.current.isVisible()
    dialog.current.setText("9999")
    dialog.new.setText("86420")
    dialog.again.setText("86420")
    with qtbot.waitSignal(dialog.changed, timeout=10_000) as refused:
        dialog.submit()
    assert refused.args[0].code == "wrong_pin" and dialog.isVisible()
    assert dialog.current_error.text().startswith("Wrong PIN.")
    dialog.current.setText(ADMIN_PIN)
    with qtbot.waitSignal(dialog.changed, timeout=10_000) as done:
        dialog.submit()
    assert done.args[0].ok and not dialog.isVisible()
    assert "The admin PIN is set (stored hashed in" in tab.note.text()
    assert not service.check_pin(ADMIN_PIN) and service.check_pin("86420")
    assert len(events(service, "admin_pin_changed")) == 1
    workers.shutdown()


@pytest.fixture
def meeting(qtbot, service: KioskService, shared_data: Path) -> Iterator[LabelingScreen]:
    """The meeting screen with dev00 labelled and a segment of its first speaker selected."""
    workers = Workers()
    screen = LabelingScreen(service, workers, FileSource([]))
    qtbot.addWidget(screen)
    screen.show()
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS):
        screen.open_file(shared_data / "diarization" / "dev00.wav")
    first = screen.result.speakers[0]
    pick = next(i for i, s in enumerate(screen.result.segments) if s.label == first)
    screen.timeline.selected = pick  # as a click on the segment does
    screen._select(pick)
    screen.player.stop()
    yield screen
    screen.shutdown()
    workers.shutdown()


def test_meeting_enrolment_needs_the_pin(qtbot, meeting: LabelingScreen, service) -> None:
    meeting.authorise = lambda: False
    qtbot.mouseClick(meeting.enrol_btn, Qt.MouseButton.LeftButton)
    assert meeting.status.text() == "Enrolling needs the admin PIN."
    assert meeting.enrol_dialog is None and service.speakers() == []


def test_meeting_enrolment_asks_consent_and_records_it(qtbot, meeting: LabelingScreen, service) -> None:
    asked = []
    meeting.authorise = lambda: asked.append(1) or True
    meeting.enrol_btn.click()
    dialog = meeting.enrol_dialog
    assert asked == [1] and dialog is not None and dialog.isVisible()
    assert "voiceprint" in dialog.consent.text.text()  # the Enrol screen's consent text
    dialog.submit()
    assert dialog.id_error.text() == "Please enter the person's id." and dialog.isVisible()
    dialog.speaker_id.setText("MEE009")
    dialog.name.setText("Mee Nine")
    dialog.submit()
    assert dialog.consent.error.text() == "Consent is needed before enrolling." and dialog.isVisible()
    assert service.speakers() == []
    dialog.consent.agree.setChecked(True)
    with qtbot.waitSignal(meeting.speaker_enrolled, timeout=WAIT_MS) as done:
        dialog.submit()
    assert done.args[0].speaker_id == "MEE009", done.args[0]
    assert [(r.speaker_id, r.name) for r in service.speakers()] == [("MEE009", "Mee Nine")]
    consent = events(service, "consent_recorded")
    assert [e["subject"] for e in consent] == ["MEE009"]


def test_too_little_speech_in_a_recording_is_said_of_the_recording(qtbot, meeting: LabelingScreen, service) -> None:
    label = meeting.result.speakers[0]
    shortest = min((s for s in meeting.result.segments if s.label == label), key=lambda s: s.end - s.start)
    meeting.result = replace(meeting.result, segments=[shortest])
    with qtbot.waitSignal(meeting.speaker_enrolled, timeout=WAIT_MS) as done:
        meeting.enrol_speaker(label, "MEE010", consent="agreed")
    assert done.args[0].code == "too_short"
    text = meeting.status.text()
    assert text.startswith("Could not enrol from this recording: This speaker has too little speech in the recording:")
    assert "s found, about 9 s needed" in text and "keep speaking" not in text
    assert service.speakers() == [] and events(service, "consent_recorded") == []
