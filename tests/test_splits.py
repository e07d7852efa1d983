import pytest
import torch

from embracenet.data.images import split_columns, stratified_indices
from embracenet.data.splits import TensorSplit, WindowedSplit, window_starts


def test_window_starts_fractional_step_and_boundaries():
    starts = window_starts([40, 20], window=15, step=7.5)
    # recording 0: floor(j * 7.5) for j = 0..3 ; recording 1 starts at 40: one window
    assert starts.tolist() == [0, 7, 15, 22, 40]
    assert window_starts([10], 15, 1).numel() == 0
    with pytest.raises(ValueError):
        window_starts([10], 0, 1)


def test_windowed_split_cuts_windows_and_availability():
    t, c = 30, 5
    stream = torch.arange(t * c, dtype=torch.float32).reshape(t, c)
    available = torch.ones(t, 2, dtype=torch.bool)
    available[12, 1] = False
    split = WindowedSplit(stream, available, torch.arange(t), window_starts([t], 4, 2), 4, [[0, 1], [2, 3, 4]])
    assert split.modality_shapes == [(4, 2), (4, 3)]
    batch = split.batch(torch.tensor([0, 5]))
    assert torch.equal(batch.xs[1][1], stream[10:14, 2:5])
    assert batch.y.tolist() == [3, 13]  # label of the last step
    assert batch.available.tolist() == [[True, True], [True, False]]


def test_tensor_split_checks_lengths_and_means():
    with pytest.raises(ValueError, match="modality 1 has 3 samples"):
        TensorSplit([torch.zeros(4, 2), torch.zeros(3, 2)], torch.zeros(4, dtype=torch.long))
    split = TensorSplit([torch.tensor([[1.0], [3.0], [100.0]])], torch.zeros(3, dtype=torch.long), torch.tensor([[True], [True], [False]]))
    assert split.modality_means()[0].item() == pytest.approx(2.0)  # unavailable rows do not count


def test_batches_cover_everything_once_in_a_seeded_order():
    split = TensorSplit([torch.arange(10.0).unsqueeze(1)], torch.arange(10))
    seen = torch.cat([b.y for b in split.batches(3, shuffle=True, generator=torch.Generator().manual_seed(0))])
    again = torch.cat([b.y for b in split.batches(3, shuffle=True, generator=torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10)) and torch.equal(seen, again)


def test_image_halves_and_stratified_split():
    images = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(2, 4, 6)
    left, right = split_columns(images)
    assert left.shape == (2, 1, 4, 3) and torch.equal(right[0, 0], images[0, :, 3:])
    labels = torch.tensor([0] * 10 + [1] * 20)
    a, b = stratified_indices(labels, (0.8, 0.2), seed=0)
    assert len(set(a.tolist()) & set(b.tolist())) == 0 and len(a) + len(b) == 30
    assert (labels[b] == 0).sum() == 2 and (labels[b] == 1).sum() == 4
