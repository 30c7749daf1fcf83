"""CharTokenizer (one id per character) and BPETokenizer(byte_level=True): exact round trips, unknowns, saving."""

import json

import pytest

from tujie.errors import ConfigError, DataError
from tujie.text import (BOS_ID, EOS_ID, SPECIALS, UNK_ID, BPETokenizer, CharTokenizer, build_tokenizer,
                        load_tokenizer)

POEMS = ["床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n", "春眠不覺曉，處處聞啼鳥。\n夜來風雨聲，花落知多少。\n"]


def test_round_trip_of_chinese_with_punctuation_and_newlines():
    tok = CharTokenizer().train(POEMS)
    for poem in POEMS:
        ids = tok.encode(poem)
        assert len(ids) == len(poem) and tok.decode(ids) == poem
    assert tok.tokens(range(4)) == list(SPECIALS)
    assert tok.id_to_token(4) in "，。\n" and tok.counts_[4] == 4  # the most frequent characters first
    assert tok.encode("明月", add_bos=True, add_eos=True) == [BOS_ID, tok.token_to_id("明"), tok.token_to_id("月"), EOS_ID]
    assert tok.encode(" \n") == [UNK_ID, tok.token_to_id("\n")]  # whitespace is text here, not nothing


def test_unknown_characters_become_unk_and_are_measured():
    tok = CharTokenizer().train(POEMS)
    ids = tok.encode("明月照我還")
    assert ids[2:] == [UNK_ID] * 3
    assert tok.decode(ids) == "明月<unk><unk><unk>"
    assert tok.unknown_characters("明月照我照") == ["照", "我"]
    assert tok.unknown_rate(["明月照我"]) == 0.5


def test_min_freq_and_max_size_cut_the_vocabulary():
    assert CharTokenizer(min_freq=2).train(POEMS).vocab_size == len(SPECIALS) + 7  # ， 。 \n 明 月 頭 處
    assert CharTokenizer(max_size=10).train(POEMS).vocab_size == 10
    with pytest.raises(ConfigError, match="min_freq"):
        CharTokenizer(min_freq=0)


def test_save_and_load_through_load_tokenizer(tmp_path):
    tok = CharTokenizer(min_freq=1).train(POEMS)
    path = tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    assert isinstance(again, CharTokenizer) and again.options == tok.options
    assert again.encode(POEMS[1]) == tok.encode(POEMS[1]) and again.vocab_size == tok.vocab_size
    state = json.loads(path.read_text(encoding="utf-8"))
    assert state["kind"] == "char" and "床" in state["vocabulary"]  # readable, not escaped
    state["vocabulary"][5] = state["vocabulary"][6]
    path.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(DataError, match="damaged"):
        load_tokenizer(path)
    assert isinstance(build_tokenizer("char", max_size=50), CharTokenizer)


def test_byte_level_bpe_writes_readable_english():
    reviews = ["The film was great! I loved the acting, and the ending.", "Don't miss it: 10/10, a café-style gem."] * 10
    old = BPETokenizer(vocab_size=200, min_freq=2).train(reviews)
    assert old.decode(old.encode("The film was great!")) == "the film was great !"  # word pieces: case and spacing lost
    tok = BPETokenizer(vocab_size=300, min_freq=2, lower=False, byte_level=True).train(reviews)
    text = "The ending? I LOVED it, naïve as it is — 中文 too."
    assert tok.decode(tok.encode(text)) == text  # every byte is in the alphabet: nothing is <unk>
    assert tok.unknown_rate([text]) == 0.0
    assert tok.decode(tok.encode(" the film")[1:]) == " film"  # a piece keeps its leading space


def test_byte_level_bpe_saves_and_reloads(tmp_path):
    tok = BPETokenizer(vocab_size=300, lower=False, byte_level=True).train(["Hello there, General Kenobi."] * 5)
    tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    assert again.byte_level and again.decode(again.encode("Hello, Kenobi")) == "Hello, Kenobi"
