"""The admin PIN dialogs: ask for it (wrong PIN said, lockout said), and set or change it (first start, Settings)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.kiosk import KioskService
from app.kiosk.types import PinChange, PinCheck
from ui.workers import Workers


def pin_field() -> QLineEdit:
    """A masked field that takes digits only."""
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,12}")))
    return field


class PinDialog(QDialog):
    """Asks for the admin PIN and checks it in a worker; stays open on a wrong PIN and says so (``checked``)."""

    checked = Signal(object)  # the PinCheck

    def __init__(self, service: KioskService, workers: Workers, parent: QWidget | None = None,
                 reason: str | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.setWindowTitle(self.tr("Administrator"))
        lay = QVBoxLayout(self)
        if reason:
            intro = QLabel(reason)
            intro.setWordWrap(True)
            lay.addWidget(intro)
        form = QFormLayout()
        self.pin = pin_field()
        form.addRow(self.tr("Admin PIN:"), self.pin)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        form.addRow("", self.error)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def submit(self) -> None:
        """Check the typed PIN (in a worker: it is audited in the store)."""
        self.ok.setEnabled(False)
        self.workers.submit(self.service.check_pin, self.pin.text(), on_done=self._checked,
                            on_failed=self._failed, write=True)

    def _checked(self, check: PinCheck) -> None:
        self.ok.setEnabled(True)
        self.checked.emit(check)
        if check:
            self.accept()
            return
        self.pin.clear()
        self.pin.setFocus()
        self.error.setText(pin_refusal_text(check.code, check.retry_after_s, check.lock_after))

    def _failed(self, exc: BaseException) -> None:
        self.ok.setEnabled(True)
        self.error.setText(self.tr("The PIN could not be checked: %1").replace("%1", str(exc)))


def pin_refusal_text(code: str | None, retry_after_s: float | None = None, lock_after: int | None = None) -> str:
    """Why a PIN was refused, for a person."""
    if code == "locked":
        return QCoreApplication.translate("PinDialog", "Too many wrong PINs: try again in %1 s.").replace("%1", str(int((retry_after_s or 0) + 0.5)))
    if code == "pin_format":
        return QCoreApplication.translate("PinDialog", "A PIN is 4 to 12 digits.")
    if code == "pin_not_set":
        return QCoreApplication.translate("PinDialog", "No admin PIN is set yet.")
    text = QCoreApplication.translate("PinDialog", "Wrong PIN.")
    if lock_after:
        text += " " + QCoreApplication.translate("PinDialog", "After %1 wrong PINs the PIN is locked for a while.").replace("%1", str(lock_after))
    return text


class SetPinDialog(QDialog):
    """Sets the first admin PIN, or changes it (the current PIN first); ``changed`` carries the PinChange."""

    changed = Signal(object)

    def __init__(self, service: KioskService, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.first = not service.options.pin_set
        self.setWindowTitle(self.tr("Set the admin PIN") if self.first else self.tr("Change the admin PIN"))
        lay = QVBoxLayout(self)
        if self.first:
            intro = QLabel(self.tr("This kiosk has no admin PIN yet. Choose one (4 to 12 digits): it protects "
                                   "enrolment, the admin screen and leaving kiosk mode."))
            intro.setWordWrap(True)
            lay.addWidget(intro)
        form = QFormLayout()
        self.current = pin_field()
        self.current_error = QLabel()
        self.current_error.setObjectName("error")
        if not self.first:
            form.addRow(self.tr("Current PIN:"), self.current)
            form.addRow("", self.current_error)
        self.new = pin_field()
        self.again = pin_field()
        self.new_error = QLabel()
        self.new_error.setObjectName("error")
        self.new_error.setWordWrap(True)
        form.addRow(self.tr("New PIN:"), self.new)
        form.addRow(self.tr("New PIN again:"), self.again)
        form.addRow("", self.new_error)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)

    def submit(self) -> None:
        """Check the form, then set the PIN in a worker (it writes the settings file)."""
        self.current_error.clear()
        self.new_error.clear()
        new = self.new.text()
        if not 4 <= len(new) <= 12:
            self.new_error.setText(pin_refusal_text("pin_format"))
            self.new.setFocus()
            return
        if new != self.again.text():
            self.new_error.setText(self.tr("The two new PINs differ."))
            self.again.clear()
            self.again.setFocus()
            return
        self.ok.setEnabled(False)
        current = None if self.first else self.current.text()
        self.workers.submit(self.service.set_pin, new, current, on_done=self._done, on_failed=self._failed,
                            write=True)

    def _done(self, change: PinChange) -> None:
        self.ok.setEnabled(True)
        self.changed.emit(change)
        if change.ok:
            self.accept()
        elif change.code in ("wrong_pin", "locked"):
            self.current.clear()
            self.current.setFocus()
            self.current_error.setText(pin_refusal_text(change.code, change.retry_after_s))
        else:
            self.new_error.setText(pin_refusal_text(change.code))

    def _failed(self, exc: BaseException) -> None:
        self.ok.setEnabled(True)
        self.new_error.setText(self.tr("The PIN could not be set: %1").replace("%1", str(exc)))


def pin_saved_text(change: PinChange) -> str:
    """Where a new PIN went: the settings file, or this session only."""
    if change.saved:
        return QCoreApplication.translate("PinDialog", "The admin PIN is set (stored hashed in %1).").replace("%1", change.path)
    return (QCoreApplication.translate("PinDialog", "The admin PIN is set for this session only: it could not be saved to %1 (%2).")
            .replace("%1", change.path).replace("%2", change.error or ""))
