"""EmbraceNet as a fusion model (sections 3, 4.2, 5 and 6.3.6): encoders, docking, embracement, head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..backbones.base import Backbone
from ..nn.embracement import EmbraceNet, InferenceMode
from ..nn.modality_dropout import ModalityDropout
from .encoders import PerModalityModel


class EmbraceNetModel(PerModalityModel):
    """Per-modality encoders, then :class:`~embracenet.EmbraceNet` (docking + embracement), then the head.

    A missing modality is never filled: its selection probability is set to zero and ``p`` is
    renormalised over the available ones (equation 7).

    Args:
        embracement_size: ``c`` (512 for the image halves, 1024 for gas and OPPORTUNITY).
        probabilities: training-time ``p``; uniform when ``None``.
        missing_prob: modality dropout during training ("Adj. pre", section 5.1); 0 disables it.
        inference: ``"sample"`` (paper), ``"expectation"`` or ``"average"`` in eval mode.
        n_draws: draws for ``inference="average"``.
    """

    def __init__(
        self,
        backbone: Backbone,
        modality_shapes: Sequence[Sequence[int]],
        n_classes: int,
        embracement_size: int = 512,
        probabilities: Sequence[float] | None = None,
        missing_prob: float = 0.0,
        inference: InferenceMode = "sample",
        n_draws: int = 1,
    ) -> None:
        super().__init__(backbone, modality_shapes, n_classes, fill="zero")
        self.embracenet = EmbraceNet(self.feature_sizes, embracement_size, probabilities, inference=inference, n_draws=n_draws)
        self.modality_dropout = ModalityDropout(missing_prob)
        self.head = backbone.head(embracement_size, n_classes)

    def set_probabilities(self, p: Sequence[float] | Tensor) -> None:
        """Set the selection probabilities used from now on ("Adj. post")."""
        self.embracenet.set_probabilities(p)

    def encode(self, xs: Sequence[Tensor]) -> list[Tensor]:
        """Encoders and docking layers: one ``[B, (T,) m, c]`` tensor."""
        return [self.embracenet.dock(super().encode(xs))]

    def fuse(self, encoded: Sequence[Tensor], available: Tensor, generator: torch.Generator | None = None) -> Tensor:
        available = self.modality_dropout(available)
        return self.head(self.embracenet.embrace(encoded[0], available, generator=generator))
