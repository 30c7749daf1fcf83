"""Neural collaborative filtering (He et al. 2017): GMF, the NCF MLP and NeuMF, which fuses the two.

Users and items get embedding vectors; a model scores a (user, item) pair by how well the two
match (seeds/002 builds the simplest one, a dot product of embeddings). The paper learns from
implicit feedback: a pair is 1 if the user interacted with the item, 0 for sampled negatives,
with a log loss. Here every model returns a logit per pair, shape (batch,) (no sigmoid:
train with "bce_with_logits" and 0/1 float targets of shape (batch,)).

A model takes `(user_ids, item_ids)`, two int64 tensors (batch,), or one (batch, 2) tensor of
`[user_id, item_id]` rows, which is what the Learner passes from `fit((pairs, labels))`:

    >>> import torch, tujie as tj
    >>> pairs = torch.stack([torch.randint(0, 20, (64,)), torch.randint(0, 30, (64,))], dim=1)  # (64, 2)
    >>> labels = torch.randint(0, 2, (64,)).float()  # (64,)
    >>> learner = tj.Learner(neumf(num_users=20, num_items=30), loss="bce_with_logits", optimizer="adam")
    >>> history = learner.fit((pairs, labels), epochs=1, batch_size=32, verbose=0)
    >>> learner.predict_proba(pairs).shape
    torch.Size([64])
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from ._common import check_positive
from ._registry import register_model


def _split_ids(model_name: str, user_ids: torch.Tensor, item_ids: torch.Tensor | None, num_users: int, num_items: int):
    """Check and return (user_ids, item_ids), each (batch,) int64; `item_ids=None` means `user_ids` holds (batch, 2) pairs."""
    if item_ids is None:
        if user_ids.ndim != 2 or user_ids.shape[1] != 2:
            raise ShapeError(f"Model '{model_name}' received an input of the wrong shape.",
                             expected="user_ids and item_ids, each (batch,), or one (batch, 2) tensor of [user_id, item_id] rows",
                             received=f"a single input of shape {tuple(user_ids.shape)}",
                             fix="Pass model(user_ids, item_ids), or torch.stack([user_ids, item_ids], dim=1).")
        user_ids, item_ids = user_ids[:, 0], user_ids[:, 1]  # (batch,), (batch,)
    for what, ids, count in (("user", user_ids, num_users), ("item", item_ids, num_items)):
        if ids.ndim != 1 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise ShapeError(f"Model '{model_name}' received {what} ids of the wrong shape or type.",
                             expected=f"an integer tensor (batch,) of {what} ids", received=f"{ids.dtype} tensor of shape {tuple(ids.shape)}",
                             fix=f"Pass {what}_ids.long() with one id per example (flatten a (batch, 1) tensor with .view(-1)).")
        if ids.numel():
            low, high = torch.aminmax(ids)  # one sync; an out-of-range id would otherwise fail deep inside nn.Embedding
            if low < 0 or high >= count:
                bad = int(low) if low < 0 else int(high)
                raise ShapeError(f"Model '{model_name}' received {what} id {bad}, outside its {count} {what}s.",
                                 expected=f"{what} ids in [0, {count - 1}]", received=f"{what} ids from {int(low)} to {int(high)}",
                                 fix=f"Build the model with num_{what}s={int(high) + 1} or more, or re-index the ids from 0.")
    if user_ids.shape != item_ids.shape:
        raise ShapeError(f"Model '{model_name}' received different numbers of users and items.",
                         expected="user_ids and item_ids of the same length", fix="Pass one (user, item) pair per example.",
                         received=f"user_ids {tuple(user_ids.shape)}, item_ids {tuple(item_ids.shape)}")
    return user_ids.long(), item_ids.long()


def _check_layers(model_name: str, layers) -> tuple[int, ...]:
    layers = tuple(layers)
    check_positive(model_name, **{f"layers[{i}]": n for i, n in enumerate(layers)})
    if not layers or layers[0] % 2:
        raise ConfigError(f"Invalid value received for argument `layers` of model '{model_name}'.",
                          expected="a non-empty list whose first size is even (it is the user and item embeddings concatenated)",
                          received=f"layers={layers!r}", fix="Pass layers=(64, 32, 16, 8), the paper's tower.")
    return layers


def _tower(layers, dropout: float) -> nn.Sequential:
    """The MLP tower: [Linear → ReLU (→ Dropout)] from layers[0] down to layers[-1] (64 → 32 → 16 → 8)."""
    stack = []
    for n_in, n_out in zip(layers, layers[1:]):
        linear = nn.Linear(n_in, n_out)
        # the authors' Keras default (Glorot uniform): torch's smaller default, fed by N(0, 0.01) embeddings,
        # lets the ReLU tower die at the start on MovieLens (every score alike, HR@10 = 0)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        stack += [linear, nn.ReLU()]
        if dropout:
            stack.append(nn.Dropout(dropout))
    return nn.Sequential(*stack)


def _output(n_in: int) -> nn.Linear:
    """The prediction layer h, initialised as the authors' code does (LeCun uniform: U(±sqrt(3 / n_in)))."""
    linear = nn.Linear(n_in, 1)
    bound = (3.0 / n_in) ** 0.5
    nn.init.uniform_(linear.weight, -bound, bound)
    nn.init.zeros_(linear.bias)
    return linear


def _embedding(count: int, size: int) -> nn.Embedding:
    embedding = nn.Embedding(count, size)
    nn.init.normal_(embedding.weight, 0.0, 0.01)  # the paper's initialisation, N(0, 0.01)
    return embedding


class GMF(nn.Module):
    """Generalized matrix factorization: logit = h^T (p_u ⊙ q_i) + b, matrix factorization with a learned output weight.

    Args:
        num_users: number of users (ids 0 .. num_users - 1).
        num_items: number of items.
        factors: size of the user and item embeddings (the paper's "predictive factors", 8 to 64).

    Input shape: (batch,) user ids and (batch,) item ids, or (batch, 2) pairs.  Output shape: (batch,) logits.

    Example:
        >>> GMF(num_users=5, num_items=7)(torch.tensor([0, 4]), torch.tensor([6, 1])).shape
        torch.Size([2])
    """

    def __init__(self, num_users: int, num_items: int, factors: int = 8):
        super().__init__()
        check_positive("gmf", num_users=num_users, num_items=num_items, factors=factors)
        self.num_users, self.num_items = num_users, num_items
        self.user_embedding, self.item_embedding = _embedding(num_users, factors), _embedding(num_items, factors)
        self.predict = _output(factors)

    def features(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        return self.user_embedding(user_ids) * self.item_embedding(item_ids)  # (batch, factors)

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor | None = None) -> torch.Tensor:
        users, items = _split_ids("gmf", user_ids, item_ids, self.num_users, self.num_items)  # (batch,) each
        return self.predict(self.features(users, items)).squeeze(-1)  # (batch,)


class NCFMLP(nn.Module):
    """The NCF multi-layer perceptron: concat(p_u, q_i) → ReLU tower → logit.

    `layers[0]` is the concatenated embedding size (each embedding is half of it), the rest
    are the tower's hidden sizes: the paper's (64, 32, 16, 8) embeds users and items in 32
    dimensions and ends with 8 predictive factors.

    Args:
        num_users: number of users.
        num_items: number of items.
        layers: (concatenated embedding size, hidden sizes...).
        dropout: dropout after each hidden layer (the paper used none).

    Input shape: (batch,) user ids and (batch,) item ids, or (batch, 2) pairs.  Output shape: (batch,) logits.

    Example:
        >>> NCFMLP(num_users=5, num_items=7)(torch.tensor([[0, 6], [4, 1]])).shape
        torch.Size([2])
    """

    def __init__(self, num_users: int, num_items: int, layers=(64, 32, 16, 8), dropout: float = 0.0):
        super().__init__()
        check_positive("ncf_mlp", num_users=num_users, num_items=num_items)
        layers = _check_layers("ncf_mlp", layers)
        self.num_users, self.num_items = num_users, num_items
        self.user_embedding = _embedding(num_users, layers[0] // 2)
        self.item_embedding = _embedding(num_items, layers[0] // 2)
        self.tower = _tower(layers, dropout)
        self.predict = _output(layers[-1])

    def features(self, user_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        pair = torch.cat([self.user_embedding(user_ids), self.item_embedding(item_ids)], dim=-1)  # (batch, layers[0])
        return self.tower(pair)  # (batch, layers[-1])

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor | None = None) -> torch.Tensor:
        users, items = _split_ids("ncf_mlp", user_ids, item_ids, self.num_users, self.num_items)  # (batch,) each
        return self.predict(self.features(users, items)).squeeze(-1)  # (batch,)


class NeuMF(nn.Module):
    """Neural matrix factorization: a GMF and an MLP with their own embeddings, fused by one output layer.

    logit = h^T [p_u^G ⊙ q_i^G ; MLP(p_u^M, q_i^M)] + b (the paper's equation 12). The paper
    initialises it from a pre-trained GMF and MLP: see `from_pretrained`.

    Args:
        num_users: number of users.
        num_items: number of items.
        factors: GMF embedding size.
        layers: the MLP's (concatenated embedding size, hidden sizes...).
        dropout: dropout in the MLP tower.

    Input shape: (batch,) user ids and (batch,) item ids, or (batch, 2) pairs.  Output shape: (batch,) logits.

    Example:
        >>> model = NeuMF(num_users=5, num_items=7)
        >>> model(torch.tensor([0, 4]), torch.tensor([6, 1])).shape
        torch.Size([2])
        >>> pretrained = NeuMF.from_pretrained(GMF(5, 7), NCFMLP(5, 7), alpha=0.5)
        >>> pretrained.predict.in_features
        16
    """

    def __init__(self, num_users: int, num_items: int, factors: int = 8, layers=(64, 32, 16, 8), dropout: float = 0.0):
        super().__init__()
        check_positive("neumf", num_users=num_users, num_items=num_items, factors=factors)
        layers = _check_layers("neumf", layers)
        self.num_users, self.num_items = num_users, num_items
        self.gmf_user_embedding, self.gmf_item_embedding = _embedding(num_users, factors), _embedding(num_items, factors)
        self.mlp_user_embedding = _embedding(num_users, layers[0] // 2)
        self.mlp_item_embedding = _embedding(num_items, layers[0] // 2)
        self.tower = _tower(layers, dropout)
        self.predict = _output(factors + layers[-1])

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor | None = None) -> torch.Tensor:
        users, items = _split_ids("neumf", user_ids, item_ids, self.num_users, self.num_items)  # (batch,) each
        gmf = self.gmf_user_embedding(users) * self.gmf_item_embedding(items)  # (batch, factors)
        mlp = self.tower(torch.cat([self.mlp_user_embedding(users), self.mlp_item_embedding(items)], dim=-1))  # (batch, layers[-1])
        return self.predict(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)  # (batch,)

    @classmethod
    def from_pretrained(cls, gmf: GMF, mlp: NCFMLP, alpha: float = 0.5) -> "NeuMF":
        """A NeuMF starting from trained GMF and MLP models (the paper's section 3.4.1).

        The embeddings and tower are copied; the output weight is [alpha * h_GMF ; (1 - alpha) * h_MLP]
        (the paper's alpha = 0.5), the bias alpha * b_GMF + (1 - alpha) * b_MLP.
        """
        if (gmf.num_users, gmf.num_items) != (mlp.num_users, mlp.num_items):
            raise ConfigError("The GMF and MLP to combine into NeuMF were built for different users or items.",
                              expected="the same num_users and num_items", fix="Pre-train both on the same interactions.",
                              received=f"GMF {gmf.num_users}×{gmf.num_items}, MLP {mlp.num_users}×{mlp.num_items}")
        layers = [mlp.user_embedding.embedding_dim * 2] + [m.out_features for m in mlp.tower if isinstance(m, nn.Linear)]
        dropout = next((m.p for m in mlp.tower if isinstance(m, nn.Dropout)), 0.0)
        model = cls(gmf.num_users, gmf.num_items, gmf.user_embedding.embedding_dim, layers, dropout)
        with torch.no_grad():
            model.gmf_user_embedding.weight.copy_(gmf.user_embedding.weight)
            model.gmf_item_embedding.weight.copy_(gmf.item_embedding.weight)
            model.mlp_user_embedding.weight.copy_(mlp.user_embedding.weight)
            model.mlp_item_embedding.weight.copy_(mlp.item_embedding.weight)
            model.tower.load_state_dict(mlp.tower.state_dict())
            model.predict.weight.copy_(torch.cat([alpha * gmf.predict.weight, (1 - alpha) * mlp.predict.weight], dim=1))
            model.predict.bias.copy_(alpha * gmf.predict.bias + (1 - alpha) * mlp.predict.bias)
        return model


# ------------------------------------------------------------------------------------ registry
def _example_pairs(batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randint(0, 20, (batch_size,)), torch.randint(0, 30, (batch_size,))  # matches test_kwargs 20 users, 30 items


_TEST_KWARGS = {"num_users": 20, "num_items": 30}


@register_model(example_input=_example_pairs, output_shape=(), test_kwargs=_TEST_KWARGS)
def gmf(num_users: int, num_items: int, factors: int = 8) -> GMF:
    """GMF (He et al. 2017): (user_ids, item_ids) (batch,) → logit (batch,) from the weighted product of embeddings.

    Example:
        >>> gmf(num_users=20, num_items=30)(torch.tensor([1, 2]), torch.tensor([3, 4])).shape
        torch.Size([2])
    """
    return GMF(num_users, num_items, factors)


@register_model(example_input=_example_pairs, output_shape=(), test_kwargs=_TEST_KWARGS)
def ncf_mlp(num_users: int, num_items: int, layers=(64, 32, 16, 8), dropout: float = 0.0) -> NCFMLP:
    """NCF MLP (He et al. 2017): (user_ids, item_ids) (batch,) → concatenated embeddings → ReLU tower → logit (batch,).

    Example:
        >>> ncf_mlp(num_users=20, num_items=30)(torch.tensor([1, 2]), torch.tensor([3, 4])).shape
        torch.Size([2])
    """
    return NCFMLP(num_users, num_items, layers, dropout)


@register_model(example_input=_example_pairs, output_shape=(), test_kwargs=_TEST_KWARGS)
def neumf(num_users: int, num_items: int, factors: int = 8, layers=(64, 32, 16, 8), dropout: float = 0.0) -> NeuMF:
    """NeuMF (He et al. 2017): (user_ids, item_ids) (batch,) → GMF and MLP branches fused → logit (batch,).

    Example:
        >>> neumf(num_users=20, num_items=30)(torch.tensor([1, 2]), torch.tensor([3, 4])).shape
        torch.Size([2])
    """
    return NeuMF(num_users, num_items, factors, layers, dropout)
