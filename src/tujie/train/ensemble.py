"""Ensembles of classifiers: `Ensemble` combines member modules' predictions; `bagging` trains one.

Design: every member returns class *logits* of shape (batch, classes). The ensemble turns them
into probabilities, combines those, and returns their *logarithm* (log-probabilities), so an
ensemble is used like any classifier:

- `tujie.Learner(ensemble, loss="nll")` evaluates it: `nll` on log-probabilities is the
  cross-entropy of the combined probabilities, and accuracy argmaxes the last dimension;
- `learner.predict_proba(x)` (softmax of log-probabilities) gives the combined probabilities back;
- `ensemble.predict_proba(x)` gives them directly.

An `Ensemble` is a plain `nn.Module` (members in an `nn.ModuleList`, weights in a buffer), so
it saves, loads and exports like any model.

Example:
    >>> import torch
    >>> members = [torch.nn.Linear(4, 3) for _ in range(3)]
    >>> ensemble = Ensemble(members, method="average")
    >>> log_probs = ensemble(torch.randn(5, 4))                # (batch, classes)
    >>> log_probs.shape, bool(torch.allclose(log_probs.exp().sum(-1), torch.ones(5)))
    (torch.Size([5, 3]), True)
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.arrays import ArrayDataset, labelled_tensors
from ..errors import ConfigError

__all__ = ["Ensemble", "bagging"]

METHODS = ("average", "vote", "weighted")


class Ensemble(nn.Module):
    """Combine classifiers that output logits into one that outputs log-probabilities.

    Args:
        members: the member modules (each maps the same inputs to logits of shape (batch, classes)).
        method: how the members' predictions are combined:
            "average": the mean of the members' softmax probabilities;
            "vote": each member votes for its argmax class; the output is the share of votes per
                class (a one-hot row when the members agree). The winner is the class with most
                votes, ties going to the lowest class index (`argmax` returns the first maximum);
            "weighted": the weighted mean of the members' probabilities, with the given
                `weights` normalised to sum to 1.
        weights: one non-negative weight per member; required by (and only used with) "weighted".

    Input shape:
        Whatever the members take, e.g. (batch, features).

    Output shape:
        (batch, classes): log-probabilities (`log` of the combined probabilities; classes that
        got no probability at all, as in a vote, are clamped to the log of the smallest float).

    Example:
        >>> class Fixed(torch.nn.Module):  # a "model" that always returns the same logits
        ...     def __init__(self, logits):
        ...         super().__init__()
        ...         self.register_buffer("logits", torch.tensor(logits))
        ...     def forward(self, x):
        ...         return self.logits.expand(len(x), -1)
        >>> members = [Fixed([2.0, 0.0]), Fixed([0.0, 2.0]), Fixed([0.0, 1.0])]
        >>> Ensemble(members, method="vote").predict_proba(torch.zeros(1, 1))
        tensor([[0.3333, 0.6667]])
        >>> Ensemble(members, method="weighted", weights=[2, 1, 1]).weights
        tensor([0.5000, 0.2500, 0.2500])
    """

    def __init__(self, members, method: str = "average", weights=None):
        super().__init__()
        members = list(members)
        if not members or not all(isinstance(m, nn.Module) for m in members):
            raise ConfigError("Invalid value received for `members`.", expected="a non-empty list of nn.Module",
                              received=f"{[type(m).__name__ for m in members]}",
                              fix="Pass the trained models, e.g. [learner.model for learner in learners].")
        if method not in METHODS:
            raise ConfigError(f"Unknown ensemble method {method!r}.", expected=f"one of {METHODS}",
                              received=f"method={method!r}", fix="Pass method='average', for example.")
        if method == "weighted":
            if weights is None:
                raise ConfigError("method='weighted' needs `weights`.", expected=f"{len(members)} non-negative weights",
                                  received="weights=None", fix="Pass weights=[...], one per member, or method='average'.")
            w = torch.as_tensor(weights, dtype=torch.float32).flatten()
            if len(w) != len(members) or bool((w < 0).any()) or not float(w.sum()) > 0:
                raise ConfigError("Invalid value received for `weights`.",
                                  expected=f"{len(members)} non-negative weights (one per member) with a positive sum",
                                  received=f"weights={list(weights)!r}", fix="Pass one weight per member, e.g. [1, 1, 2].")
        elif weights is not None:
            raise ConfigError("`weights` are only used with method='weighted'.", expected="weights=None",
                              received=f"method={method!r}, weights={list(weights)!r}", fix="Pass method='weighted'.")
        else:
            w = torch.ones(len(members))
        self.members = nn.ModuleList(members)
        self.method = method
        self.register_buffer("weights", w / w.sum())  # (members,)

    def forward(self, *inputs) -> torch.Tensor:
        return self.predict_proba(*inputs).clamp_min(torch.finfo(torch.float32).tiny).log()  # (batch, classes)

    def predict_proba(self, *inputs) -> torch.Tensor:
        """The combined class probabilities, shape (batch, classes)."""
        logits = torch.stack([member(*inputs) for member in self.members])  # (members, batch, classes)
        if self.method == "vote":
            votes = nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)  # (members, batch, classes)
            return votes.mean(0)
        probs = logits.softmax(-1)  # (members, batch, classes)
        return torch.einsum("m,mbc->bc", self.weights.to(probs.dtype), probs)

    def extra_repr(self) -> str:
        return f"method={self.method!r}"


def bagging(build_learner, data, *, n_members: int = 5, epochs: int = 10, batch_size: int = 32, seed: int = 0,
            method: str = "average", verbose: int = 0) -> Ensemble:
    """Bootstrap aggregating: train each member on a resample (with replacement) of the data.

    Args:
        build_learner: a callable `() -> tujie.Learner` returning a learner with a fresh model.
        data: an `(x, y)` tuple of tensors/arrays or an `ArrayDataset` with targets.
        n_members: number of members (>= 1).
        epochs: training epochs per member.
        batch_size: training batch size.
        seed: seeds the members' own seeds, from which each member draws its resample, initial
            weights and shuffling; the caller's global random state is left untouched.
        method: how the ensemble combines members ("average", "vote"; see `Ensemble`).
        verbose: 0 silent, 1 a line per member.

    Returns:
        An `Ensemble` of the trained member models (in eval mode).

    Example:
        >>> import torch, tujie as tj
        >>> x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
        >>> ensemble = bagging(lambda: tj.Learner(torch.nn.Linear(4, 3)), (x, y), n_members=2, epochs=1)
        >>> len(ensemble.members), ensemble(x).shape
        (2, torch.Size([32, 3]))
    """
    if not isinstance(n_members, int) or n_members < 1:
        raise ConfigError("Invalid value received for `n_members`.", expected="an integer >= 1",
                          received=f"n_members={n_members!r}", fix="Pass n_members=5, for example.")
    dataset = ArrayDataset(*labelled_tensors(data, "Bagging", "bagging(build_learner, (x, y))"))
    n = len(dataset)
    # one seed per member, drawn from `seed`: bagging(seed=0) and bagging(seed=1) share no member
    member_seeds = torch.randint(0, 2**31 - 1, (n_members,), generator=torch.Generator().manual_seed(seed)).tolist()
    members = []
    for i, member_seed in enumerate(member_seeds):
        generator = torch.Generator().manual_seed(member_seed)
        index = torch.randint(0, n, (n,), generator=generator)  # (n,) a bootstrap resample: rows drawn with replacement
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(member_seed)
            learner = build_learner()
            learner.generator.manual_seed(member_seed)
            history = learner.fit(dataset.subset(index), epochs=epochs, batch_size=batch_size, verbose=0)
        if verbose:
            print(f"member {i + 1}/{n_members}: loss {history.epochs[-1]['loss']:.4f}", flush=True)
        members.append(learner.model.eval())
    return Ensemble(members, method=method).eval()
