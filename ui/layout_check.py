"""Geometry checks of a shown window: visible widgets that overlap a sibling, stick out of their parent, or are
too small for their own text (cut off). Used by the size tests and ``vomid screenshots``; no pixels compared."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QScrollBar,
    QStackedWidget,
    QStatusBar,
    QTabBar,
    QWidget,
)

# Widgets whose children Qt itself places (spin-box editors, combo views, scroll bars, tab bar buttons...).
OPAQUE = (QAbstractSpinBox, QComboBox, QAbstractItemView, QScrollBar, QTabBar, QLineEdit)
SLACK = 1  # pixels of rounding forgiven


def _name(w: QWidget) -> str:
    text = w.text() if isinstance(w, (QLabel, QAbstractButton, QLineEdit)) else ""
    ident = w.objectName() or type(w).__name__
    return f"{ident}({text[:30]!r})" if text else ident


def _inside_scroll_content(w: QWidget) -> bool:
    """True for the content of a scroll area (it may be larger than its viewport: it scrolls)."""
    parent = w.parentWidget()
    grand = parent.parentWidget() if parent is not None else None
    return isinstance(grand, QAbstractScrollArea) and parent is grand.viewport()


def _shown_children(w: QWidget) -> list[QWidget]:
    kids = w.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
    return [c for c in kids if c.isVisible() and not c.isWindow()]


def _text_cut(w: QWidget) -> str | None:
    """Why ``w`` cannot show its own text at its size, or None."""
    size = w.size()
    if isinstance(w, QLabel) and w.text() and w.pixmap().isNull():
        if w.wordWrap():
            need = w.heightForWidth(size.width())
            if need > size.height() + SLACK:
                return f"needs {need}px of height, has {size.height()}"
            return None
        hint = w.minimumSizeHint()
        if hint.width() > size.width() + SLACK or hint.height() > size.height() + SLACK:
            return f"needs {hint.width()}x{hint.height()}, has {size.width()}x{size.height()}"
        return None
    if isinstance(w, (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit)):
        hint = w.minimumSizeHint()
        if hint.width() > size.width() + SLACK or hint.height() > size.height() + SLACK:
            return f"needs {hint.width()}x{hint.height()}, has {size.width()}x{size.height()}"
    return None


def layout_problems(root: QWidget) -> list[str]:
    """Every visible widget under ``root`` that overlaps a visible sibling, sticks out of its parent or cuts its
    own text; empty when the window is usable at its size."""
    found: list[str] = []
    stack = [root]
    while stack:
        parent = stack.pop()
        kids = _shown_children(parent)
        if isinstance(parent, QStackedWidget):
            kids = [k for k in kids if k is parent.currentWidget()]
        area = parent.rect()
        for i, kid in enumerate(kids):
            g = kid.geometry()
            if not _inside_scroll_content(kid):
                inner = area.adjusted(-SLACK, -SLACK, SLACK, SLACK)
                if not inner.contains(g):
                    found.append(f"{_name(kid)} at {_rect(g)} sticks out of {_name(parent)} {_rect(area)}")
            for other in kids[i + 1:]:
                overlap = g.intersected(other.geometry())
                if overlap.width() > SLACK and overlap.height() > SLACK and not isinstance(parent, QStatusBar):
                    found.append(f"{_name(kid)} {_rect(g)} overlaps {_name(other)} {_rect(other.geometry())}")
            why = _text_cut(kid)
            if why:
                found.append(f"{_name(kid)} is cut: {why}")
            if not isinstance(kid, OPAQUE):
                stack.append(kid)
    if isinstance(root, QMainWindow):
        hint = root.minimumSizeHint()
        if hint.width() > root.width() or hint.height() > root.height():
            found.append(f"the window needs at least {hint.width()}x{hint.height()}, has {root.width()}x{root.height()}")
    return found


def _rect(r: QRect) -> str:
    return f"{r.x()},{r.y()} {r.width()}x{r.height()}"
