"""DeepConvLSTM (Ordonez & Roggen), the OPPORTUNITY backbone of the paper's Figure 4.

A modality is a window ``[T, C]`` (time x channels; 15 x 3, 9 or 16 for OPPORTUNITY). The encoder
convolves over time only, with one shared set of filters for every channel (kernel ``(3, 1)`` on a
``[1, T, C]`` image), four times, without padding: 15 steps become 7. Its output keeps the time
axis, ``[B, T', filters * C]``, so the fusion layers of intermediate integration, compact pooling
and EmbraceNet act per time step and the recurrent head still sees a sequence. The head is two
LSTMs of 128 units whose last time step feeds the softmax layer.
"""

from __future__ import annotations

from torch import Tensor, nn

from .base import Backbone, Shape


def _check_shape(shape: Shape, n_layers: int, kernel_size: int) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"deepconvlstm expects modalities shaped [time, channels], got {tuple(shape)}")
    steps, channels = int(shape[0]), int(shape[1])
    out_steps = steps - n_layers * (kernel_size - 1)
    if out_steps < 1:
        raise ValueError(
            f"a window of {steps} steps is too short for {n_layers} unpadded convolutions of kernel {kernel_size} "
            f"(needs at least {n_layers * (kernel_size - 1) + 1}); lower backbone.kernel_size or lengthen the window"
        )
    return out_steps, channels


class ConvEncoder(nn.Module):
    """``[B, T, C]`` -> ``[B, T - n_layers (k - 1), filters * C]``: temporal convolutions + ReLU.

    Args:
        shape: ``(T, C)`` of one window.
        filters: units of every convolutional layer (64).
        kernel_size: temporal kernel (3 in the paper, instead of DeepConvLSTM's 5).
        n_layers: number of convolutional layers (4).
    """

    def __init__(self, shape: Shape, filters: int = 64, kernel_size: int = 3, n_layers: int = 4) -> None:
        super().__init__()
        self.out_steps, self.channels = _check_shape(shape, n_layers, kernel_size)
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Conv2d(1 if i == 0 else filters, filters, (kernel_size, 1)), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        self.filters = filters

    def forward(self, x: Tensor) -> Tensor:
        h = self.convs(x.unsqueeze(1))  # [B, filters, T', C]
        # Time becomes the sequence axis; each step's features are (filter, channel) pairs.
        return h.permute(0, 2, 1, 3).reshape(h.shape[0], h.shape[2], self.filters * h.shape[3])


class LSTMHead(nn.Module):
    """``[B, T, F]`` -> logits ``[B, n_classes]``: dropout, LSTM, dropout, LSTM, last step, dropout, dense.

    A ``[B, F]`` input is treated as a sequence of length one.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.rnn1 = nn.LSTM(in_features, hidden, batch_first=True)
        self.rnn2 = nn.LSTM(hidden, hidden, batch_first=True)
        self.full = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.unsqueeze(1)
        h, _ = self.rnn1(self.drop(x))
        h, _ = self.rnn2(self.drop(h))
        return self.full(self.drop(h[:, -1]))


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder` for the multimodal autoencoder: ``[B, T', filters * C]`` ->
    reconstruction logits ``[B, T, C]`` through transposed temporal convolutions."""

    def __init__(self, code_size: int, shape: Shape, filters: int = 64, kernel_size: int = 3, n_layers: int = 4) -> None:
        super().__init__()
        self.out_steps, self.channels = _check_shape(shape, n_layers, kernel_size)
        if code_size != filters * self.channels:
            raise ValueError(
                f"the decoder expects codes of {filters} x {self.channels} = {filters * self.channels} features per "
                f"step, got {code_size}; the autoencoder needs backbone.early_width = null for deepconvlstm"
            )
        self.filters = filters
        layers: list[nn.Module] = []
        for i in range(n_layers):
            last = i == n_layers - 1
            layers.append(nn.ConvTranspose2d(filters, 1 if last else filters, (kernel_size, 1)))
            if not last:
                layers.append(nn.ReLU())
        self.deconvs = nn.Sequential(*layers)

    def forward(self, code: Tensor) -> Tensor:
        b, t, _ = code.shape
        h = code.reshape(b, t, self.filters, self.channels).permute(0, 2, 1, 3)  # [B, filters, T', C]
        return self.deconvs(h).squeeze(1)  # [B, T, C]


def deepconvlstm(filters: int = 64, kernel_size: int = 3, n_conv: int = 4, hidden: int = 128, dropout: float = 0.5) -> Backbone:
    """Backbone for windows ``[T, C]`` of body-worn sensors (OPPORTUNITY).

    Early integration concatenates the modalities along the channel axis (``[15, 113]``), so its
    encoder output per step is ``64 x 113 = 7232`` wide, like the concatenation of intermediate
    integration. No extra fully connected layer is used by any model (``early_width`` and
    ``fusion_width`` are ``None``): fusion happens on the convolutional features of every step.

    Args:
        filters: units of each convolutional layer (64).
        kernel_size: temporal kernel size (3, section 6.3).
        n_conv: number of convolutional layers (4).
        hidden: units of each LSTM (128).
        dropout: dropout before each LSTM and before the softmax layer (0.5).
    """
    return Backbone(
        name="deepconvlstm",
        encoder=lambda shape: ConvEncoder(shape, filters, kernel_size, n_conv),
        head=lambda n_in, n_classes: LSTMHead(n_in, n_classes, hidden, dropout),
        concat_dim=-1,
        early_width=None,
        fusion_width=None,
        decoder=lambda code_size, shape: ConvDecoder(code_size, shape, filters, kernel_size, n_conv),
        dropout=dropout,
    )


def encoder_steps(window: int, kernel_size: int = 3, n_conv: int = 4) -> int:
    """Time steps left after the encoder: ``window - n_conv (kernel_size - 1)`` (7 for 15, 3, 4)."""
    return window - n_conv * (kernel_size - 1)
