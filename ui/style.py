"""Colours, fonts and the application style sheet: large, clear and calm."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BACKGROUND = "#f4f6f8"
SURFACE = "#ffffff"
TEXT = "#1f2933"
MUTED = "#616e7c"
ACCENT = "#2f6fb0"
ACCENT_DARK = "#245a90"
BORDER = "#d9e2ec"
TRACK = "#e4e9ef"
GOOD = "#2e8b57"
WARN = "#c98a1b"
BAD = "#c0392b"
FOCUS = "#f5a623"  # keyboard focus: a ring that stands out on white and on the accent blue

# Below this window size (width, height) the kiosk uses the compact sheet: 1024x600 and 800x480 panels, portrait.
COMPACT_BELOW = (1100, 760)

# Lane colours of the meeting timeline (colour-blind friendly, Okabe-Ito).
LANES = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999"]

STYLE_SHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 17px; }}
QLabel#title {{ font-size: 30px; font-weight: 700; }}
QLabel#heading {{ font-weight: 700; background: transparent; }}
QLabel#error {{ color: {BAD}; font-size: 15px; background: transparent; }}
QLabel#prompt {{ font-size: 34px; font-weight: 500; color: {ACCENT_DARK}; background: {SURFACE};
    border: 1px solid {BORDER}; border-radius: 14px; padding: 18px; }}
QLabel#hint {{ color: {MUTED}; font-size: 16px; }}
QLabel#result {{ font-size: 28px; font-weight: 600; padding: 14px; border-radius: 14px; }}
QLabel#result[state="accepted"] {{ background: #e3f4ea; color: {GOOD}; }}
QLabel#result[state="rejected"] {{ background: #fbe9e7; color: {BAD}; }}
QLabel#result[state="retry"] {{ background: #fdf3e1; color: #8a5a00; }}
QLabel#result[state="busy"] {{ background: {SURFACE}; color: {MUTED}; }}
QLabel#result[state="idle"] {{ background: transparent; color: {MUTED}; }}
QPushButton {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 10px; padding: 10px 18px; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:focus {{ border: 3px solid {FOCUS}; }}
QPushButton:disabled {{ color: #a0aab4; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: none; font-size: 24px; font-weight: 600;
    padding: 18px 40px; border-radius: 16px; }}
QPushButton#primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#primary:focus {{ border: 4px solid {FOCUS}; padding: 14px 36px; }}
QPushButton#primary:disabled {{ background: #9fb8d3; }}
QPushButton#nav {{ border: none; border-bottom: 3px solid transparent; border-radius: 0; background: transparent;
    font-size: 18px; padding: 10px 18px; color: {MUTED}; min-width: 80px; }}
QPushButton#nav:checked {{ color: {ACCENT_DARK}; border-bottom: 3px solid {ACCENT}; }}
QPushButton#nav:hover {{ color: {ACCENT_DARK}; }}
QPushButton#nav:focus {{ border: 3px solid {FOCUS}; border-radius: 6px; }}
QCheckBox:focus, QTabBar::tab:focus {{ color: {ACCENT_DARK}; text-decoration: underline; }}
QCheckBox {{ spacing: 10px; }}
QCheckBox::indicator {{ width: 22px; height: 22px; border: 2px solid #9aa5b1; border-radius: 5px; background: {SURFACE}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QProgressBar {{ background: {TRACK}; border: none; border-radius: 7px; height: 14px; text-align: center;
    font-size: 12px; color: {TEXT}; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 7px; }}
QLineEdit, QComboBox, QDoubleSpinBox, QSpinBox {{ background: {SURFACE}; border: 1px solid {BORDER};
    border-radius: 8px; padding: 8px; font-size: 18px; }}
QLineEdit:focus, QComboBox:focus, QDoubleSpinBox:focus, QSpinBox:focus {{ border: 2px solid {FOCUS}; }}
QComboBox {{ padding-right: 34px; }}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right; width: 30px; border: none; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 32px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-origin: border; subcontrol-position: top right;
    width: 28px; border: none; border-left: 1px solid {BORDER}; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-origin: border; subcontrol-position: bottom right;
    width: 28px; border: none; border-left: 1px solid {BORDER}; }}
QTableWidget {{ background: {SURFACE}; border: 1px solid {BORDER}; gridline-color: {BORDER}; font-size: 16px; }}
QHeaderView::section {{ background: {TRACK}; border: none; padding: 6px; font-weight: 600; }}
QStatusBar {{ background: {SURFACE}; color: {MUTED}; border-top: 1px solid {BORDER}; font-size: 14px; }}
QStatusBar QLabel {{ background: transparent; color: {MUTED}; font-size: 14px; padding: 0 10px; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ padding: 10px 20px; font-size: 17px; border: none; border-bottom: 3px solid transparent;
    background: transparent; color: {MUTED}; }}
QTabBar::tab:selected {{ color: {ACCENT_DARK}; border-bottom: 3px solid {ACCENT}; }}
QFrame#card {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 14px; }}
"""

# Set on the main window below COMPACT_BELOW; an ancestor's sheet wins over the application's whatever the
# selector, so every rule that sets a size is repeated here.
COMPACT_SHEET = """
QWidget { font-size: 15px; }
QLabel#title { font-size: 21px; }
QLabel#prompt { font-size: 22px; padding: 6px; border-radius: 10px; }
QLabel#hint { font-size: 14px; }
QLabel#error { font-size: 14px; }
QLabel#result { font-size: 19px; padding: 5px; border-radius: 10px; }
QPushButton { padding: 5px 10px; }
QPushButton#primary { font-size: 19px; padding: 8px 26px; border-radius: 12px; }
QPushButton#primary:focus { padding: 4px 22px; }
QPushButton#nav { font-size: 15px; padding: 5px 8px; min-width: 0px; }
QLineEdit, QComboBox, QDoubleSpinBox, QSpinBox { padding: 4px; font-size: 15px; }
QComboBox { padding-right: 30px; }
QSpinBox, QDoubleSpinBox { padding-right: 30px; }
QTableWidget { font-size: 14px; }
QTabBar::tab { padding: 6px 10px; font-size: 15px; }
QStatusBar, QStatusBar QLabel { font-size: 12px; }
"""


def arrow_sheet(folder: Path | None = None) -> str:
    """Rules that draw the spin-box and combo-box arrows from small PNGs drawn here (a styled frame needs its
    arrows styled too: Qt otherwise draws broken marks). Call once a QGuiApplication exists."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QColor, QImage, QPainter, QPolygonF

    folder = folder or Path(tempfile.gettempdir()) / f"edge-vomid-ui-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, points in {"up": [(1, 9), (7, 3), (13, 9)], "down": [(1, 3), (7, 9), (13, 3)]}.items():
        path = folder / f"arrow_{name}.png"
        image = QImage(14, 12, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(MUTED))
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
        painter.end()
        image.save(str(path))
        paths[name] = path.as_posix()
    return (f"QComboBox::down-arrow, QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({paths['down']});"
            f" width: 14px; height: 12px; }}\n"
            f"QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({paths['up']}); width: 14px; height: 12px; }}\n")
