"""Word and BPE tokenizers: splitting, vocabulary cut-offs, encode/decode, truncation, saving and reloading."""

import json
import warnings

import pytest
import torch

from tujie.errors import ConfigError, DataError, DataNotFoundError
from tujie.text import (BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, BPETokenizer, TruncationWarning, WordTokenizer,
                        build_tokenizer, load_tokenizer)

CORPUS = [
    "The film was great! I loved the acting.<br /><br />Great cast.",
    "The plot was thin, and the film was too long...",
    "A great, great film: 10/10.",
    "I didn't like the ending; the acting was fine.",
    "Le film était très beau. L'homme n'a pas menti.",
    "Der Film war großartig, die Straße überfüllt.",
] * 4


@pytest.fixture(scope="module")
def word():
    return WordTokenizer(min_freq=2).train(CORPUS)


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer(vocab_size=120, min_freq=2).train(CORPUS)


# ---- splitting ----------------------------------------------------------------------------

def test_split_words_numbers_punctuation_and_html():
    tok = WordTokenizer()
    assert tok.split("Great film!<br /><br />10/10, 3.5 stars... Don't miss it") == [
        "great", "film", "!", "10", "/", "10", ",", "3.5", "stars", "...", "don't", "miss", "it"]


def test_split_french_elisions_and_german_letters():
    tok = WordTokenizer()
    assert tok.split("L'homme qu'il a vu aujourd'hui") == ["l'", "homme", "qu'", "il", "a", "vu", "aujourd'hui"]
    assert tok.split("Die Straße über’m Fluß, ÄRGER!") == ["die", "straße", "über'm", "fluß", ",", "ärger", "!"]
    assert tok.split("I'm sure it's fine") == ["i'm", "sure", "it's", "fine"]  # English contractions stay whole


def test_split_options_keep_case_and_html():
    tok = WordTokenizer(lower=False, strip_html=False)
    assert tok.split("Good<br />Bad") == ["Good", "<", "br", "/", ">", "Bad"]
    assert WordTokenizer().split("a < b and c > d") == ["a", "<", "b", "and", "c", ">", "d"]  # not a tag


def test_bpe_sees_the_same_words_as_the_word_tokenizer(bpe):
    text = "L'homme n'a pas dit «non»...<br />Straße: 3.5/10, don't!!! ?!"
    assert bpe.split(text) == WordTokenizer().split(text)


# ---- vocabulary -----------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: WordTokenizer().train(CORPUS), lambda: BPETokenizer(vocab_size=80).train(CORPUS)],
                         ids=["word", "bpe"])
def test_specials_have_ids_0_to_3(make):
    tok = make()
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert [tok.id_to_token(i) for i in range(4)] == list(SPECIALS)
    assert [tok.token_to_id(t) for t in SPECIALS] == [0, 1, 2, 3]
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)


def test_vocabulary_by_descending_frequency_ties_alphabetical():
    tok = WordTokenizer().train(["b a c b", "c b d"])
    assert tok.tokens(range(tok.vocab_size)) == [*SPECIALS, "b", "c", "a", "d"]  # b 3, c 2, then a and d once
    assert tok.counts_[4:] == [3, 2, 1, 1]


def test_min_freq_and_max_size_cut_offs():
    texts = ["a a a b b c", "a b d"]
    assert WordTokenizer(min_freq=2).train(texts).tokens(range(6)) == [*SPECIALS, "a", "b"]
    assert WordTokenizer(min_freq=2).train(texts).vocab_size == 6
    assert WordTokenizer(max_size=5).train(texts).vocab_size == 5  # the cap counts the 4 specials
    capped = WordTokenizer(max_size=5).train(texts)
    assert capped.encode("a b") == [4, UNK_ID]


def test_literal_special_in_text_gets_no_second_id():
    tok = WordTokenizer().train(["<unk> happens", "<pad> too"])
    assert tok.vocab_size == len(set(tok.tokens(range(tok.vocab_size))))


@pytest.mark.parametrize("bad", [dict(min_freq=0), dict(max_size=4), dict(min_freq=1.5), dict(max_size=True)])
def test_invalid_options(bad):
    with pytest.raises(ConfigError, match="Invalid value"):
        WordTokenizer(**bad)


def test_bpe_vocabulary_respects_target_size(bpe):
    assert bpe.vocab_size <= 120


# ---- encode / decode ------------------------------------------------------------------------

def test_encode_known_unknown_and_specials(word):
    ids = word.encode("The film was dreadful", add_bos=True, add_eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and ids[-2] == UNK_ID
    assert word.tokens(ids) == ["<bos>", "the", "film", "was", "<unk>", "<eos>"]
    assert word.decode(ids) == "the film was <unk>"
    assert word.decode(ids, skip_special=False) == "<bos> the film was <unk> <eos>"
    assert word.decode(torch.tensor(ids + [PAD_ID, PAD_ID])) == "the film was <unk>"


def test_unknown_rate(word):
    assert word.unknown_rate(["the film", "the zebra"]) == pytest.approx(1 / 4)
    assert word.unknown_rate(CORPUS[:6]) == 0.0  # every training word occurs 4 times: none is cut
    assert word.unknown_rate([""]) == 0.0


def test_empty_text_encodes_to_nothing(word, bpe):
    for tok in (word, bpe):
        assert tok.encode("") == [] and tok.encode("   <br />  ") == []
        assert tok.encode("", add_bos=True, add_eos=True) == [BOS_ID, EOS_ID]


def test_truncation_keeps_eos_last_and_warns(word):
    text = "the film was great " * 10  # 40 tokens
    with pytest.warns(TruncationWarning, match="42 tokens was truncated to max_len=10"):
        ids = word.encode(text, add_bos=True, add_eos=True, max_len=10)
    assert len(ids) == 10 and ids[0] == BOS_ID and ids[-1] == EOS_ID
    assert ids[1:-1] == word.encode(text)[:8]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # short enough: no warning
        assert len(word.encode("the film", max_len=10)) == 2


def test_encode_batch_warns_once_with_the_count(word):
    texts = ["the film " * 20, "great", "the plot " * 30]
    with pytest.warns(TruncationWarning, match="2 of 3 texts were longer than max_len=5") as record:
        out = word.encode_batch(texts, max_len=5)
    assert len(record) == 1 and [len(ids) for ids in out] == [5, 1, 5]
    assert out == [word.encode(t) for t in ["the film the film the", "great", "the plot the plot the"]]


def test_max_len_too_small_for_the_specials(word):
    with pytest.raises(ConfigError, match="max_len"):
        word.encode("the film", add_bos=True, add_eos=True, max_len=2)


def test_bad_inputs(word):
    with pytest.raises(DataError, match="bytes") as e:
        word.encode(b"caf\xe9")
    assert "decode" in str(e.value)
    with pytest.raises(DataError, match="index 1"):
        word.encode_batch(["fine", None])
    with pytest.raises(DataError, match="range"):
        word.decode([4, 99999])
    with pytest.raises(DataError, match="not a batch"):
        word.decode([[4, 5], [6, 7]])


def test_untrained_tokenizer_says_how_to_fix():
    with pytest.raises(ConfigError, match="before it is trained") as e:
        WordTokenizer().encode("hello")
    assert "train" in e.value.fix and "load_tokenizer" in e.value.fix
    with pytest.raises(ConfigError, match="before it is trained"):
        BPETokenizer().vocab_size


def test_training_on_no_text():
    with pytest.raises(DataError, match="no text"):
        WordTokenizer().train(["", "  "])


def test_bpe_spells_unseen_words_from_pieces_and_decodes_readably(bpe):
    ids = bpe.encode("The acting was greatest")  # "greatest" never occurs in the corpus
    assert UNK_ID not in ids and len(ids) > 4
    assert bpe.decode(ids) == "the acting was greatest"
    assert bpe.decode(bpe.encode("Great film!<br />Loved it.")) == "great film ! loved it ."
    assert bpe.encode("qqq")[0] == UNK_ID  # a character no training text contained
    assert bpe.decode([BOS_ID, *bpe.encode("great zebra"), EOS_ID]).startswith("great ")


def test_bpe_encode_batch_matches_encode(bpe):
    texts = CORPUS[:6]
    assert bpe.encode_batch(texts, add_eos=True) == [bpe.encode(t, add_eos=True) for t in texts]


# ---- saving and reloading -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_save_load_round_trip(kind, tmp_path, word, bpe):
    tok = word if kind == "word" else bpe
    path = tok.save(tmp_path / "run")
    assert path == tmp_path / "run" / "tokenizer.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    assert state["kind"] == kind and state["options"] == tok.options
    assert ("vocabulary" in state) == (kind == "word") and ("tokenizer" in state) == (kind == "bpe")
    for source in (tmp_path / "run", path):  # the run directory or the file itself
        again = load_tokenizer(source)
        assert type(again) is type(tok) and again.vocab_size == tok.vocab_size and again.options == tok.options
        for text in ["The film was great, l'homme aussi!", "unseen zebra words"]:
            assert again.encode(text, add_bos=True) == tok.encode(text, add_bos=True)
            ids = tok.encode(text)
            assert again.decode(ids) == tok.decode(ids)
    assert tok.save(tmp_path / "named.json") == tmp_path / "named.json"
    assert load_tokenizer(tmp_path / "named.json").encode("great film") == tok.encode("great film")


def test_missing_tokenizer_names_the_run_directory(tmp_path):
    run = tmp_path / "runs" / "imdb-lstm"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("x: 1")
    with pytest.raises(DataNotFoundError) as e:
        load_tokenizer(run)
    assert isinstance(e.value, DataError) and isinstance(e.value, FileNotFoundError)
    assert str(run) in str(e.value) and "config.yaml" in str(e.value) and "Fix:" in str(e.value)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_tokenizer(tmp_path / "nowhere")


@pytest.mark.parametrize("content, why", [
    ('{"format": "tujie-tokenizer", "kind": "word", "opt', "not valid UTF-8 JSON"),
    ('{"vocab": {"a": 0}}', "not written by tujie"),
    ('{"format": "tujie-tokenizer", "kind": "sentencepiece", "options": {}}', "kind"),
    ('{"format": "tujie-tokenizer", "kind": "word", "options": {}, "vocabulary": ["a", "<pad>"]}', "vocabulary"),
    ('{"format": "tujie-tokenizer", "kind": "word", "options": {"colour": 1}, "vocabulary": []}', "options"),
    ('{"format": "tujie-tokenizer", "kind": "bpe", "options": {}, "tokenizer": {"model": 3}}', "tokenizers"),
])
def test_damaged_tokenizer_file(tmp_path, content, why):
    path = tmp_path / "tokenizer.json"
    path.write_text(content)
    with pytest.raises(DataError, match="damaged") as e:
        load_tokenizer(tmp_path)
    assert why in str(e.value) and str(path) in str(e.value) and e.value.fix


def test_non_utf8_tokenizer_file(tmp_path):
    (tmp_path / "tokenizer.json").write_bytes(b'{"format": "\xff"}')
    with pytest.raises(DataError, match="damaged"):
        load_tokenizer(tmp_path)


# ---- build_tokenizer ------------------------------------------------------------------------

def test_build_tokenizer_kinds_and_errors():
    assert isinstance(build_tokenizer(), WordTokenizer)
    assert build_tokenizer("word", min_freq=3, max_size=100).options["max_size"] == 100
    assert build_tokenizer("bpe", vocab_size=500).options["vocab_size"] == 500
    with pytest.raises(ConfigError, match="Unknown tokenizer kind") as e:
        build_tokenizer("wordpiece")
    assert "'word'" in str(e.value) and "'bpe'" in str(e.value)
    with pytest.raises(ConfigError, match="max_size"):
        build_tokenizer("bpe", max_size=100)  # bpe's cap is vocab_size
