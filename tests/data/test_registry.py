"""load(): names, argument checks, the test/validation splits, limit and normalisation, on a toy dataset."""

import pytest
import torch

import tujie.data
from tujie.data import ArrayDataset, RawData, _registry, load
from tujie.errors import ConfigError

CLASSES = ["zero", "one"]


@pytest.fixture
def toy(monkeypatch):
    """A registered 'toy' image dataset: 100 train / 20 test uint8 images (1, 2, 2); sample i is filled with i."""
    def image_set(start, n):
        values = torch.arange(start, start + n, dtype=torch.uint8)
        return ArrayDataset(values.view(n, 1, 1, 1).expand(n, 1, 2, 2).clone(), (values % 2).long(), CLASSES)

    def toy_loader(data_dir=None):
        return RawData(image_set(0, 100), image_set(100, 20), CLASSES, pixel_max=255.0,
                       mean=(0.5,), std=(0.25,), notes=["Toy images."])

    monkeypatch.setitem(_registry._loaders, "toy", toy_loader)
    return "toy"


@pytest.fixture
def toy_table(monkeypatch):
    """A registered 'toy-table' regression dataset without a test set: 50 rows of 3 features."""
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 10.0, 100.0]) + 5
    x[:, 0] = 7.0  # a constant feature
    raw = RawData(ArrayDataset(x.clone(), x.sum(1, keepdim=True)))
    monkeypatch.setitem(_registry._loaders, "toy-table", lambda data_dir=None: raw)
    return raw, x


def sample_ids(ds):
    """Which toy samples a split holds (load with normalize=None: sample i is filled with i)."""
    return ds.x[:, 0, 0, 0].long().tolist()


def test_list_names_every_dataset():
    names = tujie.data.list()
    assert names == sorted(names)
    assert {"mnist", "fashion-mnist", "cifar10", "digits", "iris", "wine", "breast_cancer", "diabetes"} <= set(names)


def test_unknown_name_lists_datasets_and_suggests_the_closest():
    with pytest.raises(ConfigError) as info:
        load("mnsit")
    message = str(info.value)
    assert "Did you mean 'mnist'" in message
    assert "fashion-mnist" in message and "cifar10" in message and "Received: name='mnsit'" in message


@pytest.mark.parametrize("argument, value", [
    ("validation_split", 1.0), ("validation_split", -0.1), ("validation_split", "0.1"),
    ("test_split", 0.0), ("test_split", 1.5), ("seed", 1.5), ("seed", None),
    ("normalize", "zscore"), ("limit", 0), ("limit", 2.5), ("limit", True)])
def test_invalid_arguments_use_the_house_template(toy, argument, value):
    with pytest.raises(ConfigError) as info:
        load(toy, **{argument: value})
    message = str(info.value)
    assert f"Invalid value received for `{argument}`" in message
    assert f"Received: {argument}={value!r}" in message and "Expected:" in message and "Fix:" in message


def test_test_split_is_refused_for_a_dataset_with_its_own_test_set(toy):
    with pytest.raises(ConfigError, match="has its own test set"):
        load(toy, test_split=0.2)


def test_validation_split_sizes_disjoint_and_seeded(toy):
    bundle = load(toy, validation_split=0.2, normalize=None)
    train, val = sample_ids(bundle.train), sample_ids(bundle.val)
    assert (len(train), len(val), len(bundle.test)) == (80, 20, 20)
    assert sorted(train + val) == list(range(100))
    assert train == sorted(train) and val == sorted(val)  # both keep the file order
    assert sample_ids(load(toy, validation_split=0.2, normalize=None).val) == val
    assert sample_ids(load(toy, validation_split=0.2, seed=1, normalize=None).val) != val
    assert bundle.val.classes == CLASSES and "Held out 20 of 100" in bundle.notes[-1]


def test_validation_split_that_leaves_a_side_empty_is_an_error(toy):
    with pytest.raises(ConfigError, match="leaves one side empty"):
        load(toy, limit=3, validation_split=0.1)


def test_limit_keeps_the_first_samples_before_the_validation_split(toy):
    bundle = load(toy, limit=10, validation_split=0.3, normalize=None)
    assert sorted(sample_ids(bundle.train) + sample_ids(bundle.val)) == list(range(10))
    assert len(bundle.val) == 3 and sample_ids(bundle.test) == list(range(100, 110))
    assert any("limit=10" in note for note in bundle.notes)


@pytest.mark.parametrize("normalize", ["unit", "standard", None])
def test_normalisation_and_denormalize_round_trip(toy, normalize):
    bundle = load(toy, normalize=normalize)
    raw = torch.arange(100, dtype=torch.float32).view(100, 1, 1, 1).expand(100, 1, 2, 2)
    expected = {"unit": raw / 255, "standard": (raw / 255 - 0.5) / 0.25, None: raw}[normalize]
    assert torch.allclose(bundle.train.x, expected) and bundle.train.x.dtype == torch.float32
    assert torch.allclose(bundle.denormalize(bundle.train.x), raw / 255)
    assert bundle.input_shape == (1, 2, 2) and bundle.num_classes == 2 and bundle.task == "classification"


def test_table_without_test_set_is_split_and_standardised_on_train_only(toy_table):
    raw, x = toy_table
    bundle = load("toy-table", validation_split=0.25, seed=3)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (30, 10, 10)
    assert bundle.task == "regression" and bundle.num_classes is None and bundle.classes is None
    assert torch.allclose(bundle.train.x.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(bundle.train.x[:, 1:].std(0, correction=0), torch.ones(2), atol=1e-4)
    assert not bundle.train.x.isnan().any() and bundle.std[0] == 1.0  # the constant feature is not divided by 0
    same_split_raw = load("toy-table", validation_split=0.25, seed=3, normalize=None)
    assert torch.allclose(bundle.denormalize(bundle.test.x), same_split_raw.test.x, atol=1e-3)
    assert torch.equal(raw.train.x, x)  # the loader's tensor was not scaled in place
    assert load("toy-table", seed=3, test_split=0.5).test.x.shape == (25, 3)

