"""tune_threshold against a brute-force sweep and scikit-learn, the breast-cancer case, errors, the plot."""

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from tujie.errors import ConfigError, DataError
from tujie.evaluate import ThresholdResult, plot_threshold_tradeoff, tune_threshold


def _scores(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    s = (torch.randn(n, generator=g) + 1.0 * y).sigmoid()
    return y, s


def _brute(y, s, t):
    """(precision, recall, F1) at threshold t, counted directly."""
    pred, y = (s >= t).numpy(), np.asarray(y) == 1
    tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
    return tp / max(tp + fp, 1), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)


def test_f1_is_the_best_over_every_threshold():
    y, s = _scores()
    r = tune_threshold(y, s)
    best = max(_brute(y, s, t)[2] for t in s.unique().tolist())
    assert r.f1 == pytest.approx(best, abs=1e-4)
    assert r.f1 == pytest.approx(sk.f1_score(y, (s >= r.threshold).numpy().astype(int)), abs=1e-4)
    p, rec, f1 = _brute(y, s, r.threshold)
    assert (r.precision, r.recall, r.f1) == pytest.approx((p, rec, f1), abs=1e-4)
    np.testing.assert_array_equal(r.confusion_matrix.numpy(), sk.confusion_matrix(y, (s >= r.threshold).numpy().astype(int)))
    # the curve is scikit-learn's precision-recall curve
    precision, recall, thresholds = sk.precision_recall_curve(y.numpy(), s.numpy())
    order = np.argsort(thresholds)[::-1]
    np.testing.assert_allclose(r.thresholds.numpy(), thresholds[order], rtol=1e-6)
    np.testing.assert_allclose(r.precisions.numpy(), precision[:-1][order], atol=1e-6)
    np.testing.assert_allclose(r.recalls.numpy(), recall[:-1][order], atol=1e-6)


def test_recall_and_precision_criteria_pick_the_extreme_threshold():
    y, s = _scores(seed=1)
    r = tune_threshold(y, s, criterion="recall", target=0.9)
    assert r.recall >= 0.9 and isinstance(r, ThresholdResult)
    higher = s[s > r.threshold].unique()
    assert all(_brute(y, s, t)[1] < 0.9 for t in higher.tolist())  # no higher threshold reaches it
    q = tune_threshold(y, s, criterion="precision", target=0.75)
    assert q.precision >= 0.75
    lower = s[s < q.threshold].unique()
    assert all(_brute(y, s, t)[0] < 0.75 for t in lower.tolist())  # no lower threshold reaches it


def test_ties_numpy_lists_and_column_scores():
    r = tune_threshold([0, 1, 1, 0, 1], np.array([[0.5], [0.5], [0.9], [0.1], [0.5]]), criterion="recall", target=1.0)
    assert r.threshold == 0.5 and r.confusion_matrix.tolist() == [[1, 1], [0, 3]]


def test_breast_cancer_reaches_target_recall():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x = torch.tensor((data.data - data.data.mean(0)) / data.data.std(0), dtype=torch.float32)
    y = torch.tensor(data.target == 0, dtype=torch.float32)  # positive = malignant: the case not to miss
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(y), generator=g)
    train, test = order[:400], order[400:]
    torch.manual_seed(0)
    model = torch.nn.Linear(30, 1)  # logistic regression
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=100)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[train]).squeeze(1), y[train])
        loss = loss + 1e-3 * model.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        scores = model(x[test]).squeeze(1).sigmoid()
    default = _brute(y[test].long(), scores, 0.5)
    r = tune_threshold(y[test], scores, criterion="recall", target=0.98)
    assert r.recall >= 0.98
    assert default[1] < 0.98  # the default 0.5 threshold misses more of the malignant tumours than allowed
    assert r.threshold < 0.5  # reaching more of them needs a lower threshold
    assert r.precision > 0.85  # and the classifier is still usable
    assert sk.roc_auc_score(y[test].numpy(), scores.numpy()) > 0.97


def test_errors():
    y, s = _scores(n=20)
    with pytest.raises(ConfigError, match="needs a binary classifier"):
        tune_threshold(y, torch.rand(20, 3))
    with pytest.raises(ConfigError, match="needs a binary classifier"):
        tune_threshold(torch.arange(20) % 3, s)
    with pytest.raises(ConfigError, match="one score per sample"):
        tune_threshold(y, torch.rand(20, 1, 1))
    with pytest.raises(ConfigError, match="No threshold reaches precision"):
        tune_threshold([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8], criterion="precision", target=0.9)
    with pytest.raises(ConfigError, match="needs a target"):
        tune_threshold(y, s, criterion="recall")
    with pytest.raises(ConfigError, match="needs a target"):
        tune_threshold(y, s, criterion="recall", target=1.5)
    with pytest.raises(ConfigError, match="takes no target"):
        tune_threshold(y, s, target=0.9)
    with pytest.raises(ConfigError, match="criterion"):
        tune_threshold(y, s, criterion="accuracy")
    with pytest.raises(DataError, match="different numbers"):
        tune_threshold(y[:5], s)
    with pytest.raises(DataError, match="no positive"):
        tune_threshold(torch.zeros(20), s)
    with pytest.raises(DataError, match="No samples"):
        tune_threshold([], [])
    with pytest.raises(DataError, match="NaN"):
        tune_threshold(y, torch.full((20,), float("nan")))
    try:  # the house template: what, expected, received, fix
        tune_threshold(y, torch.rand(20, 3))
    except ConfigError as error:
        assert error.expected and error.received and error.fix


def test_plot_is_a_png():
    y, s = _scores()
    png = plot_threshold_tradeoff(tune_threshold(y, s, criterion="recall", target=0.95))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
