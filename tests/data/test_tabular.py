"""scikit-learn's bundled datasets: shapes, tasks, stratified seeded test split, scaling."""

import math

import pytest
import torch

from tujie.data import load

CASES = [  # name, samples, input_shape, num_classes
    ("digits", 1797, (1, 8, 8), 10),
    ("iris", 150, (4,), 3),
    ("wine", 178, (13,), 3),
    ("breast_cancer", 569, (30,), 2),
    ("diabetes", 442, (10,), None),
]


@pytest.mark.parametrize("name, samples, input_shape, num_classes", CASES)
def test_shapes_tasks_and_default_test_split(name, samples, input_shape, num_classes):
    bundle = load(name)
    assert len(bundle.train) + len(bundle.test) == samples
    assert len(bundle.test) == math.ceil(0.2 * samples)
    assert bundle.input_shape == input_shape and tuple(bundle.train.x.shape[1:]) == input_shape
    assert bundle.train.x.dtype == torch.float32 and bundle.num_classes == num_classes
    if num_classes is None:
        assert bundle.task == "regression" and bundle.classes is None
        assert bundle.train.y.dtype == torch.float32 and bundle.train.y.shape == (len(bundle.train), 1)
    else:
        assert bundle.task == "classification" and len(bundle.classes) == num_classes
        assert bundle.train.y.dtype == torch.int64 and bundle.train.y.shape == (len(bundle.train),)


def test_test_split_is_stratified_and_seeded():
    bundle = load("iris")
    assert torch.bincount(bundle.test.y).tolist() == [10, 10, 10]
    assert torch.equal(load("iris").test.x, bundle.test.x)
    assert not torch.equal(load("iris", seed=1).test.x, bundle.test.x)
    assert len(load("iris", test_split=0.5).test) == 75


@pytest.mark.parametrize("normalize", ["unit", "standard"])
def test_feature_tables_are_standardised_with_train_statistics(normalize):
    bundle = load("wine", normalize=normalize)
    assert torch.allclose(bundle.train.x.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(bundle.train.x.std(0, correction=0), torch.ones(13), atol=1e-4)
    assert len(bundle.mean) == 13 and bundle.mean[12] > 100  # proline, in raw units


def test_raw_features_and_denormalize_back_to_raw_units():
    raw = load("wine", normalize=None)
    standard = load("wine")
    assert raw.mean is None and raw.train.x[:, 12].max() > 1000
    assert torch.allclose(standard.denormalize(standard.train.x), raw.train.x, rtol=1e-4, atol=1e-3)


def test_digits_are_images_scaled_from_16_grey_levels():
    unit = load("digits")
    assert unit.train.x.min() == 0 and unit.train.x.max() == 1 and unit.mean is None
    raw = load("digits", normalize=None)
    assert raw.train.x.max() == 16 and torch.allclose(raw.denormalize(raw.train.x), unit.train.x)
    standard = load("digits", normalize="standard")
    assert len(standard.mean) == 1 and abs(standard.train.x.mean().item()) < 1e-4  # statistics of the train split
    assert torch.allclose(standard.denormalize(standard.test.x), unit.test.x, atol=1e-5)


def test_breast_cancer_alias_and_diabetes_target():
    bundle = load("breast-cancer")
    assert bundle.classes == ["benign", "malignant"]
    from sklearn.datasets import load_breast_cancer

    # 1 = malignant (212 of the 569 tumours): the positive class is the disease
    total = sum(int(part.y.sum()) for part in (bundle.train, bundle.val, bundle.test) if part is not None)
    assert total == int((load_breast_cancer().target == 0).sum()) == 212
    diabetes = load("diabetes")
    assert diabetes.train.y.min() >= 25 and diabetes.train.y.max() <= 346  # the target is left unscaled
