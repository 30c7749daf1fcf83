"""word2vec, GloVe and WordVectors on tiny synthetic corpora, each piece against a brute-force reference."""

import doctest
import importlib
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch

from tujie.errors import CheckpointError, ConfigError, DataError, TujieError
from tujie.text.glove import GloVe, cooccurrence, train_glove
from tujie.text.vectors import UnknownWordError, WordVectors, load_analogies
from tujie.text.word2vec import (NoiseSampler, Word2Vec, Word2VecTrainer, cbow_contexts, keep_probability,
                                 noise_distribution, reduced_windows, skipgram_pairs, subsample, train_word2vec)


def topic_corpus(sentences=300, length=8, seed=0):
    """Two topics that never share a sentence: words a0..a7 co-occur, and so do b0..b7."""
    rng = np.random.default_rng(seed)
    topics = {"a": [f"a{i}" for i in range(8)], "b": [f"b{i}" for i in range(8)]}
    corpus = []
    for n in range(sentences):
        words = topics["ab"[n % 2]]
        corpus.append([words[k] for k in rng.integers(0, len(words), length)])
    return corpus


def neighbours_share_topic(wv, k=4):
    """Fraction of each word's k nearest neighbours from its own topic (first letter), averaged."""
    return float(np.mean([np.mean([n[0] == w[0] for n, _ in wv.most_similar(w, k)]) for w in wv.vocab]))


# ---------------------------------------------------------------------------- word2vec pieces


def test_keep_probability_matches_word2vec_c_by_hand():
    counts = [100_000, 5_000, 1_000, 10]  # total 106,010; t = sample * total = 106.01
    # by hand: (sqrt(100000 / 106.01) + 1) * 106.01 / 100000 = (30.7133 + 1) * 0.0010601 = 0.033619
    #          (sqrt(5000 / 106.01) + 1) * 106.01 / 5000 = (6.8677 + 1) * 0.021202 = 0.16681
    #          (sqrt(1000 / 106.01) + 1) * 106.01 / 1000 = (3.0713 + 1) * 0.10601 = 0.43160
    #          (sqrt(10 / 106.01) + 1) * 106.01 / 10 = 13.9 -> capped at 1
    expected = [0.033619, 0.16681, 0.43160, 1.0]
    assert keep_probability(counts, 1e-3) == pytest.approx(expected, rel=1e-4)
    # word2vec.c, line for line: ran = (sqrt(cn / (sample * train_words)) + 1) * (sample * train_words) / cn
    t = 1e-3 * sum(counts)
    assert keep_probability(counts, 1e-3)[:3] == pytest.approx([(math.sqrt(c / t) + 1) * t / c for c in counts[:3]])
    assert keep_probability(counts, 0).tolist() == [1.0] * 4  # sample=0 turns subsampling off


def test_subsampling_keeps_the_expected_share_of_each_word():
    corpus = [["the"] * 50 + ["cat", "dog"]] * 200  # "the" is 96% of the corpus
    trainer = Word2VecTrainer(corpus, dim=4, min_count=1, sample=1e-2, epochs=1)
    kept = subsample(trainer.ids, trainer.keep, np.random.default_rng(0))
    shares = np.bincount(trainer.ids[kept], minlength=3) / trainer.counts
    assert shares == pytest.approx(trainer.keep, abs=0.02)
    assert trainer.keep[trainer.words.index("the")] < 0.2 and trainer.keep[trainer.words.index("cat")] == 1.0


def test_noise_distribution_is_count_to_the_three_quarters():
    counts = np.array([1000, 100, 10, 1])
    assert noise_distribution(counts) == pytest.approx(counts ** 0.75 / (counts ** 0.75).sum())
    draws = NoiseSampler(noise_distribution(counts)).sample(np.random.default_rng(0), (400_000,))
    empirical = np.bincount(draws, minlength=4) / len(draws)
    assert empirical == pytest.approx(noise_distribution(counts), abs=0.003)


def test_reduced_windows_are_uniform_in_one_to_window():
    windows = reduced_windows(50_000, 5, np.random.default_rng(0))
    assert windows.min() == 1 and windows.max() == 5
    assert np.bincount(windows)[1:] / len(windows) == pytest.approx([0.2] * 5, abs=0.01)


def brute_force_pairs(ids, sentence_of, windows):
    pairs = []
    for centre in range(len(ids)):
        for other in range(len(ids)):
            if other != centre and abs(other - centre) <= windows[centre] and sentence_of[other] == sentence_of[centre]:
                pairs.append((int(ids[other]), int(ids[centre])))
    return Counter(pairs)


def test_skipgram_pairs_equal_a_brute_force_enumeration():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 6, 40)
    sentence_of = np.sort(rng.integers(0, 5, 40))
    windows = reduced_windows(40, 4, rng)
    contexts, centres = skipgram_pairs(ids, sentence_of, windows)
    assert Counter(zip(contexts.tolist(), centres.tolist())) == brute_force_pairs(ids, sentence_of, windows)


def test_cbow_contexts_equal_a_brute_force_enumeration():
    rng = np.random.default_rng(2)
    ids = rng.integers(1, 9, 30)
    sentence_of = np.sort(rng.integers(0, 4, 30))
    windows = reduced_windows(30, 3, rng)
    contexts, mask, centres = cbow_contexts(ids, sentence_of, windows, window=3)
    got = sorted((int(c), sorted(ctx[m].tolist())) for c, ctx, m in zip(centres, contexts, mask))
    expected = []
    for i in range(30):
        near = [int(ids[j]) for j in range(30)
                if j != i and abs(j - i) <= windows[i] and sentence_of[j] == sentence_of[i]]
        if near:
            expected.append((int(ids[i]), sorted(near)))
    assert got == sorted(expected)
    assert (contexts[~mask] == 0).all()


def test_hand_written_sgd_step_equals_autograd_and_torch_sgd():
    torch.manual_seed(0)
    for cbow in (False, True):
        model = Word2Vec(12, 5)
        with torch.no_grad():
            model.output.weight.normal_()  # the zeros of a fresh model would hide errors
        twin = Word2Vec(12, 5)
        twin.load_state_dict(model.state_dict())
        targets = torch.tensor([1, 2, 3, 3])
        negatives = torch.tensor([[4, 5], [1, 6], [3, 7], [8, 8]])  # row 3 draws its own centre: not a negative
        if cbow:
            inputs = torch.tensor([[2, 4, 0], [5, 5, 9], [1, 0, 0], [10, 11, 2]])
            mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]]).float()
        else:
            inputs, mask = torch.tensor([0, 7, 7, 2]), None
        loss = twin(inputs, targets, negatives, mask)
        loss.backward()
        torch.optim.SGD(twin.parameters(), lr=0.1).step()
        hand_loss = model.sgd_step(inputs, targets, negatives, 0.1, mask)
        assert hand_loss.item() == pytest.approx(loss.item(), rel=1e-5)
        for name, param in model.named_parameters():
            assert torch.allclose(param, dict(twin.named_parameters())[name], atol=1e-6), (cbow, name)


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_word2vec_loss_decreases_and_neighbours_share_a_topic(mode):
    history = []
    wv = train_word2vec(topic_corpus(), mode=mode, dim=16, window=3, min_count=1, sample=0, epochs=4,
                        batch_size=256, seed=0, progress=history.append)
    losses = [r["loss"] for r in history]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.8 * losses[0], losses
    assert neighbours_share_topic(wv) >= 0.95
    assert wv.meta["settings"]["mode"] == mode and wv.meta["words_per_s"] > 0
    assert wv.meta["settings"]["lr"] == {"skipgram": 0.025, "cbow": 0.05}[mode]  # word2vec.c's defaults


def test_sparse_adam_trains_too():
    wv = train_word2vec(topic_corpus(), dim=16, window=3, min_count=1, sample=0, epochs=4, lr=0.01,
                        optimizer="sparse_adam", seed=0)
    assert neighbours_share_topic(wv) >= 0.95


def test_one_worker_is_reproducible_and_two_workers_run():
    corpus = topic_corpus(sentences=100)
    first = train_word2vec(corpus, dim=8, min_count=1, epochs=2, seed=3, workers=1)
    second = train_word2vec(corpus, dim=8, min_count=1, epochs=2, seed=3, workers=1)
    assert torch.equal(first.vectors, second.vectors)
    two = train_word2vec(corpus, dim=8, min_count=1, epochs=2, seed=3, workers=2)
    assert two.vectors.shape == first.vectors.shape and torch.isfinite(two.vectors).all()


def test_word2vec_refuses_bad_input():
    with pytest.raises(DataError, match="min_count=5"):
        train_word2vec([], dim=4)
    with pytest.raises(DataError, match="min_count=5"):
        train_word2vec([["rare", "words"]], dim=4)
    with pytest.raises(DataError, match="split"):
        train_word2vec(["a sentence that was not split"], dim=4, min_count=1)
    with pytest.raises(ConfigError, match="mode"):
        train_word2vec([["a", "b"]], mode="sg", min_count=1)
    with pytest.raises(ConfigError, match="window"):
        train_word2vec([["a", "b"]], window=0, min_count=1)


# ---------------------------------------------------------------------------- GloVe


def brute_force_cooccurrence(sentences, vocab, window, weighting):
    index = {w: i for i, w in enumerate(vocab)}
    counts = Counter()
    for sentence in sentences:
        ids = [index[w] for w in sentence if w in index]  # unknown words are removed before distances count
        for a, b in itertools.combinations(range(len(ids)), 2):
            if b - a <= window:
                weight = 1.0 / (b - a) if weighting else 1.0
                counts[ids[a], ids[b]] += weight
                counts[ids[b], ids[a]] += weight
    return counts


@pytest.mark.parametrize("weighting", [True, False])
def test_cooccurrence_equals_a_brute_force_count(weighting):
    rng = np.random.default_rng(0)
    words = ["a", "b", "c", "d", "e", "oov"]
    sentences = [[words[k] for k in rng.integers(0, 6, rng.integers(1, 12))] for _ in range(30)]
    vocab = ["a", "b", "c", "d", "e"]
    i, j, x = cooccurrence(sentences, vocab, window=3, distance_weighting=weighting)
    got = {(int(r), int(c)): float(v) for r, c, v in zip(i, j, x)}
    expected = brute_force_cooccurrence(sentences, vocab, 3, weighting)
    assert got.keys() == {k for k, v in expected.items() if v > 0}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)


def test_glove_hand_written_adagrad_step_follows_the_loss_gradient():
    torch.manual_seed(0)
    model = GloVe(6, 4)
    rows, cols, counts = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.tensor([2.0, 50.0, 300.0])
    twin = GloVe(6, 4)
    twin.load_state_dict(model.state_dict())
    twin(rows, cols, counts).backward()
    model.adagrad_step(rows, cols, counts, lr=0.05)
    # the accumulators start at 1, so the first step is plain SGD: parameter - lr * gradient
    for name, param in twin.named_parameters():
        assert torch.allclose(getattr(model, name), param.detach() - 0.05 * param.grad, atol=1e-7), name
        assert torch.allclose(getattr(model, f"{name}_sq"), 1 + (0.05 * param.grad) ** 2, atol=1e-7), name


def test_glove_weighting_function():
    model = GloVe(2, 2, x_max=100, alpha=0.75)
    assert model.weight(torch.tensor([1.0, 100.0, 500.0])).tolist() == pytest.approx([0.01 ** 0.75, 1.0, 1.0])


def test_glove_cost_decreases_and_neighbours_share_a_topic():
    history = []
    wv = train_glove(topic_corpus(), dim=16, window=3, min_count=1, epochs=30, x_max=10, batch_size=16, seed=0,
                     progress=history.append)
    costs = [r["loss"] for r in history]
    assert costs[-1] < 0.5 * costs[0], costs
    assert neighbours_share_topic(wv) >= 0.95


def test_glove_refuses_bad_input():
    with pytest.raises(DataError, match="co-occurring"):
        train_glove([["alone"]], min_count=1)
    with pytest.raises(ConfigError, match="x_max"):
        train_glove([["a", "b"]], x_max=0, min_count=1)


# ---------------------------------------------------------------------------- WordVectors


def hand_built_vectors():
    # axes: "a person", royalty, femaleness, plural, fruit
    words = ["man", "woman", "king", "queen", "boy", "girl", "kings", "queens", "apple"]
    table = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0],
                          [1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.1, 0.0, 0.3], [1.0, 0.0, 0.9, 0.0, 0.3],
                          [1.0, 1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.2, 1.0]])
    return WordVectors(words, table)


def test_analogy_is_3cosadd_with_inputs_excluded():
    wv = hand_built_vectors()
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert wv.analogy("king", "kings", "queen")[0][0] == "queens"
    assert all(w not in ("man", "king", "woman") for w, _ in wv.analogy("man", "king", "woman", k=5))
    result = wv.evaluate_analogies([("family", "Man", "King", "Woman", "Queen"),  # lower-cased by default
                                    ("family", "man", "woman", "king", "queen"),
                                    ("plural", "king", "kings", "queen", "queens"),
                                    ("plural", "apple", "apples", "king", "kings")])  # "apples" is unknown
    assert (result["correct"], result["covered"], result["total"]) == (3, 3, 4)
    assert result["accuracy"] == 1.0 and result["coverage"] == 0.75
    assert result["by_section"]["plural"] == {"accuracy": 1.0, "correct": 1, "covered": 1, "total": 2}


def test_bundled_analogy_set_loads_with_its_14_sections():
    questions = load_analogies()
    assert len(questions) == 19544
    assert len({q[0] for q in questions}) == 14
    assert ("family", "boy", "girl", "brother", "sister") in questions


def test_most_similar_and_similarity():
    wv = hand_built_vectors()
    assert wv.most_similar("boy", k=1)[0][0] == "man"
    assert [w for w, _ in wv.most_similar("king", k=2)] in (["kings", "queen"], ["queen", "kings"])  # a tie
    assert wv.similarity("king", "king") == pytest.approx(1.0)
    neighbours = wv.most_similar(wv["queen"], k=1)  # a vector: the word itself is not excluded
    assert neighbours[0][0] == "queen"
    result = wv.evaluate_similarity([("king", "queen", 9.0), ("king", "man", 6.0), ("king", "apple", 0.5)])
    assert result["spearman"] == pytest.approx(1.0) and result["coverage"] == 1.0


def test_unknown_word_is_a_clear_key_error_with_suggestions():
    wv = hand_built_vectors()
    with pytest.raises(UnknownWordError) as caught:
        wv.most_similar("quen")
    message = str(caught.value)
    assert "'quen'" in message and "Did you mean 'queen'" in message
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, TujieError)
    with pytest.raises(KeyError, match="unicorn"):
        wv.analogy("man", "king", "unicorn")


def test_word_vectors_refuse_mismatched_shapes_and_duplicates():
    with pytest.raises(ConfigError, match="one row per word"):
        WordVectors(["a", "b"], torch.zeros(3, 2))
    with pytest.raises(ConfigError, match="twice"):
        WordVectors(["a", "a"], torch.zeros(2, 2))


def test_save_load_round_trip(tmp_path):
    wv = WordVectors(["a", "b", "c"], torch.randn(3, 5), counts=[9, 4, 1], meta={"settings": {"dim": 5}})
    folder = wv.save(tmp_path / "vectors")
    assert sorted(p.name for p in folder.iterdir()) == ["vectors.safetensors", "vocab.json"]
    back = WordVectors.load(folder)
    assert back.vocab == wv.vocab and torch.equal(back.vectors, wv.vectors)
    assert back.counts.tolist() == [9, 4, 1] and back.meta == {"settings": {"dim": 5}}
    assert WordVectors.load(folder / "vectors.safetensors").vocab == wv.vocab  # the file names its folder
    legacy = wv.save(tmp_path / "run" / "vectors.safetensors")  # tujie 0.1.0's embeddings runs: one folder down
    assert WordVectors.load(legacy.parent).vocab == wv.vocab
    (folder / "vectors.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="damaged"):
        WordVectors.load(folder)


class FakeTokenizer:
    """The tokenizer interface to_embedding relies on: vocab_size and id_to_token(i)."""

    tokens = ["<pad>", "<unk>", "<bos>", "<eos>", "the", "Film", "zzz"]
    vocab_size = len(tokens)

    def id_to_token(self, i):
        return self.tokens[i]


def test_to_embedding_copies_rows_and_freezes():
    wv = WordVectors(["the", "film", "plot"], torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    layer = wv.to_embedding(FakeTokenizer())
    assert layer.weight.shape == (7, 2) and not layer.weight.requires_grad
    assert layer.weight[4].tolist() == [1.0, 2.0] and layer.weight[5].tolist() == [3.0, 4.0]  # "Film" -> "film"
    assert layer.weight[0].tolist() == [0.0, 0.0] and layer.padding_idx == 0
    assert layer.coverage == pytest.approx(2 / 3) and layer.missing == ["zzz"]
    out = layer(torch.tensor([[4, 5, 0]]))  # (batch, seq, dim)
    assert out.shape == (1, 3, 2) and out[0, 0].tolist() == [1.0, 2.0]
    trainable = wv.to_embedding({"<pad>": 0, "plot": 1}, freeze=False)
    assert trainable.weight.requires_grad and trainable.weight[1].tolist() == [5.0, 6.0]
    with pytest.raises(ConfigError, match="tokenizer"):
        wv.to_embedding(42)


def test_to_embedding_with_the_real_word_tokenizer():
    tokenizers = pytest.importorskip("tujie.text.tokenizers")
    tok = tokenizers.WordTokenizer().train(["The film was good", "the plot was bad"])
    wv = train_word2vec([tok.split("The film was good"), tok.split("the plot was bad")] * 20, dim=4, min_count=1,
                        epochs=1)
    layer = wv.to_embedding(tok)
    assert layer.coverage == 1.0 and layer.input_dim == tok.vocab_size
    assert torch.equal(layer.weight[tok.token_to_id("film")], wv["film"])


def test_projection_and_plot():
    wv = train_word2vec(topic_corpus(), dim=16, window=3, min_count=1, sample=0, epochs=3, seed=0)
    words = [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)]
    xy = wv.project_2d(words)
    assert xy.shape == (8, 2)
    # the first principal component separates the topics
    assert (np.sign(xy[:4, 0]) == np.sign(xy[0, 0])).all() and (np.sign(xy[4:, 0]) == -np.sign(xy[0, 0])).all()
    assert wv.project_2d(words, method="tsne").shape == (8, 2)
    png = wv.plot({"topic a": words[:4], "topic b": words[4:]}, method="pca")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="method"):
        wv.project_2d(words, method="umap")


@pytest.mark.parametrize("name", ["tujie.text.vectors", "tujie.text.word2vec", "tujie.text.glove"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "np": np})
    assert result.failed == 0 and result.attempted > 0
