"""Trace and freeze a speaker network for faster CPU inference, checked against eager first."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import torch
from torch import nn

log = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor], torch.Tensor]
TRACE_FRAMES = 298  # 3 s of fbank
CHECK_SHAPE = (2, 157)  # another batch size and length (1.6 s) than the traced one
TOLERANCE = 1e-4


def traced(net: nn.Module, feat_dim: int = 80, seed: int = 0) -> Forward:
    """Return a traced, frozen copy of ``net`` (batch-norm folded into convolutions), or ``net`` itself.

    Parameters
    ----------
    net:
        An eval-mode network taking ``(batch, frames, feat_dim)`` features.
    feat_dim:
        Feature bins of its input.
    seed:
        Seed of the probe inputs used for tracing and for the equality check.

    Returns
    -------
    Callable[[torch.Tensor], torch.Tensor]
        The frozen TorchScript module when it reproduces the eager network on inputs of other
        lengths and batch sizes than it was traced with (to 1e-4); otherwise the eager network.
    """
    gen = torch.Generator().manual_seed(seed)
    example = torch.randn(1, TRACE_FRAMES, feat_dim, generator=gen)
    probe = torch.randn(*CHECK_SHAPE, feat_dim, generator=gen)
    net = net.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.13 marks jit.trace deprecated; it still works
            with torch.inference_mode(False), torch.no_grad():
                module = torch.jit.freeze(torch.jit.trace(net, example, check_trace=False))
        with torch.inference_mode():
            module(probe)  # TorchScript profiles the first call and optimises on the second:
            got = module(probe)  # warm it up here so a user's first embedding is not slow
            if (got - net(probe)).abs().max().item() > TOLERANCE:
                raise ValueError("traced network differs from eager on another length and batch size")
    except Exception as exc:  # noqa: BLE001  any tracing problem: keep the eager network, which is always right
        log.warning("using the eager network: tracing failed (%s)", exc)
        return net
    return module  # type: ignore[no-any-return]
