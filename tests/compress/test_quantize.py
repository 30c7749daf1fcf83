"""Int8 quantization: dynamic (Linear/LSTM), static with calibration (CNNs, FX graph mode), QAT, and the errors."""

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.compress.measure import accuracy, size_mb
from tujie.compress.quantize import quantization_aware_training, quantize_dynamic, quantize_static, torch_layers
from tujie.errors import ConfigError


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16  # (1797, 1, 8, 8)
    y = torch.tensor(data.target)
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def _agreement(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float((a(x).argmax(-1) == b(x).argmax(-1)).float().mean())


@pytest.fixture(scope="module")
def mlp(digits):
    tj.seed_everything(0)
    model = tj.models.create("mlp", hidden=(256, 128))  # tujie's lazy Dense layers
    tj.Learner(model, optimizer="adam", lr=3e-3).fit(digits[0], epochs=5, batch_size=64, verbose=0)
    return model.eval()


class SmallCNN(nn.Module):
    """conv-bn-relu ×2, pool, linear on 8×8 digits, with an input check FX cannot trace."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 10))

    def forward(self, x):
        if x.shape[1] != 1:  # control flow on a shape: the whole forward does not trace
            raise ValueError("one channel expected")
        return self.head(self.features(x))


@pytest.fixture(scope="module")
def cnn(digits):
    tj.seed_everything(0)
    model = SmallCNN()
    tj.Learner(model, optimizer="adam", lr=3e-3).fit(digits[0], epochs=3, batch_size=64, verbose=0)
    return model.eval()


def test_dynamic_int8_of_an_mlp_is_about_four_times_smaller_and_agrees(digits, mlp):
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    small = quantize_dynamic(mlp)
    ratio = size_mb(mlp) / size_mb(small)
    assert 3.5 < ratio < 4.2  # int8 weights, plus a scale and zero point per layer
    assert _agreement(mlp, small, digits[1][0]) >= 0.98
    assert all(torch.equal(before[k], v) for k, v in mlp.state_dict().items())  # the original untouched
    assert type(mlp[1]).__name__ == "Dense"


def test_dynamic_int8_of_an_lstm():
    lstm = nn.LSTM(8, 32, batch_first=True)
    small = quantize_dynamic(lstm)
    x = torch.randn(4, 5, 8)
    assert "quantized" in type(small).__module__
    assert torch.allclose(small(x)[0], lstm(x)[0], atol=0.05)


def test_torch_layers_compute_what_the_tujie_layers_compute():
    model = tj.models.create("small_cnn").eval()
    x = torch.randn(2, 1, 28, 28)
    model(x)
    plain = torch_layers(model)
    assert torch.allclose(plain(x), model(x), atol=1e-5)
    assert not any(type(m).__module__.startswith("tujie.layers") for m in plain.modules())


def test_static_int8_of_a_cnn_agrees_and_keeps_its_accuracy(digits, cnn):
    (x, _), test = digits
    batches = [x[i:i + 100] for i in range(0, 500, 100)]
    small = quantize_static(cnn, batches, example_input=x[:1])
    assert small.report["quantized"] == ["features", "head"]  # the untraceable top stays float, its blocks are int8
    assert "x.shape[1] != 1" in small.report["float"][0]["reason"]
    assert any("quantized" in type(m).__module__ for m in small.modules())
    assert _agreement(cnn, small, test[0]) >= 0.95
    assert accuracy(small, test) >= accuracy(cnn, test) - 0.02
    assert size_mb(small) < size_mb(cnn) / 2.5


def test_static_int8_strict_names_the_operation_that_stops_the_trace(digits, cnn):
    x = digits[0][0]
    with pytest.raises(ConfigError, match=r"x\.shape\[1\] != 1.*quantize_dynamic"):
        quantize_static(cnn, [x[:50]], example_input=x[:1], strict=True)


def test_a_traceable_model_is_quantized_whole():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    small = quantize_static(net, [torch.randn(32, 1, 8, 8)], example_input=torch.randn(1, 1, 8, 8), strict=True)
    assert small.report == {"quantized": ["(whole model)"], "float": []}


def test_quantization_aware_training_runs_and_converts(digits, cnn):
    train, test = digits
    small = quantization_aware_training(cnn, train, example_input=train[0][:1], epochs=2, lr=1e-4, batch_size=128,
                                        freeze_observers_after=1)
    assert len(small.history) == 2
    assert any("quantized" in type(m).__module__ for m in small.modules())
    assert not any("fake_quantize" in type(m).__module__ for m in small.modules())
    assert accuracy(small, test) >= accuracy(cnn, test) - 0.03
    assert not any("quantized" in type(m).__module__ for m in cnn.modules())  # the original untouched


@pytest.mark.parametrize("method", ["dynamic", "static", "qat"])
def test_a_model_with_nothing_to_quantize_is_refused(method):
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    x = torch.randn(4, 3)
    with pytest.raises(ConfigError, match="nothing"):
        if method == "dynamic":
            quantize_dynamic(model)
        elif method == "static":
            quantize_static(model, [x], example_input=x[:1])
        else:
            quantization_aware_training(model, (x, torch.zeros(4, dtype=torch.long)), example_input=x[:1], epochs=1)


def test_an_unknown_backend_is_refused():
    net = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ConfigError, match="backend"):
        quantize_static(net, [torch.randn(2, 3)], example_input=torch.randn(1, 3), backend="tpu")
