"""The ERes2NetV2 network (Chen et al., 2024) in plain torch, inference only.

Module and parameter names follow 3D-Speaker's ``speakerlab/models/eres2net/ERes2NetV2.py`` so
the official checkpoint loads with ``strict=True`` (``conv1.weight``, ``layer3.0.fuse_models.0.
local_att.0.weight``, ``fuse34.local_att.1.running_mean``, ``seg_1.weight``, ...).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ReLU20(nn.Hardtanh):
    """ReLU clipped at 20, as in the original."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 20.0, inplace)


class AFF(nn.Module):
    """Attentional feature fusion of two equal-shape maps."""

    def __init__(self, channels: int = 64, r: int = 4) -> None:
        super().__init__()
        inter = channels // r
        self.local_att = nn.Sequential(
            nn.Conv2d(channels * 2, inter, kernel_size=1),
            nn.BatchNorm2d(inter),
            nn.SiLU(inplace=True),
            nn.Conv2d(inter, channels, kernel_size=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor, ds_y: torch.Tensor) -> torch.Tensor:
        att = 1.0 + torch.tanh(self.local_att(torch.cat((x, ds_y), dim=1)))
        return x * att + ds_y * (2.0 - att)


class BasicBlockERes2NetV2(nn.Module):
    """Res2Net-style block: split channels, chain 3x3 convolutions (added, or fused with AFF)."""

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        base_width: int = 26,
        scale: int = 2,
        expansion: int = 2,
        fuse: bool = False,
    ) -> None:
        super().__init__()
        width = math.floor(planes * (base_width / 64.0))
        self.width = width
        self.conv1 = nn.Conv2d(in_planes, width * scale, kernel_size=1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1, bias=False) for _ in range(scale))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(scale))
        self.fuse_models = nn.ModuleList(AFF(channels=width, r=4) for _ in range(scale - 1)) if fuse else None
        self.relu = ReLU20(inplace=True)
        self.conv3 = nn.Conv2d(width * scale, planes * expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(expansion * planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = torch.split(self.relu(self.bn1(self.conv1(x))), self.width, 1)
        outs: list[torch.Tensor] = []
        sp = splits[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            if i > 0:
                sp = self.fuse_models[i - 1](sp, splits[i]) if self.fuse_models is not None else sp + splits[i]
            sp = self.relu(bn(conv(sp)))
            outs.append(sp)
        out = self.bn3(self.conv3(torch.cat(outs, 1)))
        return self.relu(out + self.shortcut(x))


class TSTP(nn.Module):
    """Temporal statistics pooling: mean and sqrt(unbiased variance + 1e-8), flattened."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1).flatten(start_dim=1)
        std = torch.sqrt(torch.var(x, dim=-1) + 1e-8).flatten(start_dim=1)
        return torch.cat((mean, std), 1)


class ERes2NetV2(nn.Module):
    """ERes2NetV2 speaker encoder: ``(batch, frames, feat_dim)`` fbank -> ``(batch, embedding_size)``."""

    def __init__(
        self,
        feat_dim: int = 80,
        embedding_size: int = 192,
        m_channels: int = 64,
        num_blocks: tuple[int, int, int, int] = (3, 4, 6, 3),
        baseWidth: int = 26,  # 3D-Speaker's argument name, kept so its arguments table applies unchanged
        scale: int = 2,
        expansion: int = 2,
    ) -> None:
        super().__init__()
        self._in_planes = m_channels
        self._shape = (baseWidth, scale, expansion)
        stats_dim = int(feat_dim / 8) * m_channels * 8 * expansion
        self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = self._make_layer(m_channels, num_blocks[0], 1, fuse=False)
        self.layer2 = self._make_layer(m_channels * 2, num_blocks[1], 2, fuse=False)
        self.layer3 = self._make_layer(m_channels * 4, num_blocks[2], 2, fuse=True)
        self.layer4 = self._make_layer(m_channels * 8, num_blocks[3], 2, fuse=True)
        self.layer3_ds = nn.Conv2d(
            m_channels * 4 * expansion, m_channels * 8 * expansion, kernel_size=3, padding=1, stride=2, bias=False
        )
        self.fuse34 = AFF(channels=m_channels * 8 * expansion, r=4)
        self.pool = TSTP()
        self.seg_1 = nn.Linear(stats_dim * 2, embedding_size)
        self.seg_bn_1 = nn.Identity()
        self.seg_2 = nn.Identity()

    def _make_layer(self, planes: int, num_blocks: int, stride: int, *, fuse: bool) -> nn.Sequential:
        """A stage of blocks; only the first one strides."""
        base_width, scale, expansion = self._shape
        blocks = []
        for s in [stride] + [1] * (num_blocks - 1):
            blocks.append(BasicBlockERes2NetV2(self._in_planes, planes, s, base_width, scale, expansion, fuse))
            self._in_planes = planes * expansion
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.transpose(1, 2).unsqueeze(1))))
        out3 = self.layer3(self.layer2(self.layer1(out)))
        out4 = self.layer4(out3)
        fused = self.fuse34(out4, self.layer3_ds(out3))
        return self.seg_1(self.pool(fused))
