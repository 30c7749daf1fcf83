"""Plain matrix factorisation, the baseline beside NCF: score = μ + b_u + b_i + p_u · q_i.

The seeds' first recommender (002, the Keras `Dot` of two embeddings) plus a bias per user and
per item (Koren, Bell & Volinsky 2009, "Matrix factorization techniques for recommender
systems"). For ranking, the same model with μ = 0 is trained with the NCF models' log loss and
negative sampling, so only the model differs; GMF is this dot product with a learned weight
per factor. For ratings, μ starts at the training mean and the loss is the squared error.

Example:
    >>> import torch
    >>> mf = MatrixFactorization(num_users=4, num_items=6, factors=3, global_mean=3.5)
    >>> mf(torch.tensor([0, 3]), torch.tensor([5, 1])).shape
    torch.Size([2])
"""

from __future__ import annotations

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """Biased matrix factorisation: (user_ids, item_ids) (batch,) → μ + b_u + b_i + p_u · q_i (batch,).

    Args:
        num_users, num_items: the id ranges (ids from 0).
        factors: size of p_u and q_i.
        global_mean: μ's starting value (the training ratings' mean for rating prediction; 0 for logits).

    Input shape: (batch,) user ids and (batch,) item ids, or one (batch, 2) tensor of pairs.
    Output shape: (batch,).
    """

    def __init__(self, num_users: int, num_items: int, factors: int = 32, global_mean: float = 0.0):
        super().__init__()
        from ..models._common import check_positive

        check_positive("matrix factorisation", num_users=num_users, num_items=num_items, factors=factors)
        self.num_users, self.num_items = num_users, num_items
        self.user_factors, self.item_factors = nn.Embedding(num_users, factors), nn.Embedding(num_items, factors)
        self.user_bias, self.item_bias = nn.Embedding(num_users, 1), nn.Embedding(num_items, 1)
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, 0.0, 0.01)  # as NCF's embeddings: small, so the first scores are near μ
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)
        self.global_mean = nn.Parameter(torch.tensor(float(global_mean)))

    def forward(self, user_ids: torch.Tensor, item_ids: torch.Tensor | None = None) -> torch.Tensor:
        from ..models.ncf import _split_ids  # the zoo's id checks: shape, type, range, with the fix in the message

        users, items = _split_ids("matrix factorisation", user_ids, item_ids, self.num_users, self.num_items)  # (batch,) each
        dot = (self.user_factors(users) * self.item_factors(items)).sum(-1)  # (batch,)
        return self.global_mean + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + dot  # (batch,)
