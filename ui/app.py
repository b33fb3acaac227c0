"""The main window: navigation, the screens, the status bar, kiosk mode and a clean shutdown."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import KioskService, NodeStatus
from engine.errors import ModelUnavailableError
from ui import style
from ui.audio_source import AudioSource
from ui.screens.admin import AdminScreen
from ui.screens.enrol import EnrolScreen
from ui.screens.labeling import LabelingScreen
from ui.screens.login import LoginScreen
from ui.screens.pin import PinDialog, SetPinDialog, pin_saved_text
from ui.widgets.buttons import EnterButton
from ui.widgets.page_stack import PageStack
from ui.workers import Workers

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Holds the screens; ``ready`` fires once the model is loaded and the login screen is usable."""

    ready = Signal(str)
    load_failed = Signal(str)

    def __init__(self, service: KioskService, workers: Workers, source: AudioSource, *,
                 kiosk: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.source = source
        self.kiosk = kiosk
        self._closing_ok = False
        self.compact = False
        self.offline_offered = False
        self._model_ready = False
        self._load_failed = False
        self.offline_prompt: QMessageBox | None = None
        self.pin_dialog: PinDialog | None = None
        self.pin_setup: SetPinDialog | None = None
        self.setWindowTitle(self.tr("Edge-VoMID"))
        self.login = LoginScreen(service, workers, source)
        self.enrol = EnrolScreen(service, workers, source)
        self.labeling = LabelingScreen(service, workers, source)
        self.admin = AdminScreen(service, workers)
        self.labeling.authorise = lambda: self.ask_pin()  # every enrolment path needs the same PIN
        self.screens: list[tuple[str, QWidget, bool]] = [
            (self.tr("Sign in"), self.login, False),
            (self.tr("Enrol"), self.enrol, True),
            (self.tr("Meeting room"), self.labeling, False),
            (self.tr("Admin"), self.admin, True),
        ]
        self.stack = PageStack()
        self.nav = QButtonGroup(self)
        self._build()
        self._status_labels = [QLabel() for _ in range(4)]
        for label in self._status_labels:
            self.statusBar().addPermanentWidget(label)
        self._status_timer = QTimer(self, interval=3000, timeout=self.refresh_status)
        self._idle = QTimer(self, singleShot=True, timeout=self.go_home)
        self._idle.setInterval(int(service.options.idle_reset_s * 1000))
        QApplication.instance().installEventFilter(self)
        self.admin.settings_tab.kiosk_changed.connect(self.set_kiosk)
        self.admin.settings_tab.applied.connect(self._settings_applied)
        self.admin.changed.connect(self.refresh_status)
        if kiosk:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        self.setMinimumSize(480, 320)  # not the layout's minimum at full size: small panels get the compact sheet
        self.resize(1280, 800)

    def add_screen(self, title: str, widget: QWidget, needs_pin: bool) -> None:
        """Add a screen and its navigation button."""
        self.screens.append((title, widget, needs_pin))
        self._add_nav(len(self.screens) - 1)

    def _build(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        header = QWidget()
        header.setStyleSheet("background: white; border-bottom: 1px solid #d9e2ec;")
        self.header = QHBoxLayout(header)
        self.header.setContentsMargins(24, 6, 24, 0)
        self.brand = brand = QLabel("Edge-VoMID")
        brand.setStyleSheet("font-size: 20px; font-weight: 700; color: #245a90; background: transparent;")
        self.header.addWidget(brand)
        self.header.addSpacing(30)
        self.header.addStretch(1)
        lay.addWidget(header)
        self.scroll = QScrollArea()  # below a screen's smallest usable size it scrolls, never cuts
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.stack)
        lay.addWidget(self.scroll, 1)
        self.setCentralWidget(central)
        for i in range(len(self.screens)):
            self._add_nav(i)
        self.nav.buttons()[0].setChecked(True)

    def _add_nav(self, index: int) -> None:
        title, widget, _ = self.screens[index]
        self.stack.addWidget(widget)
        btn = EnterButton(title)  # Tab to it, Enter opens the screen
        btn.setObjectName("nav")
        btn.setCheckable(True)
        btn.setCursor(Qt.CursorShape.PointingHandCursor)
        self.nav.addButton(btn, index)
        btn.clicked.connect(lambda _=False, i=index: self.show_screen(i))
        self.header.insertWidget(self.header.count() - 1, btn)

    # -- size --------------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.set_compact(self.height() < style.COMPACT_BELOW[1] or self.width() < style.COMPACT_BELOW[0])
        self.brand.setVisible(self.width() >= 700)

    def set_compact(self, on: bool) -> None:
        """Smaller type, margins and spacing on small kiosk screens (under 1100x760)."""
        if on == self.compact:
            return
        self.compact = on
        self.setStyleSheet(style.COMPACT_SHEET if on else "")
        margins, spacing = ((10, 6, 10, 6), 6) if on else ((48, 28, 48, 20), 12)
        for screen in (self.login, self.enrol, self.labeling):
            screen.layout().setContentsMargins(*margins)
            screen.layout().setSpacing(spacing)
        self.login.panel.layout().setSpacing(spacing)
        self.header.setContentsMargins(*((8, 2, 8, 0) if on else (24, 6, 24, 0)))

    # -- navigation ----------------------------------------------------------------------------
    def show_screen(self, index: int) -> bool:
        """Switch screens; PIN-protected ones ask for the admin PIN first."""
        _, widget, needs_pin = self.screens[index]
        if needs_pin and self.stack.currentWidget() is not widget and not self.ask_pin():
            self.nav.button(self.stack.currentIndex()).setChecked(True)
            return False
        self.stack.setCurrentWidget(widget)
        self.nav.button(index).setChecked(True)
        return True

    def ask_pin(self) -> bool:
        """Ask for the admin PIN (a wrong one is said and counts toward a lockout); True once it is right.
        With no PIN set yet, the operator sets one first."""
        if not self.service.options.pin_set:
            return self.ask_new_pin()
        self.pin_dialog = PinDialog(self.service, self.workers, self)
        try:
            return self.pin_dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            self.pin_dialog = None

    def ask_new_pin(self) -> bool:
        """Have the operator set the first admin PIN (no default PIN is ever in use); True once set."""
        dialog = self.open_pin_setup()
        return dialog.exec() == QDialog.DialogCode.Accepted

    def open_pin_setup(self) -> SetPinDialog:
        """The first start's "set the admin PIN" dialog, shown without blocking."""
        if self.pin_setup is None:
            self.pin_setup = SetPinDialog(self.service, self.workers, self)
            self.pin_setup.changed.connect(self._pin_changed)
            self.pin_setup.finished.connect(lambda _r: setattr(self, "pin_setup", None))
            self.pin_setup.open()
        return self.pin_setup

    def _pin_changed(self, change: object) -> None:
        if getattr(change, "ok", False):
            self.statusBar().showMessage(pin_saved_text(change), 10_000)  # type: ignore[arg-type]
            self.refresh_status()

    def go_home(self) -> None:
        """Back to a fresh login screen after inactivity, in every mode (never during work): the enrolment form and
        the last result are cleared, and the PIN screens need the PIN again."""
        recording = self.login.panel.recording or self.enrol.panel.recording or self.labeling.capture.running
        if self.workers.busy() or recording:
            self._idle.start()
            return
        self.enrol.reset()
        self.login.reset()
        self.stack.setCurrentWidget(self.login)
        self.nav.button(0).setChecked(True)

    def set_kiosk(self, on: bool) -> None:
        """Enter or leave kiosk mode: full screen without decorations, closing needs the PIN."""
        self.kiosk = on
        self.setWindowFlag(Qt.WindowType.FramelessWindowHint, on)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def _settings_applied(self) -> None:
        self.login.refresh_mode()
        self._idle.setInterval(int(self.service.options.idle_reset_s * 1000))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress):
            self._idle.start()
        return False

    # -- start-up and status -------------------------------------------------------------------
    def start(self) -> None:
        """Show the window and load the model in the background."""
        if self.kiosk:
            self.showFullScreen()
        else:
            self.show()
        self.refresh_status()
        self._status_timer.start()
        self._idle.start()
        self.workers.submit(self.service.load, on_done=self._loaded, on_failed=self._load_error)
        if not self.service.options.pin_set:
            self.open_pin_setup()

    def _loaded(self, model_id: str) -> None:
        self._model_ready = True
        self.login.set_ready(True)
        self.refresh_status()
        self.ready.emit(model_id)

    def _load_error(self, exc: BaseException) -> None:
        self._load_failed = True
        log.error("model load failed: %s", exc)
        message = getattr(exc, "message", str(exc))
        self.statusBar().showMessage(self.tr("The voice model could not load: %1").replace("%1", message))
        self.load_failed.emit(message)
        if isinstance(exc, ModelUnavailableError) and not self.offline_offered:
            self.offline_offered = True
            self._offer_offline_model(message)

    def _offer_offline_model(self, message: str) -> None:
        """Say why the configured model failed and offer the offline one explicitly (never silently)."""
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Voice model unavailable"),
                          self.tr("The configured voice model could not load:\n\n%1\n\n"
                                  "Use the offline model (GE2E, English-trained) for this session?").replace("%1", message),
                          parent=self)
        use = box.addButton(self.tr("Use the offline model"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Not now"), QMessageBox.ButtonRole.RejectRole)
        box.setModal(True)
        box.finished.connect(lambda _r: self._offline_answer(box.clickedButton() is use))
        self.offline_prompt = box
        box.open()

    def _offline_answer(self, accepted: bool) -> None:
        self.offline_prompt = None
        if accepted:
            self.service.use_offline_model()
            self.workers.submit(self.service.load, on_done=self._loaded, on_failed=self._load_error)

    def refresh_status(self) -> None:
        """Update the status bar (node, peers, model, fault) from a worker."""
        self.workers.submit(self.service.status, on_done=self._show_status)

    def _show_status(self, status: NodeStatus) -> None:
        if status.model and self._load_failed and not self._model_ready:  # then a peer's, after joining a cluster
            self._loaded(status.model)
        node, peers, model, fault = self._status_labels
        node.setText(self.tr("Node: %1").replace("%1", status.node))
        peers.setText(self.tr("Peers: %1").replace("%1", str(status.peers)))
        model.setText(self.tr("Model: %1").replace("%1", status.model or self.tr("loading…")))
        if status.fault:
            fault.setText(self.tr("Fault: %1").replace("%1", status.fault))
        elif status.pin_unset:
            fault.setText(self.tr("No admin PIN set yet: enrolment and Admin ask for one"))
        else:
            fault.setText(self.tr("No faults"))
        fault.setStyleSheet("color: #c0392b;" if status.fault or status.pin_unset else "")

    # -- shutdown ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.kiosk and not self._closing_ok and not self.ask_pin():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def allow_close(self) -> None:
        """Let the next close through without the PIN (tests, service stop)."""
        self._closing_ok = True

    def shutdown(self) -> None:
        """Stop timers, audio, workers and the node; safe to call twice."""
        self._status_timer.stop()
        self._idle.stop()
        QApplication.instance().removeEventFilter(self)
        self.login.panel.cancel()
        self.enrol.panel.cancel()
        self.labeling.shutdown()
        self.admin.stop()
        self.workers.shutdown()
        self.service.close()
