"""cross_validate: folds as scikit-learn makes them, statistics as numpy computes them, parallel = serial, clear errors."""

import doctest
import functools

import numpy as np
import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, DataError
from tujie.train import cross_validation
from tujie.train.cross_validation import CVResult, cross_validate


def blobs(n=120, classes=3, seed=0):
    """Gaussian blobs, the same number of samples per class (n // classes)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[:classes]
    return centers[y] + torch.randn(n, 2, generator=g) * 0.7, y


def build(classes=3, lr=0.05):
    """Module level (with functools.partial): picklable for worker processes."""
    return tj.Learner(torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, classes)),
                      optimizer="adam", lr=lr)


class RecordingLearner:
    """Wraps a Learner and remembers the targets it was fitted and evaluated on."""

    seen = []

    def __init__(self):
        self.learner = build()
        self.generator = self.learner.generator

    def fit(self, data, **kwargs):
        RecordingLearner.seen.append(("fit", data[1].clone()))
        return self.learner.fit(data, **kwargs)

    def evaluate(self, data, **kwargs):
        RecordingLearner.seen.append(("evaluate", data[1].clone()))
        return self.learner.evaluate(data, **kwargs)


def test_fold_sizes_and_stratification():
    x, y = blobs(n=90)  # 30 per class
    RecordingLearner.seen = []
    result = cross_validate(RecordingLearner, (x, y), k=3, epochs=1)
    assert result.fold_sizes == [(60, 30)] * 3
    held_out = [targets for kind, targets in RecordingLearner.seen if kind == "evaluate"]
    assert len(held_out) == 3
    for targets in held_out:  # stratified: every held-out fold keeps the 1:1:1 class balance
        assert torch.bincount(targets, minlength=3).tolist() == [10, 10, 10]
    trained = [targets for kind, targets in RecordingLearner.seen if kind == "fit"]
    assert all(torch.bincount(t, minlength=3).tolist() == [20, 20, 20] for t in trained)


def test_unstratified_folds_partition_the_data():
    x, y = blobs(n=50)
    x = torch.arange(50, dtype=torch.float32)[:, None].repeat(1, 2)  # features name their own row
    seen_rows = []

    class Recorder(RecordingLearner):
        def evaluate(self, data, **kwargs):
            seen_rows.append(data[0][:, 0].long())
            return self.learner.evaluate(data, **kwargs)

    result = cross_validate(Recorder, (x, y), k=4, stratified=False, epochs=1)
    assert [te for _, te in result.fold_sizes] == [13, 13, 12, 12]
    assert sorted(torch.cat(seen_rows).tolist()) == list(range(50))  # each row held out exactly once


def test_learns_and_mean_std_equal_numpy():
    x, y = blobs()
    result = cross_validate(build, tj.ArrayDataset(x, y), k=4, epochs=8, metrics=["accuracy", "f1"])
    assert len(result.folds) == 4 and set(result.mean) == {"loss", "accuracy", "f1"}
    for name in result.mean:
        values = np.array([fold[name] for fold in result.folds])
        assert result.mean[name] == pytest.approx(values.mean())
        assert result.std[name] == pytest.approx(values.std())
    assert result.mean["accuracy"] > 0.9
    lines = result.table().splitlines()
    assert lines[0].split() == ["metric", "fold", "1", "fold", "2", "fold", "3", "fold", "4", "mean", "std"]
    assert len(lines) == 4 and f"{result.mean['accuracy']:.4f}" in lines[2]
    as_dict = result.to_dict()
    assert as_dict["mean"] == result.mean and len(as_dict["folds"]) == 4
    png = result.plot()
    assert png[:4] == b"\x89PNG" and len(png) > 1000


def test_seeded_runs_are_reproducible_and_leave_global_rng_alone():
    x, y = blobs()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = cross_validate(build, (x, y), k=3, epochs=2, seed=7)
    after = torch.rand(1)
    assert torch.equal(before, after)
    second = cross_validate(build, (x, y), k=3, epochs=2, seed=7)
    assert first.folds == second.folds
    other = cross_validate(build, (x, y), k=3, epochs=2, seed=8)
    assert other.folds != first.folds


def test_two_processes_match_one():
    x, y = blobs(n=60)
    builder = functools.partial(build, classes=3, lr=0.05)
    serial = cross_validate(builder, (x, y), k=3, epochs=2, seed=3, processes=1)
    parallel = cross_validate(builder, (x, y), k=3, epochs=2, seed=3, processes=2)
    assert len(parallel.folds) == 3
    for a, b in zip(serial.folds, parallel.folds):
        assert a == pytest.approx(b, abs=1e-6)


@pytest.mark.parametrize("k", [1, 0, 2.5])
def test_k_below_two_is_a_config_error(k):
    with pytest.raises(ConfigError, match="`k`"):
        cross_validate(build, blobs(), k=k)


def test_k_larger_than_smallest_class_names_the_class():
    x, y = blobs(n=60)
    y[:57] = torch.where(y[:57] == 2, torch.tensor(0), y[:57])  # class 2 keeps only its last samples
    count = int((y == 2).sum())
    with pytest.raises(DataError, match=f"Class 2 has {count} samples") as info:
        cross_validate(build, (x, y), k=count + 1)
    assert f"k={count}" in str(info.value)
    result = cross_validate(build, (x, y), k=count + 1, stratified=False, epochs=1)  # fine unstratified
    assert len(result.folds) == count + 1


def test_data_without_labels_is_a_data_error():
    x, _ = blobs()
    with pytest.raises(DataError, match="no targets"):
        cross_validate(build, x)
    with pytest.raises(DataError, match="no targets"):
        cross_validate(build, tj.ArrayDataset(x))
    with pytest.raises(DataError, match="class labels"):
        cross_validate(build, (x, torch.randn(len(x))))


def test_cvresult_from_hand_made_folds():
    r = CVResult([{"accuracy": 0.5, "loss": 1.0}, {"accuracy": 1.0, "loss": 0.0}, {"accuracy": 0.75, "loss": 0.5}])
    assert r.mean == pytest.approx({"accuracy": 0.75, "loss": 0.5})
    assert r.std["accuracy"] == pytest.approx(np.std([0.5, 1.0, 0.75]))
    with pytest.raises(ConfigError, match="Unknown metric"):
        r.values("f1")


def test_docstring_examples():
    result = doctest.testmod(cross_validation, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_a_build_learner_that_cannot_reach_the_workers_is_refused_before_they_start():
    import torch

    import tujie as tj
    from tujie.errors import ConfigError

    x, y = torch.randn(40, 4), torch.randint(0, 2, (40,))
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        tj.cross_validate(lambda: tj.Learner(torch.nn.Linear(4, 2), optimizer="adam"), (x, y), k=2, processes=2)
