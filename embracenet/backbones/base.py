"""What a backbone is: the per-dataset building blocks every fusion model is assembled from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Backbone:
    """The parts of one dataset's network, as factories.

    Attributes:
        name: short identifier, e.g. ``"mnist_half_cnn"``.
        encoder: ``shape -> module`` mapping ``[B, *shape]`` to features ``[B, F]`` (or ``[B, T, F]``
            for time series, which then keep their time axis until the head). This is the lower,
            convolutional part of the paper's figures.
        head: ``(in_features, n_classes) -> module`` mapping ``[B, (T,) F]`` to logits ``[B, n_classes]``
            (fully connected layers, or DeepConvLSTM's recurrent layers).
        concat_dim: the dimension (of one sample, negative) along which early integration and the
            autoencoder concatenate the raw modalities.
        early_width: size of the extra fully connected layer early integration and the
            autoencoder put between encoder and head (``None``: no such layer).
        fusion_width: size of the per-modality fully connected layer that intermediate integration
            and compact pooling put before fusing (``None``: fuse the encoder outputs directly).
        decoder: ``(code_size, input_shape) -> module`` mapping a code ``[B, (T,) F]`` back to
            reconstruction logits ``[B, *input_shape]``, for the multimodal autoencoder.
        dropout: dropout probability on the fully connected layers.
    """

    name: str
    encoder: Callable[[Shape], nn.Module]
    head: Callable[[int, int], nn.Module]
    concat_dim: int = -1
    early_width: int | None = None
    fusion_width: int | None = None
    decoder: Callable[[int, Shape], nn.Module] | None = None
    dropout: float = 0.5

    def concat_shape(self, shapes: Sequence[Shape]) -> Shape:
        """Shape of the concatenated raw input of early integration."""
        first = list(shapes[0])
        dim = len(first) + self.concat_dim if self.concat_dim < 0 else self.concat_dim
        for s in shapes[1:]:
            if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != dim):
                raise ValueError(f"modality shapes {list(shapes)} cannot be concatenated along dimension {self.concat_dim}")
        first[dim] = sum(s[dim] for s in shapes)
        return tuple(first)

    def concat(self, xs: Sequence[Tensor]) -> Tensor:
        """Concatenate raw modality batches ``[B, *shape_k]`` into ``[B, *concat_shape]``."""
        return torch.cat(list(xs), dim=self.concat_dim)


def fc_block(in_features: int, out_features: int, dropout: float) -> nn.Sequential:
    """Fully connected layer + ReLU + dropout, on the last dimension."""
    return nn.Sequential(nn.Linear(in_features, out_features), nn.ReLU(), nn.Dropout(dropout))


@torch.no_grad()
def output_size(module: nn.Module, shape: Shape) -> int:
    """Size of the last dimension of ``module``'s output for one input of ``shape``."""
    was_training = module.training
    module.eval()
    out = module(torch.zeros(1, *shape))
    module.train(was_training)
    return int(out.shape[-1])
