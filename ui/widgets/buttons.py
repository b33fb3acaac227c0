"""A push button that Enter and Return press too (Qt's own answer only to Space outside dialogs)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPushButton


class EnterButton(QPushButton):
    """Clicked by Enter, Return or Space when it has the keyboard focus."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.isEnabled():
            self.animateClick()
            event.accept()
            return
        super().keyPressEvent(event)
