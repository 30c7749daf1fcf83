"""Keras and PyTorch habits that go straight into `fit` (issue 12): weights, several inputs,
generators, the double-softmax trap, callable losses, tuple outputs, float64, LBFGS, evaluation
of a model with its own train_step, and public example models copied unchanged."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tujie as tj
from tujie.errors import ConfigError, DataError


def blobs(n=256, classes=3, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[:classes]
    return (centers[y] + torch.randn(n, 2, generator=g) * 0.5).to(dtype), y


def digits():
    """scikit-learn's 8x8 digits (bundled, no download): 1,797 images, 10 classes, scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)


# --- pytorch/examples, mnist/main.py (BSD-3-Clause), copied unchanged ---------------------------
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 (verbatim)
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


# --- pytorch/examples, vae/main.py (BSD-3-Clause), copied unchanged -----------------------------
class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()  # noqa: UP008 (verbatim)

        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

    # see Appendix B from VAE paper:
    # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    # https://arxiv.org/abs/1312.6114
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    return BCE + KLD
# -----------------------------------------------------------------------------------------------


def linear(inputs=2, outputs=3, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(inputs, outputs)


# 1. class_weight, sample_weight, steps_per_epoch
def test_sample_weight_weighs_each_sample_loss():
    x, y = blobs(64)
    w = torch.zeros(64)
    w[:32] = 2.0  # the second half weighs nothing: one step equals a step on the first half, loss doubled
    a, b = tj.Learner(linear(), optimizer="sgd", lr=0.1), tj.Learner(linear(), optimizer="sgd", lr=0.1)
    a.fit(x, y, batch_size=64, shuffle=False, sample_weight=w, verbose=0)
    loss = F.cross_entropy(linear()(x[:32]), y[:32]) * 2 * 32 / 64  # sum(w_i l_i) / N
    loss.backward()
    b.fit(x[:32], y[:32], batch_size=64, shuffle=False, verbose=0)
    assert a.history.history["loss"][0] == pytest.approx(loss.item(), rel=1e-5)


def test_class_weight_changes_training_and_is_refused_by_a_callable_loss():
    x, y = blobs(96)
    plain, weighted = tj.Learner(linear(), lr=0.05), tj.Learner(linear(), lr=0.05)
    plain.fit(x, y, shuffle=False, verbose=0)
    weighted.fit(x, y, shuffle=False, class_weight={0: 1.0, 1: 10.0, 2: 1.0}, verbose=0)
    assert not torch.allclose(plain.model.weight, weighted.model.weight)
    with pytest.raises(ConfigError, match="cannot weight samples"):
        tj.Learner(linear(), loss=lambda out, y: F.cross_entropy(out, y)).fit(x, y, class_weight={0: 2.0}, verbose=0)
    with pytest.raises(DataError, match="one weight per sample"):
        tj.Learner(linear()).fit(x, y, sample_weight=torch.ones(5), verbose=0)


def test_steps_per_epoch_stops_the_epoch():
    x, y = blobs(256)
    learner = tj.Learner(linear())
    learner.fit(x, y, batch_size=16, epochs=2, steps_per_epoch=3, verbose=0)
    assert learner.global_step == 6 and learner.history.history["samples_per_s"]


# 2. several inputs
class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.users, self.items = nn.Embedding(10, 4), nn.Embedding(20, 4)

    def forward(self, users, items):
        return (self.users(users) * self.items(items)).sum(-1, keepdim=True)


def test_a_list_of_inputs_fits_validates_and_predicts():
    g = torch.Generator().manual_seed(0)
    users, items = torch.randint(0, 10, (64,), generator=g), torch.randint(0, 20, (64,), generator=g)
    ratings = torch.rand(64, 1, generator=g)
    learner = tj.Learner(TwoTower(), loss="mse", lr=0.05)
    history = learner.fit([users, items], ratings, validation_data=([users, items], ratings), epochs=2, verbose=0)
    assert "val_loss" in history.history
    assert learner.predict([users.numpy(), items.numpy()]).shape == (64, 1)
    history = tj.Learner(TwoTower(), loss="mse").fit([users, items], ratings, validation_split=0.25, verbose=0)
    assert "val_loss" in history.history


# 3. generators and iterables
def test_a_generator_with_steps_per_epoch_and_a_reiterable_list():
    x, y = blobs(128)

    def batches():
        while True:
            for i in range(0, 128, 32):
                yield x[i:i + 32].numpy(), y[i:i + 32].numpy()

    learner = tj.Learner(linear(), lr=0.1)
    learner.fit(batches(), epochs=3, steps_per_epoch=2, verbose=0)
    assert learner.global_step == 6
    listed = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 128, 32)]
    learner = tj.Learner(linear(), lr=0.1)
    learner.fit(listed, epochs=3, validation_data=listed, verbose=0)
    assert learner.global_step == 12 and learner.history.history["val_accuracy"][-1] > 0.8


def test_a_one_shot_generator_over_several_epochs_is_refused():
    x, y = blobs(64)
    with pytest.raises(DataError, match="steps_per_epoch"):
        tj.Learner(linear()).fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)), epochs=2, verbose=0)
    learner = tj.Learner(linear())
    learner.fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)), epochs=1, verbose=0)
    assert learner.global_step == 8  # the batch read to size the model is not lost


# 4. the double-softmax trap
def train_digits(head, loss="cross_entropy"):
    x, y = digits()
    torch.manual_seed(0)
    model = tj.Sequential([tj.layers.Dense(32, activation="relu"), head])
    learner = tj.Learner(model, loss=loss, lr=1e-2)
    learner.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return learner, learner.evaluate((x, y), verbose=0)["accuracy"]


def test_a_softmax_head_with_cross_entropy_trains_as_well_as_logits_and_says_so():
    _, logits = train_digits(tj.layers.Dense(10))
    with pytest.warns(UserWarning, match="softmax"):
        learner, softmax = train_digits(tj.layers.Dense(10, activation="softmax"))
    assert softmax > logits - 0.05, (softmax, logits)
    x = digits()[0][:5]
    assert torch.allclose(learner.predict_proba(x), learner.predict(x))  # already probabilities: no second softmax
    with pytest.warns(UserWarning, match="Softmax"):
        tj.Learner(nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=-1)))
    with pytest.warns(UserWarning, match="Activation"):
        tj.Learner(nn.Sequential(nn.Linear(4, 3), tj.layers.Activation("softmax")))
    with pytest.warns(UserWarning, match="sigmoid"):
        learner = tj.Learner(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()), loss="bce_with_logits")
    assert learner.kind == "binary_probs"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tj.Learner(nn.Sequential(nn.Linear(4, 3)))  # logits: no warning


# 5. callable losses keep their metrics; 10. the PyTorch MNIST example unchanged
def test_the_mnist_example_with_nll_loss_keeps_accuracy_and_probabilities(capsys):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(48, 1, 28, 28, generator=g), torch.randint(0, 10, (48,), generator=g)
    torch.manual_seed(0)
    learner = tj.Learner(Net(), loss=F.nll_loss, optimizer="adadelta", lr=1.0, metrics=["accuracy"])
    history = learner.fit(x, y, batch_size=16, validation_data=(x, y), verbose=2)
    assert "accuracy" in history.history and "val_accuracy" in history.history
    assert "multiclass_log_probs" in capsys.readouterr().out
    proba = learner.predict_proba(x[:4])
    assert torch.allclose(proba.sum(-1), torch.ones(4), atol=1e-5) and (proba >= 0).all()


def test_a_lambda_loss_gets_the_task_from_the_targets_or_task_argument():
    x, y = blobs(64)
    learner = tj.Learner(linear(), loss=lambda out, t: F.cross_entropy(out, t))
    learner.fit(x, y, verbose=0)
    assert learner.task == "multiclass_logits" and "accuracy" in learner.history.history
    learner = tj.Learner(linear(outputs=1), loss=lambda out, t: F.mse_loss(out, t), task="regression")
    learner.fit(x, x[:, :1], verbose=0)
    assert "mae" in learner.evaluate((x, x[:, :1]), verbose=0)
    with pytest.raises(ConfigError, match="task"):
        tj.Learner(linear(), task="classify")


# 6. tuple outputs; 10. the VAE example unchanged
def test_the_vae_example_trains_validates_and_evaluates():
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    learner = tj.Learner(VAE(), loss=lambda out, x: loss_function(out[0], x, *out[1:]), lr=1e-3)
    history = learner.fit((x, x), epochs=2, batch_size=32, validation_data=(x, x), verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] and "val_loss" in history.history
    assert set(learner.evaluate((x, x), verbose=0)) == {"loss"}


def test_metrics_read_the_named_output_of_a_tuple_or_dict():
    class Heads(nn.Module):
        def __init__(self, as_dict):
            super().__init__()
            self.fc, self.as_dict = linear(), as_dict

        def forward(self, x):
            out = self.fc(x)
            return {"aux": out.detach() * 0, "logits": out} if self.as_dict else (out.detach() * 0, out)

    x, y = blobs(128)
    a = tj.Learner(Heads(False), lr=0.1, output_index=1)
    a.fit(x, y, epochs=3, verbose=0)
    b = tj.Learner(Heads(True), lr=0.1, output_key="logits")
    b.fit(x, y, epochs=3, verbose=0)
    assert a.evaluate((x, y), verbose=0)["accuracy"] > 0.9 and b.evaluate((x, y), verbose=0)["accuracy"] > 0.9


# 7. float64
def test_float64_models_and_data_stay_float64():
    x, y = blobs(64, dtype=torch.float64)
    learner = tj.Learner(linear().double(), lr=0.1)
    learner.fit(x.numpy(), y.numpy(), validation_data=(x, y), verbose=0)
    assert learner.model.weight.dtype == torch.float64 and learner.predict(x.float()).dtype == torch.float64


# 8. closure optimizers
def test_lbfgs_trains_through_fit():
    x, y = blobs(128)
    model = linear()
    learner = tj.Learner(model, optimizer=torch.optim.LBFGS(model.parameters(), lr=0.5))
    history = learner.fit(x, y, batch_size=128, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] and history.history["accuracy"][-1] > 0.9


# 9. evaluate a model that brings its own train_step
class OwnStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = linear()

    def forward(self, x):
        return self.fc(x)

    def train_step(self, batch, learner):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        learner.backward(loss)
        return {"loss": loss.detach()}


def test_a_model_with_its_own_train_step_is_evaluated_by_the_default_step_or_told_what_to_write():
    x, y = blobs(64)
    learner = tj.Learner(OwnStep(), lr=0.1)
    learner.fit((x, y), epochs=2, validation_data=(x, y), verbose=0)
    assert {"loss", "accuracy"} <= set(learner.evaluate((x, y), verbose=0))
    with pytest.raises(ConfigError, match="eval_step"):
        tj.Learner(OwnStep(), loss=None).evaluate((x, y), verbose=0)
