"""The network (torchvision ResNet with one regression output per target), augmentation and device handling.

This module imports torch; the rest of vertfem never does (``pip install vertfem[dl]``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from .options import AugmentOptions

__all__ = ["build_network", "random_affine", "resolve_device", "torch_threads"]


def build_network(arch: str, n_outputs: int) -> nn.Module:
    """A torchvision ResNet (``resnet50`` or ``resnet18``, random initialisation) for one-channel images whose
    final layer gives ``n_outputs`` regression values (one head per target).

    Examples
    --------
    >>> net = build_network("resnet18", 2)
    >>> net(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 2])
    """
    net = getattr(torchvision.models, arch)(weights=None, num_classes=n_outputs)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    return net


def random_affine(batch: torch.Tensor, options: AugmentOptions, generator: torch.Generator) -> torch.Tensor:
    """Rotate, shift and zoom each image of ``(n, 1, h, w)`` at random (bilinear, zero padding = the window's
    lower end).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> random_affine(torch.ones(2, 1, 8, 8), AugmentOptions(rotation_deg=0, shift_fraction=0,
    ...               scale_fraction=0), g).allclose(torch.ones(2, 1, 8, 8))
    True
    """
    n = batch.shape[0]
    u = torch.rand(n, 4, generator=generator) * 2.0 - 1.0
    angle = u[:, 0] * math.radians(options.rotation_deg)
    scale = 1.0 + u[:, 1] * options.scale_fraction
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * 2 * options.shift_fraction], 1),
                         torch.stack([sin, cos, u[:, 3] * 2 * options.shift_fraction], 1)], 1)
    grid = F.affine_grid(theta.to(batch.dtype).to(batch.device), list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def resolve_device(device: str) -> torch.device:
    """``auto`` → the first CUDA device if there is one, else the CPU.

    Examples
    --------
    >>> resolve_device("cpu").type
    'cpu'
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` CPU threads inside the block and restore torch's setting afterwards."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
