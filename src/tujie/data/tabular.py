"""Small datasets bundled with scikit-learn: no download, ready in a second, ideal for first runs.

`digits` is returned as 8x8 images so it can be shown like MNIST; the others are feature
tables (N, F). None of them has a published test set, so `load` holds out `test_split`
(default 0.2, stratified by class, seeded) and standardises the features with the training
split's mean and std (for normalize="unit" as well as "standard": unscaled features such as
wine's proline, in the hundreds, next to hue, around 1, would otherwise swamp a model).

scikit-learn is imported inside each loader, so `import tujie` does not pay for it.

Example:
    >>> b = load("breast_cancer")
    >>> b.train.x.shape, b.test.x.shape, b.classes
    (torch.Size([455, 30]), torch.Size([114, 30]), ['benign', 'malignant'])
"""

from __future__ import annotations

import torch

from ..i18n import N_, _
from ._registry import RawData, load, register  # noqa: F401  (load: for the examples)
from .arrays import ArrayDataset


def _table(bunch, title: str, classes: bool = True) -> RawData:
    """A scikit-learn Bunch as RawData: features (N, F) float32, labels (N,) int64 or targets (N, 1) float32.

    `title` is the dataset's English name, marked `N_(...)` by the caller and translated here.
    """
    x = torch.tensor(bunch.data, dtype=torch.float32)  # (N, F)
    names = [str(c) for c in bunch.target_names] if classes else None
    y = torch.tensor(bunch.target, dtype=torch.int64) if classes else \
        torch.tensor(bunch.target, dtype=torch.float32).unsqueeze(1)  # (N, 1): the shape a regression head outputs
    facts = {"title": _(title), "n": f"{len(x):,}", "features": x.shape[1]}
    if classes:
        note = _("{title}: {n} samples of {features} features, {classes} classes (bundled with scikit-learn).").format(
            **facts, classes=len(names))
    else:
        note = _("{title}: {n} samples of {features} features, a continuous target (bundled with scikit-learn).").format(**facts)
    notes = [note]
    return RawData(ArrayDataset(x, y, names), classes=names, notes=notes)


@register("digits")
def digits(data_dir=None) -> RawData:
    """UCI handwritten digits: 1,797 grey 8x8 images (values 0..16), classes "0".."9".

    Args:
        data_dir: ignored (the data ships with scikit-learn).

    Example:
        >>> load("digits").train.x.shape  # 20% held out as the test set
        torch.Size([1437, 1, 8, 8])
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8), values 0..16
    classes = [str(d) for d in range(10)]
    notes = [_("Digits: {n} images of 8x8 pixels with 17 grey levels (bundled with scikit-learn).").format(n=f"{len(x):,}")]
    return RawData(ArrayDataset(x, torch.tensor(bunch.target, dtype=torch.int64), classes), classes=classes,
                   pixel_max=16.0, notes=notes)


@register("iris")
def iris(data_dir=None) -> RawData:
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species.

    Example:
        >>> load("iris").classes
        ['setosa', 'versicolor', 'virginica']
    """
    from sklearn.datasets import load_iris

    return _table(load_iris(), N_("Iris"))


@register("wine")
def wine(data_dir=None) -> RawData:
    """UCI wine recognition: 178 wines, 13 chemical measurements, 3 cultivars.

    Example:
        >>> load("wine").input_shape
        (13,)
    """
    from sklearn.datasets import load_wine

    return _table(load_wine(), N_("Wine"))


@register("breast_cancer", aliases=("breast-cancer",))
def breast_cancer(data_dir=None) -> RawData:
    """Wisconsin diagnostic breast cancer: 569 tumours, 30 cell-nucleus features, benign (0) or malignant (1).

    The positive class (1) is *malignant*, the finding a diagnosis must not miss, so that recall,
    precision and ROC curves speak of detecting cancer. (scikit-learn's own encoding is the reverse:
    0 = malignant; the labels are flipped here.)

    Example:
        >>> b = load("breast-cancer")
        >>> b.num_classes, b.classes
        (2, ['benign', 'malignant'])
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    bunch.target = 1 - bunch.target  # 1 = malignant: the positive class is the disease
    bunch.target_names = bunch.target_names[::-1]
    raw = _table(bunch, N_("Breast cancer"))
    raw.notes.append(_("Breast cancer: label 1 (the positive class) is malignant, 0 benign."))
    return raw


@register("diabetes")
def diabetes(data_dir=None) -> RawData:
    """Diabetes progression (regression): 442 patients, 10 baseline features, target = disease progression after a year.

    The features are read unscaled (age in years, ...) and standardised by `load` like the
    other tables; the target (25..346) is left as is.

    Example:
        >>> b = load("diabetes")
        >>> b.task, b.num_classes, b.train.y.shape
        ('regression', None, torch.Size([353, 1]))
    """
    from sklearn.datasets import load_diabetes

    return _table(load_diabetes(scaled=False), N_("Diabetes"), classes=False)
