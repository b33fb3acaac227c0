"""A tqdm progress bar on stderr, driven by the engine's ``progress(step, completed, total)`` calls."""

from __future__ import annotations

import sys
from typing import Any, Self


class ProgressBar:
    """One bar per step; a new step name closes the last bar and opens the next."""

    def __init__(self, *, disabled: bool = False, units: dict[str, str] | None = None,
                 default_unit: str = "file", scale: bool = False) -> None:
        self.disabled = disabled
        self._units = units or {}
        self._default_unit = default_unit
        self._scale = scale
        self._bar: Any = None
        self._step = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, step: str, completed: int, total: int) -> None:
        if self.disabled:
            return
        from tqdm import tqdm

        class _Bar(tqdm):  # type: ignore[type-arg]
            monitor_interval = 0  # no monitor thread left running after the command

        if step != self._step or self._bar is None:
            self.close()
            self._step = step
            unit = self._units.get(step.split(" ")[0], self._default_unit)
            self._bar = _Bar(total=total, desc=step, unit=unit, unit_scale=self._scale and unit == "B",
                             file=sys.stderr, leave=False, dynamic_ncols=True)
        self._bar.update(completed - self._bar.n)

    def close(self) -> None:
        """Close the open bar, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
