"""The one consent step of every enrolment path (the Enrol screen and the meeting room's "Enrol this speaker…")."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


def consent_text() -> str:
    """The consent shown (and recorded) before a voiceprint is made."""
    return QCoreApplication.translate(
        "EnrolScreen",
        "Your voiceprint (a set of numbers computed from your voice, not the recording) will be stored, "
        "encrypted, to recognise you at this site's kiosks and meeting rooms. The recordings are not kept. "
        "You can ask an administrator to delete your voiceprint at any time."
    )


class ConsentCard(QFrame):
    """The consent text, an "I agree" box and the error shown next to it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        lay = QVBoxLayout(self)
        heading = QLabel(self.tr("Consent"))
        heading.setObjectName("heading")
        self.text = QLabel(consent_text())
        self.text.setWordWrap(True)
        self.text.setStyleSheet("background: transparent;")
        self.agree = QCheckBox(self.tr("I have read this and agree"))
        self.agree.setStyleSheet("background: transparent;")
        self.error = QLabel()
        self.error.setObjectName("error")
        lay.addWidget(heading)
        lay.addWidget(self.text)
        lay.addWidget(self.agree)
        lay.addWidget(self.error)

    def check(self) -> bool:
        """True when agreed; else says so next to the box."""
        if self.agree.isChecked():
            self.error.clear()
            return True
        self.error.setText(self.tr("Consent is needed before enrolling."))
        self.agree.setFocus()
        return False


class MeetingEnrolDialog(QDialog):
    """Id, name and consent for enrolling a meeting speaker from the recording (after the admin PIN)."""

    def __init__(self, name: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Enrol this speaker"))
        lay = QVBoxLayout(self)
        intro = QLabel(self.tr("The voiceprint is made from this speaker's speech in the recording. The person "
                               "must be present and agree."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        grid = QGridLayout()
        self.speaker_id = QLineEdit()
        self.speaker_id.setPlaceholderText(self.tr("Badge number or login (scan or type)"))
        self.id_error = QLabel()
        self.id_error.setObjectName("error")
        self.name = QLineEdit(name or "")
        self.name.setPlaceholderText(self.tr("Full name"))
        grid.addWidget(QLabel(self.tr("Id")), 0, 0)
        grid.addWidget(self.speaker_id, 0, 1)
        grid.addWidget(self.id_error, 1, 1)
        grid.addWidget(QLabel(self.tr("Name")), 2, 0)
        grid.addWidget(self.name, 2, 1)
        lay.addLayout(grid)
        self.consent = ConsentCard()
        lay.addWidget(self.consent)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def submit(self) -> None:
        """Accept once an id is given and the consent agreed."""
        self.id_error.clear()
        if not self.speaker_id.text().strip():
            self.id_error.setText(self.tr("Please enter the person's id."))
            self.speaker_id.setFocus()
            return
        if self.consent.check():
            self.accept()
