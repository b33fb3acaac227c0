"""A stacked widget as large as the page it shows (QStackedWidget asks for the room of its largest page)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLayout, QStackedWidget, QWidget


class PageStack(QStackedWidget):
    """Sized by the current page only, so a small page on a small screen needs no scrolling."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # else: the largest page's minimum
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def hasHeightForWidth(self) -> bool:
        return False  # else a scroll area gives the page its preferred height, not the room there is

    def heightForWidth(self, width: int) -> int:
        return self.minimumSizeHint().height()  # what a scroll area asks when the page's layout wraps text

    def sizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()
