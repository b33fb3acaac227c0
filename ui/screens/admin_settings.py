"""The admin screen's settings and calibration tabs."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import KioskService
from app.kiosk.types import PinChange
from app.settings_file import Override, SaveResult
from ui.screens.pin import SetPinDialog, pin_saved_text
from ui.workers import Task, Workers


class SettingsTab(QWidget):
    """Mode, threshold, lockout, kiosk mode, idle reset and language; ``applied`` after Apply."""

    applied = Signal()
    saved = Signal(object)  # the SaveResult, once the changed settings went to the file (or failed to)
    kiosk_changed = Signal(bool)
    language_changed = Signal(str)

    def __init__(self, service: KioskService, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.save_task: Task | None = None
        self.restart_note = ""
        form = QFormLayout(self)
        self.model = QLabel()
        self.mode = QComboBox()
        self.mode.addItem(self.tr("Identify: who is speaking? (1:N)"), "identify")
        self.mode.addItem(self.tr("Verify: claim an id, then speak (1:1)"), "verify")
        self.threshold = QDoubleSpinBox(decimals=3, minimum=-1.0, maximum=1.0, singleStep=0.01)
        self.failures = QSpinBox(minimum=1, maximum=20)
        self.lock_s = QSpinBox(minimum=5, maximum=3600, suffix=" s")
        self.idle_s = QSpinBox(minimum=10, maximum=3600, suffix=" s")
        self.clear_s = QSpinBox(minimum=2, maximum=120, suffix=" s")
        self.kiosk = QCheckBox(self.tr("Full screen, closing needs the admin PIN"))
        self.auto_listen = QCheckBox(self.tr("Start a login when someone speaks (identify mode)"))
        self.language = QComboBox()
        self.language.addItem("English", "en")
        self.language.addItem("中文（简体）", "zh_CN")
        form.addRow(self.tr("Model"), self.model)
        form.addRow(self.tr("Login mode"), self.mode)
        form.addRow(self.tr("Accept threshold (cosine)"), self.threshold)
        form.addRow(self.tr("Lock an id after failures"), self.failures)
        form.addRow(self.tr("Lock for"), self.lock_s)
        form.addRow(self.tr("Back to login after inactivity"), self.idle_s)
        form.addRow(self.tr("Clear a sign-in result after"), self.clear_s)
        form.addRow(self.tr("Kiosk mode"), self.kiosk)
        form.addRow(self.tr("Hands-free"), self.auto_listen)
        form.addRow(self.tr("Language"), self.language)
        self.change_pin = QPushButton(self.tr("Change PIN…"))
        self.change_pin.clicked.connect(self.open_change_pin)
        self.pin_dialog: SetPinDialog | None = None
        form.addRow(self.tr("Admin PIN"), self.change_pin)
        apply = QPushButton(self.tr("Apply"))
        apply.clicked.connect(self.apply)
        form.addRow("", apply)
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        form.addRow("", self.note)

    def load(self) -> None:
        """Show the settings in force."""
        o = self.service.options
        self.model.setText(self.service.model_id + "  " + self.tr("(change with --model and restart)"))
        self.mode.setCurrentIndex(self.mode.findData(o.mode))
        if self.service.ready:
            self.threshold.setValue(self.service.threshold())
        self.failures.setValue(o.lock_failures)
        self.lock_s.setValue(int(o.lock_s))
        self.idle_s.setValue(int(o.idle_reset_s))
        self.clear_s.setValue(int(o.result_clear_s))
        self.kiosk.setChecked(o.kiosk_mode)
        self.auto_listen.setChecked(o.auto_listen)
        self.language.setCurrentIndex(max(0, self.language.findData(o.language or "en")))

    def open_change_pin(self) -> SetPinDialog:
        """The current PIN, then the new one twice (audited, stored hashed)."""
        self.pin_dialog = SetPinDialog(self.service, self.workers, self)
        self.pin_dialog.changed.connect(self._pin_changed)
        self.pin_dialog.open()
        return self.pin_dialog

    def _pin_changed(self, change: PinChange) -> None:
        if change.ok:
            self.note.setText(pin_saved_text(change))

    def edited(self) -> dict[str, Any]:
        """The kiosk options as the form shows them."""
        old = self.service.options
        language = self.language.currentData()
        return {"mode": self.mode.currentData(), "lock_failures": self.failures.value(),
                "lock_s": float(self.lock_s.value()), "idle_reset_s": float(self.idle_s.value()),
                "result_clear_s": float(self.clear_s.value()),
                "kiosk_mode": self.kiosk.isChecked(), "auto_listen": self.auto_listen.isChecked(),
                # the system language shows as English: keep it unset unless another one was picked
                "language": old.language if (old.language or "en") == language else language}

    def apply(self) -> None:
        """Put the edited settings in force now, and save the changed ones for the next start (in a worker)."""
        old = self.service.options
        changed = self.service.set_options(**self.edited())
        if self.service.ready and abs(self.threshold.value() - self.service.threshold()) > 1e-6:
            self.workers.submit(self.service.save_threshold, self.threshold.value(), write=True)
        if old.kiosk_mode != self.kiosk.isChecked():
            self.kiosk_changed.emit(self.kiosk.isChecked())
        self.restart_note = ""
        if (old.language or "en") != self.language.currentData():
            self.language_changed.emit(self.language.currentData())
            self.restart_note = self.tr("The new language shows after the app is restarted.")
        self.note.setText(self._with_restart(self.tr("Applied.")))
        if changed:
            self.note.setText(self._with_restart(self.tr("Applied; saving for the next start…")))
            self.save_task = self.workers.submit(self.service.save_options, changed, on_done=self._saved,
                                                 on_failed=self._save_failed, write=True)
        self.applied.emit()

    def _with_restart(self, text: str) -> str:
        return "\n".join(t for t in (text, self.restart_note) if t)

    def _saved(self, result: SaveResult) -> None:
        if not result.saved:
            self.note.setText(self.tr("Applied for this session only: could not save to %1 (%2).")
                              .replace("%1", str(result.path)).replace("%2", result.error or ""))
        else:
            lines = [self.tr("Applied and saved to %1.").replace("%1", str(result.path))]
            lines += [self._override_text(o) for o in result.overridden]
            self.note.setText(self._with_restart("\n".join(lines)))
        self.saved.emit(result)

    def _override_text(self, override: Override) -> str:
        layer = {"env": self.tr("the environment variable %1"), "flag": self.tr("a command-line flag"),
                 "profile": self.tr("the %1 profile")}.get(override.source, override.source)
        return (self.tr("Note: %1 is also set by %2, which overrides the saved value on the next start.")
                .replace("%1", override.field).replace("%2", layer.replace("%1", override.detail)))

    def _save_failed(self, exc: BaseException) -> None:
        self.note.setText(self.tr("Applied for this session only: could not save (%1).")
                          .replace("%1", getattr(exc, "message", str(exc))))
        self.saved.emit(None)


class CalibrationTab(QWidget):
    """Pick a trial list and a target false-accept rate; see and apply the threshold it gives."""

    calibrated = Signal(object)

    def __init__(self, service: KioskService, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.task: Task | None = None
        self.result: Any = None
        lay = QVBoxLayout(self)
        intro = QLabel(self.tr("Choose a trial list (lines: label enrol test) recorded at this site and the "
                               "false-accept rate you can accept. The threshold that gives it is computed here."))
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText(self.tr("Trial list file"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.path_error = QLabel()
        self.path_error.setObjectName("error")
        lay.addWidget(self.path_error)
        form = QFormLayout()
        self.far = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=50.0, value=1.0, suffix=" %")
        form.addRow(self.tr("Target false-accept rate"), self.far)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.run_btn = QPushButton(self.tr("Calibrate"))
        self.run_btn.clicked.connect(self.run)
        self.use_btn = QPushButton(self.tr("Use this threshold"))
        self.use_btn.setEnabled(False)
        self.use_btn.clicked.connect(self.use)
        buttons.addWidget(self.run_btn)
        buttons.addWidget(self.use_btn)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        lay.addWidget(self.outcome)
        lay.addStretch(1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Trial list"), "", self.tr("Trial lists (*.txt)"))
        if path:
            self.path.setText(path)

    def run(self) -> None:
        """Score the trials in a worker; without a trial list or a loaded model, says so."""
        self.path_error.clear()
        if not self.path.text().strip():
            self.path_error.setText(self.tr("Choose a trial list file first (Browse…)."))
            self.path.setFocus()
            return
        if not self.service.ready:
            self.path_error.setText(self.tr("The voice model is still loading: try again in a moment."))
            return
        self.run_btn.setEnabled(False)
        self.progress.setVisible(True)
        self.outcome.setText(self.tr("Scoring the trials…"))
        self.task = self.workers.submit(self.service.calibrate, self.path.text().strip(), self.far.value() / 100,
                                        on_done=self._done, on_failed=self._failed, on_progress=self._progress)

    def _progress(self, _step: str, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _done(self, result: Any) -> None:
        self.result = result
        self.run_btn.setEnabled(True)
        self.use_btn.setEnabled(True)
        self.progress.setVisible(False)
        self.outcome.setText(self.tr("Threshold %1: false accepts %2 %, false rejects %3 % on %4 trials.")
                             .replace("%1", f"{result.threshold:.3f}").replace("%2", f"{100 * result.far:.2f}")
                             .replace("%3", f"{100 * result.frr:.2f}").replace("%4", str(result.n_trials)))
        self.calibrated.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.run_btn.setEnabled(True)
        self.progress.setVisible(False)
        self.outcome.setText(self.tr("Calibration failed: %1").replace("%1", getattr(exc, "message", str(exc))))

    def use(self) -> None:
        """Put the calibrated threshold in force."""
        if self.result is not None:
            self.workers.submit(self.service.save_threshold, self.result.threshold, self.result, write=True)
            self.outcome.setText(self.outcome.text() + "  " + self.tr("In use."))
