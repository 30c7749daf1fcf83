"""The four numbers: parameters (all and nonzero, int8 too), size, latency, accuracy."""

import pytest
import torch
from torch import nn

from tujie.compress import measure
from tujie.data.arrays import ArrayDataset


def test_nonzero_parameters_follow_pruning_with_masks_and_after_remove():
    from torch.nn.utils import prune

    layer = nn.Linear(10, 10)
    assert measure.parameter_count(layer) == 110 == measure.parameter_count(layer, nonzero=True)
    prune.l1_unstructured(layer, "weight", amount=60)       # mask attached: weight_orig is still dense
    assert measure.parameter_count(layer) == 110 and measure.parameter_count(layer, nonzero=True) == 50
    prune.remove(layer, "weight")
    assert measure.parameter_count(layer, nonzero=True) == 50


def test_a_dynamically_quantized_model_counts_its_int8_weights_and_is_about_4x_smaller():
    from torch.ao.quantization import quantize_dynamic

    model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    small = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    assert measure.parameter_count(small) == measure.parameter_count(model)
    assert 3.5 < measure.size_mb(model) / measure.size_mb(small) < 4.1


def test_size_is_four_bytes_a_float_parameter():
    assert measure.size_mb(nn.Linear(1000, 1000)) == pytest.approx(1000 * 1001 * 4 / 1e6, rel=0.01)


def test_latency_has_one_median_per_batch_size_and_leaves_the_threads_alone():
    threads = torch.get_num_threads()
    model = nn.Linear(8, 2).train()
    times = measure.latency_ms(model, torch.randn(3, 8), batch_sizes=(1, 5), repeats=3, warmup=1)
    assert sorted(times) == [1, 5] and all(t > 0 for t in times.values())
    assert torch.get_num_threads() == threads and not model.training


def test_accuracy_of_tensors_and_of_an_array_dataset():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 1, 1, 1])
    assert measure.accuracy(model, (x, y)) == 0.75
    assert measure.accuracy(model, ArrayDataset(x, y), batch_size=3) == 0.75
