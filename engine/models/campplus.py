"""The CAM++ network (Wang et al., 2023) in plain torch, inference only.

Module and parameter names follow 3D-Speaker's ``speakerlab/models/campplus`` so the official
checkpoints load with ``strict=True`` (``head.conv1.weight``,
``xvector.block1.tdnnd1.cam_layer.linear_local.weight``, ...).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

SEGMENT_FRAMES = 100


def nonlinear(config_str: str, channels: int) -> nn.Sequential:
    """Build the ``batchnorm-relu`` style activation stack named by ``config_str``."""
    layers = nn.Sequential()
    for name in config_str.split("-"):
        if name == "relu":
            layers.add_module("relu", nn.ReLU(inplace=True))
        elif name == "prelu":
            layers.add_module("prelu", nn.PReLU(channels))
        elif name == "batchnorm":
            layers.add_module("batchnorm", nn.BatchNorm1d(channels))
        elif name == "batchnorm_":
            layers.add_module("batchnorm", nn.BatchNorm1d(channels, affine=False))
        else:
            raise ValueError(f"unknown activation {name!r} in {config_str!r}")
    return layers


class StatsPool(nn.Module):
    """Mean and unbiased standard deviation over time, concatenated."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch.std written out: the same numbers (to 1e-7), but its ONNX export keeps the tensor's rank,
        # where the exported std node left ONNX Runtime's shape inference unable to place the concat.
        mean = x.mean(dim=-1)
        var = ((x - mean.unsqueeze(-1)) ** 2).sum(dim=-1) / (x.shape[-1] - 1)
        return torch.cat([mean, var.sqrt()], dim=1)


class BasicResBlock(nn.Module):
    """2-D residual block of the FCM head; strides only along frequency."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """Front-end convolution module: 2-D ResNet over (frequency, time), flattened to channels."""

    def __init__(self, m_channels: int = 32, feat_dim: int = 80) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels))
        self.layer2 = nn.Sequential(BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels))
        self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        return out.flatten(1, 2)


class TDNNLayer(nn.Module):
    """1-D convolution followed by its activation stack."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, config_str: str) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_ch, out_ch, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False)
        self.nonlinear = nonlinear(config_str, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """Context-aware masking: a local convolution gated by utterance- and segment-level context."""

    def __init__(self, bn_ch: int, out_ch: int, kernel: int, dilation: int, reduction: int = 2) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(bn_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(bn_ch, bn_ch // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_ch // reduction, out_ch, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear_local(x)
        context = x.mean(-1, keepdim=True) + self.seg_pooling(x)
        mask = self.sigmoid(self.linear2(self.relu(self.linear1(context))))
        return y * mask

    @staticmethod
    def seg_pooling(x: torch.Tensor) -> torch.Tensor:
        """Average over 100-frame segments (the last one partial), broadcast back to every frame."""
        seg = F.avg_pool1d(x, kernel_size=SEGMENT_FRAMES, stride=SEGMENT_FRAMES, ceil_mode=True)
        return seg.repeat_interleave(SEGMENT_FRAMES, dim=-1)[..., : x.shape[-1]]


class CAMDenseTDNNLayer(nn.Module):
    """Bottleneck (1x1) then CAM layer; its output is concatenated to its input by the block."""

    def __init__(self, in_ch: int, out_ch: int, bn_ch: int, kernel: int, dilation: int, config_str: str) -> None:
        super().__init__()
        self.nonlinear1 = nonlinear(config_str, in_ch)
        self.linear1 = nn.Conv1d(in_ch, bn_ch, 1, bias=False)
        self.nonlinear2 = nonlinear(config_str, bn_ch)
        self.cam_layer = CAMLayer(bn_ch, out_ch, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.ModuleList):
    """Densely connected stack of CAM layers (``tdnnd1`` ... ``tdnndN``)."""

    def __init__(
        self, num_layers: int, in_ch: int, growth: int, bn_ch: int, kernel: int, dilation: int, config_str: str
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = CAMDenseTDNNLayer(in_ch + i * growth, growth, bn_ch, kernel, dilation, config_str)
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    """Activation then 1x1 convolution halving the channels between dense blocks."""

    def __init__(self, in_ch: int, out_ch: int, config_str: str) -> None:
        super().__init__()
        self.nonlinear = nonlinear(config_str, in_ch)
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class DenseLayer(nn.Module):
    """Embedding projection of the pooled statistics, with a non-affine batch norm."""

    def __init__(self, in_ch: int, out_ch: int, config_str: str) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)
        self.nonlinear = nonlinear(config_str, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """CAM++ speaker encoder: ``(batch, frames, feat_dim)`` fbank -> ``(batch, embedding_size)``."""

    def __init__(
        self,
        feat_dim: int = 80,
        embedding_size: int = 512,
        growth_rate: int = 32,
        bn_size: int = 4,
        init_channels: int = 128,
        config_str: str = "batchnorm-relu",
    ) -> None:
        super().__init__()
        self.head = FCM(feat_dim=feat_dim)
        channels = self.head.out_channels
        self.xvector = nn.Sequential(
            OrderedDict([("tdnn", TDNNLayer(channels, init_channels, 5, 2, config_str))])
        )
        channels = init_channels
        for i, (num_layers, dilation) in enumerate(zip((12, 24, 16), (1, 2, 2))):
            block = CAMDenseTDNNBlock(num_layers, channels, growth_rate, bn_size * growth_rate, 3, dilation, config_str)
            self.xvector.add_module(f"block{i + 1}", block)
            channels += num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2, config_str))
            channels //= 2
        self.xvector.add_module("out_nonlinear", nonlinear(config_str, channels))
        self.xvector.add_module("stats", StatsPool())
        self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size, "batchnorm_"))
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.xvector(self.head(x.transpose(1, 2)))
