"""Language choice: the setting if given, else the system locale; Qt translators for ours and Qt's texts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

TRANSLATIONS = Path(__file__).resolve().parents[1] / "resources" / "translations"
SUPPORTED = ("en", "zh_CN")


def pick_language(setting: str | None = None) -> str:
    """``zh_CN`` or ``en``: the setting when it names one, else the system locale."""
    name = (setting or QLocale.system().name() or "en").replace("-", "_")
    return "zh_CN" if name.lower().startswith("zh") else "en"


def install_translators(app: QCoreApplication, language: str) -> list[QTranslator]:
    """Load our .qm and Qt's own for ``language``; keep the returned objects alive."""
    installed: list[QTranslator] = []
    if language == "en":
        return installed
    ours = QTranslator(app)
    if ours.load(str(TRANSLATIONS / f"vomid_{language}.qm")):
        app.installTranslator(ours)
        installed.append(ours)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        installed.append(qt)
    QLocale.setDefault(QLocale(language))
    return installed


def remove_translators(app: QCoreApplication, translators: list[QTranslator]) -> None:
    """Back to the source language (English)."""
    for t in translators:
        app.removeTranslator(t)
    translators.clear()
