"""Bad input to fit / predict / compile gives one clear error (or warning), not a torch traceback (issue 12, section 3)."""

import warnings

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, DataError, TujieError
from tujie.train.loop import Learner


def mlp(outputs=3, features=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(features, 8), nn.ReLU(), nn.Linear(8, outputs))


def data(n=16, features=4):
    torch.manual_seed(0)
    return torch.randn(n, features), torch.randint(0, 3, (n,))


@pytest.mark.parametrize("labels, shown", [(5, "5"), (-1, "-1")])
def test_labels_out_of_range_are_refused(labels, shown):
    x, y = data()
    y[:4] = labels
    with pytest.raises(DataError) as info:
        Learner(mlp(), device="cpu").fit(x, y, epochs=1, verbose=0)
    message = str(info.value)
    assert shown in message and "3 outputs" in message and "Fix:" in message


def test_float_labels_with_cross_entropy_are_refused():
    x, y = data()
    with pytest.raises(DataError, match="integer") as info:
        Learner(mlp(), device="cpu").fit(x, y.float(), epochs=1, verbose=0)
    assert "y.long()" in str(info.value)


def test_ignore_index_labels_are_accepted():
    x, y = data()
    y[:2] = -100  # CrossEntropyLoss' ignore_index: not an error
    Learner(mlp(), device="cpu").fit(x, y, epochs=1, verbose=0)


def test_one_dimensional_inputs_say_reshape():
    torch.manual_seed(0)
    x, y = torch.randn(16), torch.randn(16, 1)
    with pytest.raises(TujieError, match=r"reshape\(-1, 1\)"):
        Learner(nn.Linear(1, 1), loss="mse", device="cpu").fit(x, y, epochs=1, verbose=0)


def test_one_dimensional_token_ids_still_train():
    torch.manual_seed(0)
    ids, y = torch.randint(0, 10, (16,)), torch.randint(0, 3, (16,))
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3))
    Learner(model, device="cpu").fit(ids, y, epochs=1, verbose=0)


def test_predict_on_empty_input_returns_empty_outputs():
    x, y = data()
    learner = Learner(mlp(), device="cpu")
    learner.fit(x, y, epochs=1, verbose=0)
    assert learner.predict(torch.empty(0, 4)).shape == (0, 3)
    assert learner.predict_proba(torch.empty(0, 4)).shape == (0, 3)


def test_predict_on_empty_input_that_cannot_run_is_a_data_error():
    learner = Learner(mlp(), device="cpu")
    with pytest.raises(DataError, match="0 samples"):
        learner.predict(torch.empty(0, 7))  # wrong width too: the model cannot say its output shape


def test_unknown_optimizer_is_refused_at_once():
    with pytest.raises(ConfigError) as info:
        Learner(mlp(), optimizer="nosuch", device="cpu")
    assert "adam" in str(info.value) and "sgd" in str(info.value)
    model = tj.Sequential([tj.layers.Dense(3)])
    with pytest.raises(ConfigError, match="nosuch"):
        model.compile(optimizer="nosuch")


def test_empty_dataset_is_refused():
    with pytest.raises(DataError, match="empty"):
        Learner(mlp(), device="cpu").fit(torch.empty(0, 4), torch.empty(0, dtype=torch.long), epochs=1, verbose=0)


def test_nan_inputs_warn_with_verbose_0():
    x, y = data()
    x[0, :3] = float("nan")
    x[1, 0] = float("inf")
    with pytest.warns(UserWarning, match="4 NaN or infinite"):
        Learner(mlp(), device="cpu").fit(x, y, epochs=1, verbose=0, shuffle=False)


def test_clean_inputs_do_not_warn():
    x, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Learner(mlp(), device="cpu").fit(x, y, epochs=1, verbose=0)


def test_labels_out_of_range_in_a_later_batch_are_refused_up_front():
    x, y = data(n=64)
    y[-1] = 9
    with pytest.raises(DataError, match=r"labels \[9\]"):
        Learner(mlp(), device="cpu").fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
