"""A QR code of a text, drawn from segno's module matrix (segno encodes; Qt only paints the squares)."""

from __future__ import annotations

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

QUIET_ZONE = 4  # modules of light border the QR specification asks for


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules for ``text``, row by row, True for dark (error correction M, no quiet zone)."""
    code = segno.make(text, error="m", micro=False, boost_error=False)
    return [[bool(v) for v in row] for row in code.matrix]


def qr_image(text: str, scale: int = 6, border: int = QUIET_ZONE) -> QImage:
    """``text`` as a QR code image: ``scale`` pixels a module, ``border`` light modules around it."""
    modules = qr_matrix(text)
    size = len(modules) + 2 * border
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    dark = QColor("black").rgb()
    for y, row in enumerate(modules):
        for x, on in enumerate(row):
            if on:
                image.setPixel(x + border, y + border, dark)
    return image.scaled(size * scale, size * scale, Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.FastTransformation)  # nearest neighbour: sharp module edges


class QrCodeView(QLabel):
    """Shows a text as a QR code (empty until :meth:`set_text`)."""

    def __init__(self, scale: int = 5, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = scale
        self.text_shown = ""
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_text(self, text: str) -> None:
        """Show ``text`` as a QR code; an empty text clears it."""
        self.text_shown = text
        if not text:
            self.clear()
            return
        self.setPixmap(QPixmap.fromImage(qr_image(text, self.scale)))
