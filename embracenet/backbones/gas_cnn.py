"""The gas sensor arrays backbone of section 6.3 and Figure 3: two 5x5 convolutions, two fully connected layers.

One modality (one sensor type on the nine boards) is a window ``[240, 9]`` (time x board). The encoder
reads it as a one-channel image ``[1, 240, 9]``:

====================  ==========================  ===============================================
layer                 per modality (``[240, 9]``)  early integration (8 modalities, ``[240, 72]``)
====================  ==========================  ===============================================
conv1 5x5, 64, ReLU   ``240 x 9 x 64``            ``240 x 72 x 64``
pool1 (2, 3)          ``120 x 3 x 64``            ``120 x 24 x 64``
conv2 5x5, 128, ReLU  ``120 x 3 x 128``           ``120 x 24 x 128``
pool2 (2, 3)          ``60 x 1 x 128`` = 7680     ``60 x 8 x 128`` = 61440
====================  ==========================  ===============================================

The per-modality numbers are the paper's (``240 x 9 x 64`` pooled to ``120 x 3 x 64``). For early
integration the paper prints ``60 x 3`` after the last pooling; the same (2, 3) pooling twice gives
``60 x 8`` on 72 columns (``60 x 3`` would need a width factor of 8 in pool2, which a 3-wide
per-modality map cannot take), so we keep one pooling rule for every model and say so here.

Convolutions use 'same' padding, as the paper's ``240 x 9`` conv1 output implies.

The head is *full1* (256, ReLU, dropout) and *full2* (the classes). Early integration, late
integration and the autoencoder put a fully connected layer of 1024 between encoder and head
(``early_width``); intermediate integration and compact pooling project each modality to 128
(``fusion_width``) before fusing, so the concatenation is ``8 x 128 = 1024`` wide.
"""

from __future__ import annotations

from torch import Tensor, nn

from .base import Backbone, Shape


def _pooled(shape: Shape, pool: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(h1, w1, h2, w2)``: the map sizes after pool1 and pool2 for a ``[T, C]`` input."""
    if len(shape) != 2:
        raise ValueError(f"gas_cnn expects modalities shaped [time, boards], got {tuple(shape)}")
    h, w = shape
    h1, w1 = h // pool[0], w // pool[1]
    h2, w2 = h1 // pool[0], w1 // pool[1]
    if min(h2, w2) < 1:
        raise ValueError(
            f"gas_cnn: an input of {h} x {w} is too small for two ({pool[0]}, {pool[1]}) poolings; "
            f"it needs at least {pool[0] ** 2} x {pool[1] ** 2}"
        )
    return h1, w1, h2, w2


class GasEncoder(nn.Module):
    """conv1, pool1, conv2, pool2, flatten: ``[B, T, C]`` -> ``[B, conv2 * (T // 4) * (C // 9)]``."""

    def __init__(self, shape: Shape, conv1: int = 64, conv2: int = 128, kernel_size: int = 5, pool: tuple[int, int] = (2, 3)) -> None:
        super().__init__()
        _pooled(shape, pool)  # validates the shape early, naming the backbone
        pad = kernel_size // 2
        self.layers = nn.Sequential(
            nn.Conv2d(1, conv1, kernel_size, padding=pad),
            nn.ReLU(),
            nn.MaxPool2d(pool),
            nn.Conv2d(conv1, conv2, kernel_size, padding=pad),
            nn.ReLU(),
            nn.MaxPool2d(pool),
            nn.Flatten(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """``[B, T, C]`` -> ``[B, F]``; the window becomes a one-channel image."""
        return self.layers(x.unsqueeze(1))


class GasDecoder(nn.Module):
    """Transposed mirror of the encoder, for the multimodal autoencoder (section 6.3.5).

    ``code [B, code_size]`` -> fully connected to the pool2 map -> upsample, transposed conv2 (ReLU)
    -> upsample, transposed conv1 -> reconstruction logits ``[B, T, C]``. Upsampling goes to the
    exact pre-pooling sizes, so widths that pooling floored (e.g. 8 -> 24 -> 72) come back whole.
    """

    def __init__(self, code_size: int, shape: Shape, conv1: int = 64, conv2: int = 128, kernel_size: int = 5, pool: tuple[int, int] = (2, 3)) -> None:
        super().__init__()
        h, w = shape
        h1, w1, h2, w2 = _pooled(shape, pool)
        pad = kernel_size // 2
        self.hidden = (conv2, h2, w2)
        self.fc = nn.Sequential(nn.Linear(code_size, conv2 * h2 * w2), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.Upsample(size=(h1, w1)),
            nn.ConvTranspose2d(conv2, conv1, kernel_size, padding=pad),
            nn.ReLU(),
            nn.Upsample(size=(h, w)),
            nn.ConvTranspose2d(conv1, 1, kernel_size, padding=pad),
        )

    def forward(self, code: Tensor) -> Tensor:
        return self.deconv(self.fc(code).reshape(-1, *self.hidden)).squeeze(1)


def gas_head(n_in: int, n_classes: int, hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    """full1 (``hidden``, ReLU, dropout) and full2: ``[B, n_in]`` -> logits ``[B, n_classes]``."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))


def gas_cnn(
    conv1: int = 64,
    conv2: int = 128,
    kernel_size: int = 5,
    pool: tuple[int, int] | list[int] = (2, 3),
    hidden: int = 256,
    early_width: int = 1024,
    fusion_width: int = 128,
    dropout: float = 0.5,
) -> Backbone:
    """Backbone of Figure 3 for windows ``[240, 9]`` of the eight sensor types.

    Args:
        conv1, conv2: units of the two convolutional layers (64 and 128).
        kernel_size: square kernel size (5).
        pool: max pooling factors (time, boards), the same for pool1 and pool2 ((2, 3)).
        hidden: width of full1 (256).
        early_width: the extra fully connected layer of early / late integration and the
            autoencoder (1024).
        fusion_width: the per-modality fully connected layer of intermediate integration and
            compact pooling (128, so 8 modalities concatenate to 1024).
        dropout: dropout on the fully connected layers (0.5, section 7).

    Example:
        >>> b = gas_cnn()
        >>> b.encoder((240, 9))(torch.zeros(2, 240, 9)).shape   # 60 x 1 x 128
        torch.Size([2, 7680])
    """
    pool_t = (int(pool[0]), int(pool[1]))
    if len(pool) != 2 or min(pool_t) < 1:
        raise ValueError(f"gas_cnn: pool must be two positive factors (time, boards), got {pool}")
    return Backbone(
        name="gas_cnn",
        encoder=lambda shape: GasEncoder(shape, conv1, conv2, kernel_size, pool_t),
        head=lambda n_in, n_classes: gas_head(n_in, n_classes, hidden, dropout),
        concat_dim=-1,  # 8 x [240, 9] -> [240, 72]: boards side by side, time aligned
        early_width=early_width,
        fusion_width=fusion_width,
        decoder=lambda code_size, shape: GasDecoder(code_size, shape, conv1, conv2, kernel_size, pool_t),
        dropout=dropout,
    )
