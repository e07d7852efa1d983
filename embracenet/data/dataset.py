"""A multimodal dataset: its three splits and what describes them."""

from __future__ import annotations

from dataclasses import dataclass

from .splits import MultimodalSplit


@dataclass
class MultimodalDataset:
    """Train / validation / test splits with the names of modalities and classes."""

    name: str
    train: MultimodalSplit
    val: MultimodalSplit
    test: MultimodalSplit
    modality_names: list[str]
    class_names: list[str]
    value_range: tuple[float, float] = (0.0, 1.0)

    @property
    def n_modalities(self) -> int:
        return len(self.modality_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def modality_shapes(self) -> list[tuple[int, ...]]:
        return self.train.modality_shapes

    def split(self, name: str) -> MultimodalSplit:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)
