"""Compact multilinear pooling over m inputs (count sketch + FFT), section 6.3.4 of the paper."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class CompactMultilinearPooling(nn.Module):
    """Approximate the outer product of m vectors with count sketches multiplied in the Fourier domain.

    Each input is L2-normalised, projected by its own fixed count sketch (random hash ``h_k`` into
    ``output_size`` bins and random signs ``s_k``), transformed by a real FFT; the spectra are
    multiplied and transformed back.

    The paper reports that this product blows up as m grows (large Fourier coefficients multiply).
    Two guards keep it finite: the running product of spectra is rescaled by its largest
    magnitude after every factor, and the output gets a signed square root and L2 normalisation
    (as in the multimodal compact bilinear pooling literature), so its scale no longer depends on m.

    Args:
        input_sizes: feature size of each of the ``m`` inputs.
        output_size: ``d``, the sketch dimension and output size.
        normalize_output: apply the signed square root + L2 normalisation guard.
        seed: seed of the fixed random sketches (they are buffers, not parameters).
    """

    def __init__(self, input_sizes: Sequence[int], output_size: int, normalize_output: bool = True, seed: int = 0) -> None:
        super().__init__()
        if len(input_sizes) < 1 or output_size <= 0:
            raise ValueError(f"need at least one input and output_size > 0, got {list(input_sizes)}, {output_size}")
        self.input_sizes = [int(s) for s in input_sizes]
        self.output_size = output_size
        self.normalize_output = normalize_output
        g = torch.Generator().manual_seed(seed)
        for k, size in enumerate(self.input_sizes):
            self.register_buffer(f"hash_{k}", torch.randint(output_size, (size,), generator=g))
            self.register_buffer(f"sign_{k}", torch.randint(2, (size,), generator=g).float() * 2 - 1)

    def sketch(self, x: Tensor, k: int) -> Tensor:
        """Count sketch of input ``k``: ``[*lead, n_k]`` -> ``[*lead, d]``."""
        h, s = getattr(self, f"hash_{k}"), getattr(self, f"sign_{k}")
        out = x.new_zeros(*x.shape[:-1], self.output_size)
        return out.index_add_(-1, h, x * s)

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        """``m`` tensors ``[*lead, n_k]`` -> ``[*lead, d]``."""
        if len(xs) != len(self.input_sizes):
            raise ValueError(f"built for {len(self.input_sizes)} inputs, got {len(xs)}")
        product = None
        for k, x in enumerate(xs):
            spectrum = torch.fft.rfft(self.sketch(F.normalize(x, dim=-1), k), dim=-1)
            product = spectrum if product is None else product * spectrum
            if self.normalize_output:
                # Rescale after every factor so the running product can neither overflow nor
                # underflow as m grows; a common factor changes only the norm of the output,
                # which the L2 normalisation below removes anyway.
                product = product / product.abs().amax(-1, keepdim=True).clamp_min(1e-30)
        out = torch.fft.irfft(product, n=self.output_size, dim=-1)
        if self.normalize_output:
            out = torch.sign(out) * torch.sqrt(out.abs() + 1e-12)
            out = F.normalize(out, dim=-1)
        return out
