"""Reading a checkpoint file into a state dict and loading it strictly, with errors that name keys."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

SHOW_KEYS = 5


def _keys_text(keys: list[str]) -> str:
    """The first few keys, and how many more."""
    shown = ", ".join(keys[:SHOW_KEYS])
    more = len(keys) - SHOW_KEYS
    return f"{shown} (and {more} more)" if more > 0 else shown


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a torch checkpoint holding a state dict (optionally under ``state_dict`` or ``model``).

    Parameters
    ----------
    path:
        The checkpoint file.

    Returns
    -------
    dict[str, torch.Tensor]
        Parameter and buffer tensors by name.

    Raises
    ------
    ValueError
        The file is not a torch checkpoint or holds no state dict.
    """
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(f"not a readable torch checkpoint ({type(exc).__name__}: {str(exc)[:200]})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(wrapper), Mapping):
            obj = obj[wrapper]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError("the file does not hold a state dict of tensors")
    return {str(k): v for k, v in obj.items()}


def load_state_dict_strict(net: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Load ``state`` into ``net``; every key must match in name and shape.

    Parameters
    ----------
    net:
        The network to fill.
    state:
        Tensors by parameter/buffer name.

    Raises
    ------
    ValueError
        Missing keys, unexpected keys or shape mismatches, each named.
    """
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing keys: {_keys_text(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_keys_text(unexpected)}")
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if shapes:
        problems.append(f"shape mismatches: {_keys_text(shapes)}")
    if problems:
        raise ValueError("; ".join(problems))
    net.load_state_dict(dict(state), strict=True)
