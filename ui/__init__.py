"""Qt screens and widgets (the kiosk app; a later issue)."""
