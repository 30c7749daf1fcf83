"""classification_metrics against scikit-learn's exact values, streaming, tasks and errors."""

import numpy as np
import pytest
import torch
from sklearn import metrics as sk
from sklearn.preprocessing import label_binarize
from torch.utils.data import DataLoader

from tujie.data.arrays import ArrayDataset
from tujie.errors import ConfigError, DataError
from tujie.evaluate import CalibrationBins, classification_metrics
from tujie.train.loop import Learner

# Curve areas come from a fixed grid of 1001 thresholds (bounded memory), so they match
# scikit-learn's exact areas only up to the grid; everything else matches to 1e-4.
BIN_TOL = 2e-3
TOL = 1e-4


def _logits(n=1000, k=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g) + 1.5 * torch.nn.functional.one_hot(y, k)  # better than chance
    return logits, y


def test_multiclass_matches_sklearn():
    logits, y = _logits()
    m = classification_metrics(torch.nn.Identity(), (logits, y), task="multiclass")
    probs, pred, yn = logits.softmax(-1).numpy(), logits.argmax(-1).numpy(), y.numpy()
    assert m["task"] == "multiclass" and m["num_samples"] == 1000 and m["num_classes"] == 7
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(yn, pred), abs=TOL)
    assert m["top5_accuracy"] == pytest.approx(sk.top_k_accuracy_score(yn, probs, k=5), abs=TOL)
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        for average in ("macro", "micro", "weighted"):
            assert m[name][average] == pytest.approx(fn(yn, pred, average=average, zero_division=0), abs=TOL), (name, average)
        np.testing.assert_allclose(m[name]["per_class"].numpy(), fn(yn, pred, average=None, zero_division=0), atol=TOL)
    np.testing.assert_array_equal(m["confusion_matrix"].numpy(), sk.confusion_matrix(yn, pred))
    np.testing.assert_array_equal(m["support"].numpy(), np.bincount(yn, minlength=7))
    assert m["auc"] == pytest.approx(sk.roc_auc_score(yn, probs, multi_class="ovr", average="macro"), abs=BIN_TOL)
    onehot = label_binarize(yn, classes=range(7))
    assert m["average_precision"] == pytest.approx(sk.average_precision_score(onehot, probs, average="macro"), abs=BIN_TOL)
    assert m["roc"]["fpr"].shape == (7, 1001) and m["pr_curve"]["precision"].shape[0] == 7


def test_binary_matches_sklearn():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (1000,), generator=g).float()
    logits = torch.randn(1000, 1, generator=g) + 1.2 * (2 * y[:, None] - 1)  # (N, 1)
    m = classification_metrics(torch.nn.Identity(), (logits, y), task="binary")
    p = logits.sigmoid().squeeze(1).numpy()
    yn, pred = y.long().numpy(), (p > 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(yn, pred), abs=TOL)
    assert m["f1"]["positive"] == pytest.approx(sk.f1_score(yn, pred), abs=TOL)
    assert m["precision"]["positive"] == pytest.approx(sk.precision_score(yn, pred), abs=TOL)
    assert m["recall"]["positive"] == pytest.approx(sk.recall_score(yn, pred), abs=TOL)
    for average in ("macro", "micro", "weighted"):
        assert m["f1"][average] == pytest.approx(sk.f1_score(yn, pred, average=average), abs=TOL)
    np.testing.assert_array_equal(m["confusion_matrix"].numpy(), sk.confusion_matrix(yn, pred))
    assert m["auc"] == pytest.approx(sk.roc_auc_score(yn, p), abs=BIN_TOL)
    assert m["average_precision"] == pytest.approx(sk.average_precision_score(yn, p), abs=BIN_TOL)
    assert "top5_accuracy" not in m
    # the binned ROC curve passes through the exact one: each grid point is an exact (fpr, tpr) at that threshold
    t = m["roc"]["thresholds"].numpy()
    i = 500
    assert m["roc"]["tpr"][i].item() == pytest.approx(((p >= t[i]) & (yn == 1)).sum() / (yn == 1).sum(), abs=TOL)


def test_calibration_matches_torchmetrics():
    from torchmetrics.classification import BinaryCalibrationError, MulticlassCalibrationError

    logits, y = _logits(seed=2)
    m = classification_metrics(torch.nn.Identity(), (logits, y), task="multiclass")
    reference = MulticlassCalibrationError(7, n_bins=15, norm="l1")(logits.softmax(-1), y).item()
    assert m["ece"] == pytest.approx(reference, abs=1e-5)
    rel = m["reliability"]
    assert rel["count"].sum().item() == 1000 and rel["bin_edges"].shape == (16,)
    g = torch.Generator().manual_seed(3)
    yb = torch.randint(0, 2, (500,), generator=g)
    logit = torch.randn(500, generator=g)
    mb = classification_metrics(torch.nn.Identity(), (logit, yb), task="binary")
    assert mb["ece"] == pytest.approx(BinaryCalibrationError(n_bins=15)(logit.sigmoid(), yb).item(), abs=1e-5)


def test_calibration_bins_perfectly_calibrated_is_zero():
    bins = CalibrationBins(n_bins=4)
    bins.update(torch.tensor([0.1, 0.1, 0.9, 0.9]), torch.tensor([0, 0, 1, 1]))
    assert bins.compute()["ece"] == pytest.approx(0.1)  # |0.1 - 0| and |0.9 - 1|
    assert torch.isnan(bins.compute()["confidence"][1])  # an empty bin has no mean


def _flatten(result):
    out = {}
    for key, value in result.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _flatten(value).items()})
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_streaming_one_batch_equals_ten(task):
    logits, y = _logits(k=7 if task == "multiclass" else 1, seed=4)
    if task == "binary":
        logits, y = logits[:, 0], (logits[:, 0] + torch.randn(1000) > 0).long()
    one = _flatten(classification_metrics(torch.nn.Identity(), (logits, y), task=task, batch_size=1000))
    ten = _flatten(classification_metrics(torch.nn.Identity(), (logits, y), task=task, batch_size=100))
    assert one.keys() == ten.keys()
    for key in one:
        if torch.is_tensor(one[key]):
            torch.testing.assert_close(one[key], ten[key], atol=1e-6, rtol=1e-6, equal_nan=True, msg=key)
        else:
            assert one[key] == pytest.approx(ten[key], abs=1e-6), key


def test_data_kinds_and_learner():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x, y = torch.randn(120, 4), torch.randint(0, 3, (120,))
    from_tuple = classification_metrics(model, (x, y), task="multiclass")
    from_dataset = classification_metrics(model, ArrayDataset(x, y), task="multiclass", batch_size=7)
    from_loader = classification_metrics(model, DataLoader(ArrayDataset(x, y), batch_size=16), task="multiclass")
    learner = Learner(model, loss="cross_entropy", device="cpu")
    from_learner = classification_metrics(learner, (x.numpy(), y.numpy()))
    for other in (from_dataset, from_loader, from_learner):
        assert other["accuracy"] == pytest.approx(from_tuple["accuracy"])
        assert torch.equal(other["confusion_matrix"], from_tuple["confusion_matrix"])
    assert model.training  # eval mode was restored
    # a learner with a BCE (probability) loss: its outputs are used as probabilities, not sigmoid-ed again
    prob_model = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Sigmoid())
    yb = (x[:, 0] > 0).float()
    from_probs = classification_metrics(Learner(prob_model, loss="bce", device="cpu"), (x, yb))
    from_logits = classification_metrics(prob_model[0], (x, yb), task="binary")
    assert from_probs["auc"] == pytest.approx(from_logits["auc"]) and from_probs["ece"] == pytest.approx(from_logits["ece"])


def test_errors():
    x, y = torch.randn(20, 3), torch.randint(0, 3, (20,))
    with pytest.raises(ConfigError, match="task"):  # plain module without task
        classification_metrics(torch.nn.Identity(), (x, y))
    with pytest.raises(ConfigError, match="regression_metrics"):
        classification_metrics(Learner(torch.nn.Linear(3, 1), loss="mse", device="cpu"), (x, y.float()))
    with pytest.raises(ConfigError, match="task"):
        classification_metrics(torch.nn.Identity(), (x, y), task="ranking")
    with pytest.raises(ConfigError, match="needs a model"):
        classification_metrics("model.pt", (x, y))
    with pytest.raises(ConfigError, match="curve_bins"):
        classification_metrics(torch.nn.Identity(), (x, y), task="multiclass", curve_bins=1)
    with pytest.raises(ConfigError, match="batch_size"):
        classification_metrics(torch.nn.Identity(), (x, y), task="multiclass", batch_size=0)
    with pytest.raises(DataError, match="one score per sample"):
        classification_metrics(torch.nn.Identity(), (x, y), task="binary")
    with pytest.raises(DataError, match="one logit per class"):
        classification_metrics(torch.nn.Identity(), (x[:, 0], y), task="multiclass")
    with pytest.raises(DataError, match="num_classes"):
        classification_metrics(torch.nn.Identity(), (x, y), task="multiclass", num_classes=5)
    with pytest.raises(DataError, match="class id"):
        classification_metrics(torch.nn.Identity(), (x, y + 5), task="multiclass")
    with pytest.raises(DataError, match="empty"):
        classification_metrics(torch.nn.Identity(), (x[:0], y[:0]), task="multiclass")
    with pytest.raises(DataError, match="no targets"):
        classification_metrics(torch.nn.Identity(), ArrayDataset(x), task="multiclass")
    with pytest.raises(DataError, match="Unsupported"):
        classification_metrics(torch.nn.Identity(), x, task="multiclass")
    with pytest.raises(DataError, match="no targets"):
        classification_metrics(torch.nn.Identity(), DataLoader(x, batch_size=4), task="multiclass")
