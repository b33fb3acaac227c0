"""Display names people can read: ordinary Unicode text, never control or direction-changing characters."""

from __future__ import annotations

import unicodedata

from engine.errors import InvalidNameError

# Joiners that some scripts need inside ordinary names (Persian, Indic scripts, emoji sequences).
_ALLOWED_FORMAT = {"\u200c", "\u200d"}
# Control (NUL, escape, newline), format (bidirectional overrides, isolates, invisible marks), surrogate,
# unassigned, and line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"}


def check_display_name(name: str | None) -> str | None:
    """Return ``name`` unchanged when people can read it as plain text; None stays None.

    Parameters
    ----------
    name:
        A display name as given (Chinese, accented and right-to-left names are fine).

    Returns
    -------
    str | None
        The same name.

    Raises
    ------
    InvalidNameError
        Blank, or holding a control, direction-changing or invisible character (the message names it
        and its position).
    """
    if name is None:
        return None
    if not name.strip():
        raise InvalidNameError("the name is blank; give the person's name or leave it out",
                               details={"reason": "blank"})
    for position, ch in enumerate(name, 1):
        if ch in _ALLOWED_FORMAT or unicodedata.category(ch) not in _REFUSED_CATEGORIES:
            continue
        label = unicodedata.name(ch, "control character")
        raise InvalidNameError(
            f"the name holds U+{ord(ch):04X} ({label}) at position {position}, which can hide or reorder "
            "what people read; use plain text",
            details={"reason": "control_character", "codepoint": f"U+{ord(ch):04X}", "position": position},
        )
    return name
