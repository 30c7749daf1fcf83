"""regression_metrics against scikit-learn, streaming, the pairs sample and errors."""

import pytest
import torch
from sklearn import metrics as sk
from torch.utils.data import DataLoader

from tujie.data.arrays import ArrayDataset
from tujie.errors import ConfigError, DataError
from tujie.evaluate import PairReservoir, regression_metrics
from tujie.train.loop import Learner


def _data(n=1000, outputs=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.randn(4, outputs, generator=g) + 0.3 * torch.randn(n, outputs, generator=g)  # (n, outputs)
    return x, (y.squeeze(1) if outputs == 1 else y)


@pytest.mark.parametrize("outputs", [1, 3])
def test_matches_sklearn(outputs):
    torch.manual_seed(0)
    x, y = _data(outputs=outputs)
    model = torch.nn.Linear(4, outputs)
    m = regression_metrics(model, (x, y), batch_size=128)
    pred = model(x).detach().reshape(y.shape).numpy()
    assert m["task"] == "regression" and m["num_samples"] == 1000
    assert m["mse"] == pytest.approx(sk.mean_squared_error(y.numpy(), pred), rel=1e-4)
    assert m["rmse"] == pytest.approx(sk.mean_squared_error(y.numpy(), pred) ** 0.5, rel=1e-4)
    assert m["mae"] == pytest.approx(sk.mean_absolute_error(y.numpy(), pred), rel=1e-4)
    assert m["r2"] == pytest.approx(sk.r2_score(y.numpy(), pred), abs=1e-4)


def test_streaming_and_pairs():
    torch.manual_seed(0)
    x, y = _data(n=5000)
    model = torch.nn.Linear(4, 1)
    one = regression_metrics(model, (x, y), batch_size=5000)
    fifty = regression_metrics(model, DataLoader(ArrayDataset(x, y), batch_size=100))
    for key in ("mse", "rmse", "mae", "r2"):
        assert one[key] == pytest.approx(fifty[key], rel=1e-5), key
    assert one["pairs"].shape == (2000, 2)  # bounded, whatever the dataset size
    assert torch.equal(one["pairs"], fifty["pairs"])  # the same sample whatever the batching
    pred = model(x).detach().squeeze(1)
    rows = {(round(t, 5), round(p, 5)) for t, p in zip(y.tolist(), pred.tolist())}
    assert all((round(t, 5), round(p, 5)) in rows for t, p in one["pairs"].tolist()[:50])  # real (true, predicted) pairs
    small = regression_metrics(model, (x[:30], y[:30]))
    torch.testing.assert_close(small["pairs"], torch.stack([y[:30], pred[:30]], 1))  # all pairs, in order


def test_reservoir_is_roughly_uniform():
    r = PairReservoir(size=1000)
    r.update(torch.arange(100_000.0), torch.zeros(100_000))
    kept = r.pairs()[:, 0]
    assert 40_000 < kept.mean().item() < 60_000
    assert (kept.diff() > 0).all()  # stream order


def test_learner_and_errors():
    x, y = _data(n=64)
    learner = Learner(torch.nn.Linear(4, 1), loss="mse", device="cpu")
    assert regression_metrics(learner, (x, y))["num_samples"] == 64
    with pytest.raises(ConfigError, match="classification_metrics"):
        regression_metrics(Learner(torch.nn.Linear(4, 3), loss="cross_entropy", device="cpu"), (x, y.long()))
    with pytest.raises(ConfigError, match="max_pairs"):
        regression_metrics(torch.nn.Linear(4, 1), (x, y), max_pairs=-1)
    with pytest.raises(DataError, match="differ in size"):
        regression_metrics(torch.nn.Linear(4, 2), (x, y))
    with pytest.raises(DataError, match="empty"):
        regression_metrics(torch.nn.Linear(4, 1), (x[:0], y[:0]))
