"""Regression metrics over a whole dataset, streamed batch by batch: MSE, RMSE, MAE, R².

Besides the numbers it keeps a bounded, uniformly drawn sample of (true, predicted)
pairs for a scatter plot of predictions against targets: a reservoir of at most
`max_pairs` samples, so memory stays fixed however large the dataset.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, DataError
from ._common import model_outputs, resolve_model, to_python

MAX_PAIRS = 2000


def regression_metrics(model_or_learner, data, *, batch_size: int = 1024, max_pairs: int = MAX_PAIRS,
                       seed: int = 0) -> dict:
    """MSE, RMSE, MAE and R² of a regression model on a dataset, plus a sample of (true, predicted) pairs.

    Args:
        model_or_learner: a `tujie.Learner` (its device is used) or an `nn.Module`.
        data: an `(x, y)` tuple, an `ArrayDataset` with targets, or a DataLoader of `(x, y)` batches.
        batch_size: samples per forward pass (tuples and ArrayDatasets; a DataLoader keeps its own).
        max_pairs: size of the scatter-plot sample.
        seed: seed of the sample's random draw (the same data give the same pairs).

    Returns:
        {"task": "regression", "num_samples", "mse", "rmse", "mae", "r2", "pairs"}, `pairs` a
        (min(N, max_pairs), 2) CPU tensor of (true, predicted) rows in data order. With several
        outputs per sample, R² is the uniform average over outputs (scikit-learn's default) and the
        pairs hold one row per output value.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> x = torch.randn(50, 3)
        >>> m = regression_metrics(model, (x, model(x).detach().squeeze(1)))
        >>> round(m["mse"], 6), round(m["r2"], 6), m["pairs"].shape
        (0.0, 1.0, torch.Size([50, 2]))
    """
    model, device, task, _ = resolve_model(model_or_learner, None, function="regression_metrics")
    if task in ("binary", "multiclass"):
        raise ConfigError(f"Regression metrics (MSE, MAE, R²) were asked of a {task} classifier.",
                          expected="a regression model (trained with mse, mae or huber loss)",
                          received=f"a model whose task is {task}",
                          fix="Call tujie.evaluate.classification_metrics(model, data) for accuracy, ROC/AUC and F1.")
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 0:
        raise ConfigError("Invalid value received for `max_pairs`.", expected="an integer >= 0",
                          received=f"max_pairs={max_pairs!r}", fix="Pass max_pairs=2000, for example.")
    from torchmetrics import MetricCollection
    from torchmetrics import regression as R  # lazy: keeps `import tujie.evaluate` cheap

    metrics, reservoir, seen = None, PairReservoir(max_pairs, seed), 0
    for output, y in model_outputs(model, device, data, batch_size):
        output = output.float()
        if output.ndim == 2 and output.shape[1] == 1:
            output = output.squeeze(1)  # (N,)
        if y.numel() != output.numel():
            raise DataError("The model's outputs and the targets differ in size.", expected="one prediction per target value",
                            received=f"output of shape {tuple(output.shape)}, targets of shape {tuple(y.shape)}",
                            fix="Give the model one output per target column.")
        y = y.reshape(output.shape).float()  # (N,) or (N, outputs)
        if metrics is None:  # MSE and MAE average over every value; R² per output, then uniformly
            local = {"sync_on_compute": False}  # under torchrun only rank 0 tests: nothing to gather
            metrics = MetricCollection({"mse": R.MeanSquaredError(**local), "mae": R.MeanAbsoluteError(**local),
                                        "r2": R.R2Score(multioutput="uniform_average", **local)}).to(device)
        metrics.update(output, y)
        reservoir.update(y.reshape(-1), output.reshape(-1))
        seen += len(y)
    if metrics is None or seen == 0:
        raise DataError("The evaluation data are empty.", expected="at least one sample",
                        received="0 samples", fix="Pass the test set, e.g. (x_test, y_test).")
    values = {k: float(v) for k, v in metrics.compute().items()}
    return to_python({"task": "regression", "num_samples": seen, "mse": values["mse"], "rmse": values["mse"] ** 0.5,
                      "mae": values["mae"], "r2": values["r2"], "pairs": reservoir.pairs()})


class PairReservoir:
    """A uniform random sample of at most `size` (true, predicted) pairs from a stream.

    Each value gets a random key from a seeded generator; the `size` smallest keys are kept
    (reservoir sampling by random keys), so the sample does not depend on the batch size.

    Example:
        >>> r = PairReservoir(size=3)
        >>> r.update(torch.arange(10.0), torch.arange(10.0) * 2)
        >>> r.pairs().shape
        torch.Size([3, 2])
    """

    def __init__(self, size: int = MAX_PAIRS, seed: int = 0):
        self.size, self.seed, self.seen = size, seed, 0
        self.keys = torch.empty(0, dtype=torch.float64)
        self.index = torch.empty(0, dtype=torch.long)
        self.values = torch.empty(0, 2)

    def _keys(self, start: int, n: int) -> torch.Tensor:
        # one key per position, hashed from (seed, position): independent of how the stream is batched
        position = torch.arange(start, start + n, dtype=torch.int64)
        mask = (1 << 61) - 1  # keep every intermediate non-negative and inside int64
        h = (position * 0x5851F42D + self.seed * 0x14057B7E + 0x9E3779B9) & mask
        for _ in range(3):  # xor-shift-multiply rounds of a simple integer hash
            h = ((h ^ (h >> 17)) * 0x2545F491) & mask
        return (h & ((1 << 52) - 1)).double() / float(1 << 52)

    def update(self, true: torch.Tensor, predicted: torch.Tensor) -> None:
        n = true.numel()
        keys = self._keys(self.seen, n)  # (n,)
        index = torch.arange(self.seen, self.seen + n)
        values = torch.stack([true.detach().reshape(-1).float().cpu(), predicted.detach().reshape(-1).float().cpu()], 1)
        self.seen += n
        keys, index, values = torch.cat([self.keys, keys]), torch.cat([self.index, index]), torch.cat([self.values, values])
        if len(keys) > self.size:
            keep = keys.topk(self.size, largest=False).indices
            keys, index, values = keys[keep], index[keep], values[keep]
        self.keys, self.index, self.values = keys, index, values

    def pairs(self) -> torch.Tensor:
        """The kept (true, predicted) rows, shape (min(seen, size), 2), in stream order."""
        return self.values[self.index.argsort()]
