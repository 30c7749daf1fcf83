"""Text classifiers: each learns a toy task through padded batches, ignores padding given lengths, explains bad input."""

import doctest

import pytest
import torch
import torch.nn.functional as F

import tujie as tj
from tujie.errors import ConfigError, DataError, ShapeError
from tujie.models import text
from tujie.train.loop import needs_build

TEXT_MODELS = ["rnn_classifier", "lstm_classifier", "gru_classifier", "bilstm_classifier", "textcnn"]
TARGET, VOCAB, STEPS = 7, 20, 16


def _small(name, **kwargs):
    sizes = {"filters": 16} if name == "textcnn" else {"hidden": 32}
    return tj.models.create(name, vocab_size=VOCAB, embed_dim=16, **sizes, **kwargs)


def contains_target_batch(n, generator):
    """Padded sequences of 4-12 tokens; label 1 when TARGET occurs among the true tokens.

    Half the sequences also hide TARGET in their padding, so a model that reads padding is wrong
    on about a quarter of them: passing the test needs `lengths` to work.
    """
    lengths = torch.randint(4, 13, (n,), generator=generator)
    tokens = torch.randint(1, VOCAB, (n, STEPS), generator=generator)
    tokens[tokens == TARGET] = TARGET + 1
    labels = torch.randint(0, 2, (n,), generator=generator)
    at = (torch.rand(n, generator=generator) * lengths).long()  # a random true position
    rows = labels.nonzero().squeeze(1)
    tokens[rows, at[rows]] = TARGET
    decoys = torch.randint(0, 2, (n,), generator=generator).bool()
    tokens[decoys, STEPS - 1] = TARGET  # always padding: lengths <= 12 < STEPS
    return tokens, lengths, labels


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_learns_whether_a_token_occurs_reading_only_the_true_tokens(name):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = _small(name, dropout=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)  # the model is built: no dummy batch needed
    for _ in range(80):
        tokens, lengths, labels = contains_target_batch(64, generator)
        loss = F.cross_entropy(model(tokens, lengths=lengths), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, lengths, labels = contains_target_batch(1000, generator)
    model.eval()
    with torch.no_grad():
        accuracy = (model(tokens, lengths=lengths).argmax(1) == labels).float().mean().item()
        reading_padding = (model(tokens).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.9, f"{name}: accuracy {accuracy:.3f}"
    assert reading_padding < 0.85  # the decoys in the padding do fool it when it is not told the lengths


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_padding_changes_nothing_given_lengths(name):
    torch.manual_seed(1)
    model = _small(name).eval()
    tokens = torch.randint(1, VOCAB, (4, 9))
    lengths = torch.tensor([9, 2, 5, 7])
    batched = model(tokens, lengths=lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(batched[i:i + 1], model(tokens[i:i + 1, :n]))
    assert not torch.allclose(batched, model(tokens))


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_built_at_once_and_sized_from_arguments(name):
    model = _small(name, num_classes=5)
    assert not needs_build(model)
    assert model(torch.randint(0, VOCAB, (3, 2))).shape == (3, 5)  # shorter than textcnn's widest kernel: padded


def test_textcnn_follows_kim_2014():
    model = tj.models.create("textcnn", vocab_size=1000)
    assert [conv.kernel_size[0] for conv in model.convs] == [3, 4, 5]
    assert all(conv.out_channels == 100 for conv in model.convs)
    assert model.dropout.rate == 0.5 and model.classifier.in_features == 300
    bilstm = tj.models.create("bilstm_classifier", vocab_size=1000, hidden=64)
    assert bilstm.recurrent.bidirectional and bilstm.classifier.in_features == 128


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_wrong_inputs_name_the_model(name):
    model = _small(name)
    with pytest.raises(ShapeError, match=f"'{name}'.*\\(batch, seq\\).*\\(2, 5, 16\\)"):
        model(torch.randn(2, 5, 16))
    with pytest.raises(ShapeError, match=r"unsqueeze\(0\)"):
        model(torch.randint(0, VOCAB, (5,)))
    with pytest.raises(ShapeError, match=r"tokens.long\(\)"):
        model(torch.randint(0, VOCAB, (2, 5)).float())
    with pytest.raises(DataError, match=f"'{name}'.*vocab_size=20.*from 0 to 20"):
        model(torch.tensor([[0, 20]]))
    with pytest.raises(ShapeError, match="lengths"):
        model(torch.randint(0, VOCAB, (2, 5)), lengths=torch.tensor([5.0, 2.0]))


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_bad_arguments_are_config_errors(name):
    with pytest.raises(ConfigError, match="vocab_size=len"):
        tj.models.create(name)
    with pytest.raises(ConfigError, match="dropout"):
        tj.models.create(name, vocab_size=10, dropout=1.0)
    with pytest.raises(ConfigError, match="embed_dim"):
        tj.models.create(name, vocab_size=10, embed_dim=0)


def test_all_text_models_are_registered():
    assert set(TEXT_MODELS) <= set(tj.models.list())


def test_docstring_examples():
    result = doctest.testmod(text, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, extraglobs={"torch": torch})
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("pooling", ["max", "mean"])
@pytest.mark.parametrize("name", ["lstm_classifier", "bilstm_classifier", "gru_classifier"])
def test_pooled_readout_ignores_padding_given_lengths(name, pooling):
    torch.manual_seed(2)
    model = _small(name, pooling=pooling).eval()
    tokens = torch.randint(1, VOCAB, (3, 8))
    lengths = torch.tensor([8, 3, 5])
    batched = model(tokens, lengths=lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(batched[i:i + 1], model(tokens[i:i + 1, :n]))
    torch.manual_seed(2)
    last_state = _small(name).eval()  # the same weights, read at the last step
    torch.testing.assert_close(last_state.state_dict(), model.state_dict())
    assert not torch.allclose(batched, last_state(tokens, lengths=lengths))


def test_unknown_pooling_is_refused():
    with pytest.raises(ConfigError, match='"last", "max" or "mean"'):
        _small("lstm_classifier", pooling="attention")
