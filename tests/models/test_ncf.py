"""Neural collaborative filtering: NeuMF learns an interaction matrix through the Learner; ids are checked at the door."""

import doctest

import pytest
import torch

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.models import ncf as ncf_module
from tujie.models.ncf import GMF, NCFMLP, NeuMF


def interactions(num_users=20, num_items=30, seed=0):
    """All (user, item) pairs (N, 2) and 0/1 labels (N,): users and items fall in two taste groups; same group = 1."""
    g = torch.Generator().manual_seed(seed)
    user_group, item_group = torch.randint(0, 2, (num_users,), generator=g), torch.randint(0, 2, (num_items,), generator=g)
    pairs = torch.cartesian_prod(torch.arange(num_users), torch.arange(num_items))  # (N, 2)
    labels = (user_group[pairs[:, 0]] == item_group[pairs[:, 1]]).float()  # (N,)
    return pairs, labels


def test_docstring_examples():
    result = doctest.testmod(ncf_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_neumf_learns_a_tiny_interaction_matrix_and_generalises_to_held_out_pairs():
    tj.seed_everything(0)
    pairs, labels = interactions()
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(1))
    train, test = order[:480], order[480:]
    assert 0.3 < labels.mean() < 0.7  # a constant guess cannot reach 0.8
    learner = tj.Learner(tj.models.create("neumf", num_users=20, num_items=30), loss="bce_with_logits", optimizer="adam", lr=1e-2)
    learner.fit((pairs[train], labels[train]), epochs=30, batch_size=64, verbose=0)
    assert learner.evaluate((pairs[train], labels[train]), verbose=0)["accuracy"] > 0.8
    assert learner.evaluate((pairs[test], labels[test]), verbose=0)["accuracy"] > 0.8


def test_two_id_tensors_and_a_pairs_tensor_give_the_same_logits():
    model = NeuMF(20, 30)
    users, items = torch.tensor([0, 19, 7]), torch.tensor([29, 0, 3])
    torch.testing.assert_close(model(users, items), model(torch.stack([users, items], dim=1)))
    assert model(users, items).shape == (3,)


def test_gmf_and_mlp_match_their_equations():
    torch.manual_seed(0)
    users, items = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    gmf = GMF(5, 7, factors=4)
    p, q = gmf.user_embedding.weight[users], gmf.item_embedding.weight[items]
    torch.testing.assert_close(gmf(users, items), (p * q) @ gmf.predict.weight[0] + gmf.predict.bias)
    mlp = NCFMLP(5, 7, layers=(8, 4))
    h = torch.relu(torch.cat([mlp.user_embedding.weight[users], mlp.item_embedding.weight[items]], 1) @ mlp.tower[0].weight.T
                   + mlp.tower[0].bias)
    torch.testing.assert_close(mlp(users, items), h @ mlp.predict.weight[0] + mlp.predict.bias)
    assert mlp.user_embedding.embedding_dim == 4 and abs(gmf.user_embedding.weight.std() - 0.01) < 0.01


def test_neumf_from_pretrained_mixes_the_two_models_with_alpha():
    torch.manual_seed(0)
    gmf, mlp = GMF(6, 9, factors=4), NCFMLP(6, 9, layers=(16, 8, 4))
    users, items = torch.arange(6), torch.arange(6)
    model = NeuMF.from_pretrained(gmf, mlp, alpha=0.3)
    torch.testing.assert_close(model(users, items), 0.3 * gmf(users, items) + 0.7 * mlp(users, items))
    with pytest.raises(ConfigError, match="different users or items"):
        NeuMF.from_pretrained(GMF(6, 9), NCFMLP(6, 10))


@pytest.mark.parametrize("name", ["gmf", "ncf_mlp", "neumf"])
def test_ids_out_of_range_or_of_the_wrong_kind_are_named(name):
    model = tj.models.create(name, num_users=20, num_items=30)
    with pytest.raises(ShapeError, match=f"'{name}' received item id 30, outside its 30 items.*num_items=31"):
        model(torch.tensor([0, 1]), torch.tensor([3, 30]))
    with pytest.raises(ShapeError, match=f"'{name}' received user id -1"):
        model(torch.tensor([-1, 1]), torch.tensor([3, 4]))
    with pytest.raises(ShapeError, match="integer tensor"):
        model(torch.tensor([0.0, 1.0]), torch.tensor([3, 4]))
    with pytest.raises(ShapeError, match=r"\(batch, 2\)"):
        model(torch.tensor([0, 1]))
    with pytest.raises(ShapeError, match="same length"):
        model(torch.tensor([0, 1]), torch.tensor([3, 4, 5]))


def test_bad_sizes_fail_at_construction():
    with pytest.raises(ConfigError, match="`num_items` of model 'neumf'"):
        tj.models.create("neumf", num_users=3, num_items=0)
    with pytest.raises(ConfigError, match="`layers` of model 'ncf_mlp'.*even"):
        tj.models.create("ncf_mlp", num_users=3, num_items=4, layers=(63, 32))
    with pytest.raises(ConfigError, match="`factors` of model 'gmf'"):
        tj.models.create("gmf", num_users=3, num_items=4, factors=2.5)
