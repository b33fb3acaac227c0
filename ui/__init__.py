"""PySide6 screens and widgets of the kiosk; they reach the engine, store and node only through app.kiosk."""

from ui.qtfix import guard_bool_refcounts

guard_bool_refcounts()  # PySide6 6.12.0 loses a reference to True on each Signal.emit (see ui/qtfix.py)
