"""The image backbone of the paper's Figure 2: conv 64, max pool, conv 64, fully connected 512.

Works on any single-channel image part (28x14 MNIST halves, 8x4 halves of the 8x8 digits).
The paper does not print the kernel size; we use 3x3 with 'same' padding and say so.
"""

from __future__ import annotations

from torch import nn

from .base import Backbone, Shape


def half_image_encoder(shape: Shape, channels: int = 64, kernel_size: int = 3) -> nn.Module:
    """``[B, 1, H, W]`` -> ``[B, channels * (H // 2) * (W // 2)]`` (conv1, pool, conv2, flatten)."""
    if len(shape) != 3:
        raise ValueError(f"mnist_half_cnn expects image modalities shaped [C, H, W], got {shape}")
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(shape[0], channels, kernel_size, padding=pad),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, channels, kernel_size, padding=pad),
        nn.ReLU(),
        nn.Flatten(),
    )


class _ImageDecoder(nn.Module):
    """Mirror of the encoder for the autoencoder: fc, unflatten, transposed convs -> logits."""

    def __init__(self, code_size: int, shape: Shape, channels: int, kernel_size: int) -> None:
        super().__init__()
        c, h, w = shape
        self.hidden = (channels, h // 2, w // 2)
        pad = kernel_size // 2
        self.fc = nn.Sequential(nn.Linear(code_size, channels * (h // 2) * (w // 2)), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, kernel_size, padding=pad),
            nn.ReLU(),
            nn.Upsample(size=(h, w)),
            nn.ConvTranspose2d(channels, c, kernel_size, padding=pad),
        )

    def forward(self, code):
        return self.deconv(self.fc(code).reshape(-1, *self.hidden))


def mnist_half_cnn(channels: int = 64, kernel_size: int = 3, fusion_width: int = 512, dropout: float = 0.5) -> Backbone:
    """Backbone for images split into vertical parts (concatenated back along the width).

    Args:
        channels: units of conv1 and conv2 (64 in the paper).
        kernel_size: convolution kernel size (not given by the paper; 3).
        fusion_width: the per-half fully connected layer of intermediate integration (512).
        dropout: dropout on the fully connected layers (0.5).
    """
    return Backbone(
        name="mnist_half_cnn",
        encoder=lambda shape: half_image_encoder(shape, channels, kernel_size),
        head=lambda n_in, n_classes: nn.Sequential(nn.Flatten(), nn.Linear(n_in, n_classes)),
        concat_dim=-1,
        early_width=None,
        fusion_width=fusion_width,
        decoder=lambda code_size, shape: _ImageDecoder(code_size, shape, channels, kernel_size),
        dropout=dropout,
    )
