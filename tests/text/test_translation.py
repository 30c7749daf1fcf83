"""Translation: teacher forcing through the models' train_step, beam search, the Translator, BLEU, corpora.

A tiny synthetic language pair (eight words w0..w7 whose translations v0..v7 come in reverse
order) stands in for a real one: a small GRU with Bahdanau attention learns it in seconds.
"""

import doctest
import gzip
import importlib
import itertools
import json
import math
import random
import warnings

import pytest
import torch
from torch import nn

import tujie as tj
from tujie.errors import CheckpointError, ChecksumError, ConfigError, DataError, ShapeError
from tujie.models.seq2seq import split_seq2seq_batch
from tujie.text import BOS_ID, EOS_ID, PAD_ID, WordTokenizer, pad_sequences
from tujie.train.checkpoint import save_weights
from tujie.text.parallel import ENG_PREFIXES, load_multi30k, load_tatoeba, split_pairs, tutorial_normalize
from tujie.text.translation import (Translator, attention_heatmap, beam_decode, beam_search, bleu, detokenize, encode_pairs,
                                    gnmt_length_penalty, load_translator, save_translator, sequence_log_prob)


def _reverse_pairs(n: int, seed: int, shortest: int = 2, longest: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        words = [rng.randrange(8) for _ in range(rng.randint(shortest, longest))]
        pairs.append((" ".join(f"w{i}" for i in words), " ".join(f"v{i}" for i in reversed(words))))
    return pairs


def _tensors(pairs, src_tok, tgt_tok, max_len=12):
    sources, targets = encode_pairs(pairs, src_tok, tgt_tok, max_len=max_len)
    return pad_sequences(sources)[0], pad_sequences(targets)[0]  # (N, S), (N, T)


@pytest.fixture(scope="module")
def trained():
    """A GRU + Bahdanau translator trained on the reversal task (about 3 s), and its test pairs."""
    train, test = _reverse_pairs(800, seed=0), _reverse_pairs(100, seed=1)
    src_tok = WordTokenizer().train([s for s, _ in train])
    tgt_tok = WordTokenizer().train([t for _, t in train])
    torch.manual_seed(0)
    model = tj.models.create("seq2seq_gru_attention", src_vocab_size=src_tok.vocab_size, tgt_vocab_size=tgt_tok.vocab_size,
                             embed_dim=32, hidden_size=64)
    learner = tj.Learner(model, optimizer="adam", lr=1e-2, clip_grad_norm=1.0, device="cpu")
    history = learner.fit(_tensors(train, src_tok, tgt_tok), epochs=8, batch_size=64, verbose=0)
    translator = Translator(model, src_tok, tgt_tok, src_lang="fr", tgt_lang="en", max_len=12)
    return {"translator": translator, "test": test, "history": history, "learner": learner, "train": train}


def _small(name, **kwargs):
    torch.manual_seed(0)
    if name == "transformer_seq2seq":
        # untied: an untrained tied decoder mostly repeats its input (bos), which leaves nothing to search
        sizes = {"d_model": 32, "num_heads": 4, "num_encoder_layers": 1, "num_decoder_layers": 2, "dim_feedforward": 64,
                 "dropout": 0.0, "tie_output": False}
    else:
        sizes = {"embed_dim": 16, "hidden_size": 32}
    return tj.models.create(name, src_vocab_size=20, tgt_vocab_size=12, **sizes, **kwargs).eval()


MODELS = [("seq2seq_gru", {}), ("seq2seq_gru", {"attention": "bahdanau"}), ("seq2seq_lstm", {"attention": "luong"}),
          ("transformer_seq2seq", {})]
MODEL_IDS = ["gru", "gru-bahdanau", "lstm-luong", "transformer"]


def _sources(batch=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 20, (batch, 7), generator=g)
    src[1, 4:] = PAD_ID  # a shorter sentence
    src[1, 3] = src[0, 6] = EOS_ID
    return src


# --- training: teacher forcing through the model's own train_step --------------------------------

def test_a_small_gru_with_attention_learns_the_synthetic_pair(trained):
    losses = [e["loss"] for e in trained["history"].epochs]
    assert losses[-1] < 0.5 * losses[0] and trained["history"].epochs[-1]["token_accuracy"] > 0.8
    report = bleu(trained["translator"], trained["test"], beam=1)
    assert report["bleu"] > 50, report["samples"][:3]
    assert "tok:13a" in report["signature"] and report["count"] == 100
    assert [b["bucket"] for b in report["by_length"]] == ["1-5", "6-10"]
    assert sum(b["count"] for b in report["by_length"]) == 100
    assert set(report["samples"][0]) == {"source", "reference", "translation"}
    evaluation = trained["learner"].evaluate(_tensors(trained["test"], trained["translator"].src_tokenizer,
                                                      trained["translator"].tgt_tokenizer), verbose=0)
    assert evaluation["token_accuracy"] > 0.8 and evaluation["loss"] < losses[0]


def test_bleu_of_a_lower_casing_tokenizer_ignores_case_and_hypotheses_are_detokenised(trained):
    translator = trained["translator"]  # its WordTokenizer lower-cases: it can never write "V3"
    assert translator.tgt_tokenizer.lower
    capitalised = [(s, t.capitalize() + ".") for s, t in trained["test"]]  # "V3 v2 v1." as a cased corpus would have it
    plain = bleu(translator, [(s, t + " .") for s, t in trained["test"]], beam=1)
    cased = bleu(translator, capitalised, beam=1)
    assert "case:lc" in cased["signature"] and cased["bleu"] == pytest.approx(plain["bleu"])
    assert cased["bleu"] > 50
    assert detokenize("a man , smiling ( twice ) .") == "a man, smiling (twice)."
    assert detokenize("l' homme qu' il voit") == "l'homme qu'il voit"


@pytest.mark.parametrize("name,kwargs", MODELS, ids=MODEL_IDS)
def test_train_step_lowers_the_loss_and_eval_step_changes_nothing(name, kwargs):
    model = _small(name, **kwargs).train()
    src = _sources(8)
    tgt = torch.cat([torch.full((8, 1), BOS_ID), torch.randint(4, 12, (8, 5)), torch.full((8, 1), EOS_ID)], dim=1)
    tgt[2, 3:] = PAD_ID
    tgt[2, 3] = EOS_ID
    learner = tj.Learner(model, optimizer="adam", lr=1e-2, device="cpu", label_smoothing=0.1)
    learner._setup((src, tgt))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = model.eval_step((src, tgt), learner)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    logs = [model.train_step((src, tgt), learner) for _ in range(15)]
    assert set(logs[0]) >= {"loss", "token_accuracy"}
    assert float(logs[-1]["loss"]) < 0.7 * float(first["loss"])
    assert float(model.eval_step((src, tgt), learner)["token_accuracy"]) > float(first["token_accuracy"])


def test_teacher_forcing_loss_ignores_padding_and_trailing_pad_columns():
    model = _small("seq2seq_gru", attention="luong")
    src, tgt = _sources(3), torch.tensor([[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID, PAD_ID], [BOS_ID, 8, 9, EOS_ID]])
    more_padding = (torch.cat([src, torch.zeros(3, 4, dtype=torch.long)], 1), torch.cat([tgt, torch.zeros(3, 3, dtype=torch.long)], 1))
    torch.testing.assert_close(model.eval_step(more_padding)["loss"], model.eval_step((src, tgt))["loss"])
    s, tgt_in, tgt_out = split_seq2seq_batch(more_padding, PAD_ID, "m")
    assert s.shape == src.shape and tgt_in.tolist() == tgt[:, :-1].tolist() and tgt_out.tolist() == tgt[:, 1:].tolist()
    with pytest.raises(ShapeError, match="bos, the tokens, eos"):
        model.eval_step((src, torch.full((3, 1), BOS_ID)))
    with pytest.raises(ConfigError, match="optimizer"):
        model.train_step((src, tgt), tj.Learner(model, optimizer=None, device="cpu"))


def test_scheduled_sampling_reads_the_model_s_own_tokens():
    model = _small("seq2seq_gru", attention="bahdanau", teacher_forcing_ratio=0.0).train()
    src, tgt_in = _sources(4), torch.randint(4, 12, (4, 6))
    tgt_in[:, 0] = BOS_ID
    free_running = model.training_logits(src, tgt_in)  # every step after the first reads the model's own argmax
    own = torch.cat([tgt_in[:, :1], free_running[:, :-1].argmax(-1)], dim=1)
    torch.testing.assert_close(free_running, model(src, own), atol=1e-5, rtol=1e-5)
    model.eval()  # evaluation is always teacher-forced
    torch.testing.assert_close(model.training_logits(src, tgt_in), model(src, tgt_in))
    with pytest.raises(ConfigError, match="teacher_forcing_ratio"):
        tj.models.create("seq2seq_gru", teacher_forcing_ratio=1.5)


# --- search -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs", MODELS, ids=MODEL_IDS)
@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
def test_beam_one_is_greedy_search(name, kwargs, length_penalty):
    model = _small(name, **kwargs)
    src = _sources()
    greedy = model.generate(src, max_len=8, bos_id=BOS_ID, eos_id=EOS_ID)  # (batch, n)
    found = beam_search(model, src, beam=1, max_len=8, length_penalty=length_penalty)
    assert found.ids.tolist() == greedy.tolist()


def test_beam_one_is_greedy_on_the_trained_model(trained):
    translator = trained["translator"]
    src = _tensors(trained["test"][:30], translator.src_tokenizer, translator.tgt_tokenizer)[0]
    greedy = translator.model.generate(src, max_len=12, bos_id=BOS_ID, eos_id=EOS_ID)
    assert beam_search(translator.model, src, beam=1, max_len=12).ids.tolist() == greedy.tolist()


@pytest.mark.parametrize("name,kwargs", MODELS, ids=MODEL_IDS)
def test_beam_search_scores_at_least_greedy_and_scores_are_model_log_probs(name, kwargs):
    model = _small(name, **kwargs)
    src = _sources(12, seed=3)
    greedy = beam_search(model, src, beam=1, max_len=8, length_penalty=0.0)
    wide = beam_search(model, src, beam=5, max_len=8, length_penalty=0.0)
    torch.testing.assert_close(sequence_log_prob(model, src, wide.ids), wide.scores, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(sequence_log_prob(model, src, greedy.ids), greedy.scores, atol=1e-4, rtol=1e-4)
    assert (wide.scores >= greedy.scores - 1e-5).all()
    assert (wide.scores > greedy.scores + 1e-3).any()  # on an untrained model, the wider search finds better outputs


def _markov_step(table):
    return lambda prefix, parents: (table[prefix[:, -1]], None)


def test_a_beam_as_wide_as_the_search_space_finds_the_best_output():
    torch.manual_seed(0)
    vocab, eos, max_len = 4, 3, 3
    tables = torch.randn(vocab, vocab, vocab).log_softmax(-1)  # p(next | position, last token)

    def step(prefix, parents):
        return tables[prefix.shape[1] - 1][prefix[:, -1]], None

    def score(seq):
        ids = [0, *seq]
        return sum(float(tables[t][ids[t], ids[t + 1]]) for t in range(len(seq)))

    outputs = [seq for n in range(1, max_len + 1) for seq in itertools.product(range(vocab), repeat=n)
               if (eos not in seq[:-1]) and (seq[-1] == eos or n == max_len)]
    for alpha in (0.0, 1.0):
        best = max(outputs, key=lambda seq: score(seq) / gnmt_length_penalty(len(seq), alpha))
        found = beam_decode(step, 1, beam=vocab ** max_len, max_len=max_len, bos_id=0, eos_id=eos, length_penalty=alpha)
        assert found.ids[0, :found.lengths[0]].tolist() == list(best)
        assert math.isclose(float(found.scores[0]), score(best) / gnmt_length_penalty(len(best), alpha), rel_tol=1e-5)


def test_length_penalty_favours_longer_translations():
    # after bos (0): eos (5) at once with p .6, or 1 2 3 4 eos with p .4
    probs = torch.zeros(6, 6)
    probs[0, 5], probs[0, 1], probs[1, 2], probs[2, 3], probs[3, 4], probs[4, 5], probs[5, 5] = .6, .4, 1, 1, 1, 1, 1
    step = _markov_step(probs.log())
    short = beam_decode(step, 1, beam=2, max_len=8, bos_id=0, eos_id=5, length_penalty=0.0)
    long = beam_decode(step, 1, beam=2, max_len=8, bos_id=0, eos_id=5, length_penalty=2.0)
    assert short.ids[0].tolist() == [5] and long.ids[0].tolist() == [1, 2, 3, 4, 5]
    assert math.isclose(float(long.scores[0]), math.log(0.4) / gnmt_length_penalty(5, 2.0), rel_tol=1e-5)


def test_max_len_stops_unfinished_hypotheses_and_rows_are_padded_after_eos():
    # token 1 mostly repeats itself and ends (eos = 4) with p 1e-6; token 3 ends at once
    probs = torch.tensor([.02, .96, .02, 1e-6, 1e-6]).repeat(5, 1)
    probs[3] = torch.tensor([1e-6, 1e-6, 1e-6, 1e-6, 1.0])
    starts = torch.tensor([1, 3])  # sentence 0 reads row 1 first, sentence 1 row 3

    def step(prefix, parents):
        last = starts[torch.arange(len(prefix)) // 3] if prefix.shape[1] == 1 else prefix[:, -1]
        return probs[last].log(), None

    found = beam_decode(step, 2, beam=3, max_len=4, bos_id=0, eos_id=4, pad_id=0, length_penalty=0.6)
    assert found.ids.tolist() == [[1, 1, 1, 1], [4, 0, 0, 0]] and found.lengths.tolist() == [4, 1]
    with pytest.raises(ConfigError, match="beam"):
        beam_search(_small("seq2seq_gru"), _sources(), beam=0)
    with pytest.raises(ConfigError, match="length_penalty"):
        beam_search(_small("seq2seq_gru"), _sources(), length_penalty=-1)


# --- the Translator -----------------------------------------------------------------------------

def test_translate_one_or_many_greedy_and_beam(trained):
    translator = trained["translator"]
    assert translator.translate("w1 w2 w3") == "v3 v2 v1"
    sources = [s for s, _ in trained["test"][:5]] + ["   "]
    batch = translator.translate(sources, beam=3, batch_size=2)
    assert len(batch) == 6 and batch[-1] == "" and batch[:5] == [translator.translate(s, beam=3) for s in sources[:5]]
    with pytest.raises(DataError, match="not text"):
        translator.translate(["w1", 5])


def test_wrong_language_direction_is_refused(trained):
    translator = trained["translator"]
    with pytest.raises(ConfigError, match=r"translates fr→en \(French to English\); it cannot translate from English.*"
                                          r"Pass French text, or load a translator trained en→fr"):
        translator.translate("i am cold", source_lang="en")
    with pytest.raises(ConfigError, match="into German.*trained fr→de"):
        translator.translate("w1 w2", target_lang="German")
    assert translator.translate("w1 w2", source_lang="French", target_lang="eng") == "v2 v1"


def test_text_in_another_language_warns_about_unknown_words(trained):
    translator = trained["translator"]
    with pytest.warns(UserWarning, match=r"100% of the input's tokens \(3 of 3\) are unknown .*is this French\?"):
        translator.translate("i am cold")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        translator.translate("w1 w2 zz")  # one unknown word in three: no warning


def test_overlong_input_is_truncated_with_a_warning(trained):
    translator = trained["translator"]
    long = " ".join(f"w{i % 8}" for i in range(20))
    with pytest.warns(UserWarning, match=r"more than max_len=12 source tokens \(the longest: 21.*first 11 tokens"):
        out = translator.translate(long, return_attention=True)
    assert len(out.source_tokens) == 12 and out.source_tokens[-1] == "<eos>"


def test_attention_rows_sum_to_one_with_shape_target_by_source(trained):
    out = trained["translator"].translate("w1 w2 w3", return_attention=True, beam=2)
    assert out.text == "v3 v2 v1" and out.source_tokens == ["w1", "w2", "w3", "<eos>"]
    assert out.target_tokens == ["v3", "v2", "v1", "<eos>"]
    assert out.attention.shape == (4, 4)
    torch.testing.assert_close(out.attention.sum(-1), torch.ones(4))
    png = attention_heatmap(out.source_tokens, out.target_tokens, out.attention, title="w1 w2 w3")
    assert png[:4] == b"\x89PNG"
    with pytest.raises(DataError, match="do not match the tokens"):
        attention_heatmap(out.source_tokens[:2], out.target_tokens, out.attention)


@pytest.mark.parametrize("name,kwargs", MODELS, ids=MODEL_IDS)
def test_attention_of_every_model_kind(name, kwargs):
    model, src = _small(name, **kwargs), _sources()
    found = beam_search(model, src, beam=3, max_len=6, return_attention=True)
    if kwargs.get("attention") is None and name != "transformer_seq2seq":
        assert found.attention is None
        return
    for row, weights in enumerate(found.attention):
        assert weights.shape == (int(found.lengths[row]), src.shape[1])
        torch.testing.assert_close(weights.sum(-1), torch.ones(len(weights)))
    assert (found.attention[1][:, 4:] == 0).all()  # the padding of the shorter sentence gets no attention


# --- saving and loading -------------------------------------------------------------------------

def test_save_and_load_a_translator(trained, tmp_path):
    translator = trained["translator"]
    save_translator(translator, tmp_path)
    assert {"translator.json", "src_tokenizer.json", "tgt_tokenizer.json", "best.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    spec = json.loads((tmp_path / "translator.json").read_text())
    assert spec["model"]["name"] == "seq2seq_gru_attention" and spec["src_lang"] == "fr" and spec["max_len"] == 12
    loaded = load_translator(tmp_path)
    sources = [s for s, _ in trained["test"][:10]]
    assert loaded.translate(sources, beam=3) == translator.translate(sources, beam=3)
    assert loaded.direction == "fr→en" and not loaded.model.training

    (tmp_path / "tgt_tokenizer.json").unlink()
    with pytest.raises(DataError, match=r"no target tokenizer: `tgt_tokenizer.json` is missing.*save_translator"):
        load_translator(tmp_path)
    with pytest.raises(DataError, match="translator.json` is missing"):
        load_translator(tmp_path / "elsewhere")


def test_save_keeps_the_run_s_best_weights_and_refuses_foreign_ones(trained, tmp_path):
    translator = trained["translator"]
    other = _small("seq2seq_gru")  # a different model's weights in the run's best.safetensors
    save_weights(tmp_path / "best.safetensors", other)
    save_translator(translator, tmp_path)  # weights=None: the existing best.safetensors is kept
    with pytest.raises(CheckpointError, match="does not fit"):
        load_translator(tmp_path)
    save_translator(translator, tmp_path, weights=True)
    assert load_translator(tmp_path).translate("w4 w5") == translator.translate("w4 w5")


class CharTokenizer:
    """A stand-in tokenizer of another module, with its own `load`: the translator keeps its class."""

    def __init__(self, chars=""):
        self.chars = chars

    def train(self, texts):
        self.chars = "".join(sorted({c for t in texts for c in t}))
        return self

    @property
    def vocab_size(self):
        return 4 + len(self.chars)

    def encode(self, text, add_bos=False, add_eos=False, max_len=None):
        from tujie.text import UNK_ID

        ids = [4 + self.chars.index(c) if c in self.chars else UNK_ID for c in text]
        return [BOS_ID] * add_bos + ids + [EOS_ID] * add_eos

    def decode(self, ids, skip_special=True):
        return "".join(self.chars[i - 4] if i >= 4 else ("" if skip_special else "<%d>" % i) for i in ids)

    def save(self, path):
        path.write_text(json.dumps({"chars": self.chars}))

    @classmethod
    def load(cls, path):
        return cls(json.loads(path.read_text())["chars"])


def test_a_tokenizer_of_another_kind_round_trips(tmp_path):
    src_tok, tgt_tok = CharTokenizer().train(["abc"]), CharTokenizer().train(["xyz"])
    torch.manual_seed(0)
    model = tj.models.create("transformer_seq2seq", src_vocab_size=src_tok.vocab_size, tgt_vocab_size=tgt_tok.vocab_size,
                             d_model=16, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32, max_len=20)
    translator = Translator(model, src_tok, tgt_tok, src_lang="xx", tgt_lang="yy", max_len=8)
    save_translator(translator, tmp_path)
    loaded = load_translator(tmp_path)
    assert type(loaded.src_tokenizer).__name__ == "CharTokenizer" and loaded.src_tokenizer.chars == "abc"
    assert loaded.translate("cab", beam=2) == translator.translate("cab", beam=2)
    with pytest.raises(ConfigError, match="max_len <= 20"):
        translator.translate("cab", max_len=30)
    with pytest.raises(ConfigError, match="source tokenizer has more ids"):
        Translator(model, CharTokenizer().train(["abcdefghij"]), tgt_tok, src_lang="xx", tgt_lang="yy")


# --- corpora ------------------------------------------------------------------------------------

TATOEBA_LINES = [
    "Go.\tVa !",                                   # no kept prefix
    "I'm cold.\tJ'ai froid.",                      # "i m cold ." kept
    "He is a teacher.\tIl est professeur.",        # kept
    "",                                            # empty: skipped and counted
    "She's very happy, isn't she?\tElle est très heureuse, n'est-ce pas ?",  # kept (accents stripped)
    "You are the one I have been waiting for all along.\tC'est toi que j'attends depuis toujours.",  # 11 English tokens
    "We're late.\tNous sommes en retard.",         # kept
    "They are here.\tIls sont ici.",               # kept
    "They are here.\tIls sont ici.",               # exact duplicate: dropped
    "I am 25 years old.\tJ'ai 25 ans.",            # digits dropped: "i am years old ." kept
]


def _write_tatoeba(root, lines=TATOEBA_LINES):
    folder = root / "translation" / "tatoeba-fra-eng"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fra.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_tatoeba_normalises_and_filters_as_the_tutorial(tmp_path):
    _write_tatoeba(tmp_path)
    corpus = load_tatoeba(tmp_path, split=(0.6, 0.2, 0.2), verify=False)
    pairs = corpus.train + corpus.val + corpus.test
    assert sorted(pairs) == sorted([("j ai froid .", "i m cold ."), ("il est professeur .", "he is a teacher ."),
                                    ("elle est tres heureuse n est ce pas ?", "she s very happy isn t she ?"),
                                    ("nous sommes en retard .", "we re late ."), ("ils sont ici .", "they are here ."),
                                    ("j ai ans .", "i am years old .")])
    assert (corpus.src_lang, corpus.tgt_lang, corpus.direction) == ("fr", "en", "fr-en")
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (4, 1, 1)
    notes = " ".join(corpus.notes)
    assert "9 pairs read, 1 empty lines skipped" in notes and "7 of 9 pairs kept" in notes and "1 exact duplicate" in notes
    assert "fewer than 10 tokens" in notes and '"you re"' in notes
    again = load_tatoeba(tmp_path, split=(0.6, 0.2, 0.2), verify=False)
    assert again.test == corpus.test and load_tatoeba(tmp_path, split=(0.6, 0.2, 0.2), seed=1, verify=False).train != corpus.train

    reverse = load_tatoeba(tmp_path, direction="en-fr", max_words=None, prefixes=None, verify=False)
    assert ("go .", "va !") in reverse.train + reverse.val + reverse.test and reverse.src_lang == "en"
    assert len(reverse.train + reverse.val + reverse.test) == 8
    with pytest.raises(ConfigError, match="direction.*fr-en"):
        load_tatoeba(tmp_path, direction="de-en", verify=False)
    assert tutorial_normalize("Où est-il ?") == "ou est il ?" and "i m " in ENG_PREFIXES


def test_tatoeba_refuses_a_file_of_another_format_and_checks_the_digest(tmp_path):
    _write_tatoeba(tmp_path, ["I'm cold.\tJ'ai froid.", "just one column"])
    with pytest.raises(DataError, match="Line 2 .* not an English<TAB>French pair"):
        load_tatoeba(tmp_path, verify=False)
    with pytest.raises(ChecksumError, match="fra.txt"):
        load_tatoeba(tmp_path)


def _write_multi30k(root, lines: dict):
    folder = root / "translation" / "multi30k"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in lines.items():
        (folder / name).write_bytes(gzip.compress("".join(line + "\n" for line in text).encode("utf-8")))


def test_multi30k_reads_the_official_splits_and_refuses_misaligned_files(tmp_path):
    files = {}
    for stem, n in (("train", 4), ("val", 2), ("test_2016_flickr", 2)):
        files[f"{stem}.de.gz"] = [f"Ein Hund {i}." for i in range(n)]
        files[f"{stem}.en.gz"] = [f"A dog {i}." for i in range(n)]
    files["train.de.gz"][2] = ""  # an empty line: the pair is skipped and counted
    _write_multi30k(tmp_path, files)
    corpus = load_multi30k(tmp_path, verify=False)
    assert corpus.train[0] == ("Ein Hund 0.", "A dog 0.") and len(corpus.train) == 3 and len(corpus.test) == 2
    assert "train 1" in " ".join(corpus.notes) and corpus.direction == "de-en"
    assert load_multi30k(tmp_path, direction="en-de", verify=False).val[1] == ("A dog 1.", "Ein Hund 1.")

    _write_multi30k(tmp_path, {"val.en.gz": ["A dog."]})
    with pytest.raises(DataError, match=r"val files are misaligned: `.*val\.de\.gz` has 2 lines and `.*val\.en\.gz` has 1"):
        load_multi30k(tmp_path, verify=False)
    with pytest.raises(ConfigError, match="direction"):
        load_multi30k(tmp_path, direction="de-es", verify=False)


def test_split_pairs_is_seeded_and_refuses_bad_fractions():
    pairs = [(str(i), str(i)) for i in range(100)]
    a, b = split_pairs(pairs, seed=3), split_pairs(pairs, seed=3)
    assert a == b and [len(s) for s in a] == [90, 5, 5] and sorted(sum(a, [])) == sorted(pairs)
    with pytest.raises(ConfigError, match="split"):
        split_pairs(pairs, (0.9, 0.2, 0.1))


@pytest.mark.data
def test_real_tatoeba_and_multi30k_counts():
    tatoeba = load_tatoeba()
    assert (len(tatoeba.train), len(tatoeba.val), len(tatoeba.test)) == (9749, 542, 542)
    assert "142,787 pairs read" in tatoeba.notes[0] and "10,840 of 142,787 pairs kept" in tatoeba.notes[2]
    assert all(e.startswith(ENG_PREFIXES) for _, e in tatoeba.test)
    multi30k = load_multi30k()
    assert (len(multi30k.train), len(multi30k.val), len(multi30k.test)) == (29000, 1014, 1000)
    assert multi30k.test[0][1].startswith("A man in an orange hat")


# --- docstrings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tujie.text.translation", "tujie.text.parallel"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"torch": torch, "nn": nn})
    assert result.attempted > 0 and result.failed == 0


def test_gru_encoder_fast_path_equals_packing():
    # a one-layer GRU encoder on the CPU runs padded; its outputs and final state must be the packed ones
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    model = tj.models.create("seq2seq_gru_attention", src_vocab_size=50, tgt_vocab_size=40, embed_dim=16, hidden_size=16).eval()
    src = torch.randint(4, 50, (4, 9))
    src[1, 5:], src[2, 1:] = 0, 0
    memory, state, padding = model.encode(src)
    packed = pack_padded_sequence(model.src_embed(src), (src != 0).sum(1), batch_first=True, enforce_sorted=False)
    outputs, final = model.encoder(packed)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=9)
    torch.testing.assert_close(memory, outputs)
    torch.testing.assert_close(state, final)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_incremental_decoding_equals_rerunning_the_whole_prefix(norm_first):
    model = _small("transformer_seq2seq", norm_first=norm_first)
    src = _sources(4)
    prefix = torch.cat([torch.full((4, 1), BOS_ID), torch.randint(4, 12, (4, 6))], dim=1)  # (4, 7)
    prefix[1, 4:] = PAD_ID  # a finished row, padded as greedy search pads it
    with torch.no_grad():
        full_logits, full_attention = model.decode(prefix, *model.encode(src), return_attention=True)  # (4, 7, 12), (4, 7, src)
        cache = model.start_decoding(src)
        for t in range(1, prefix.shape[1] + 1):
            logits, attention, cache = model.decode_step(prefix[:, :t], cache, attention=True)
            torch.testing.assert_close(logits, full_logits[:, t - 1], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(attention, full_attention[:, t - 1], atol=1e-5, rtol=1e-5)
    assert [p.shape for p in cache["past"]] == [(4, 7, 32)] * 2  # each decoder layer's inputs at every position
    rows = torch.tensor([2, 2, 0])
    reordered = model.reorder_cache(cache, rows)
    assert all(torch.equal(p, q[rows]) for p, q in zip(reordered["past"], cache["past"]))
