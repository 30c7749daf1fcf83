"""Text pipeline: tokenizers, vocabularies, padded and length-bucketed batches, sentiment corpora.

    WordTokenizer, BPETokenizer        text <-> ids; specials <pad> 0, <unk> 1, <bos> 2, <eos> 3
    CharTokenizer                      one id per character (Chinese, character-level language models)
    build_tokenizer(kind, **options)   "word", "bpe" or "char", untrained
    load_tokenizer(run_dir)            the tokenizer a run saved (tokenizer.json)
    pad_sequences, padding_mask        (B, T) tokens, (B,) lengths, (B, T) True-at-padding mask
    pack_padded, unpack                packed sequences for nn.LSTM / nn.GRU
    TextDataset, BucketBatcher         encoded texts in memory; batches of similar lengths
    load_imdb, load_sst2, imdb_texts   the corpora, as (text, label) pairs
    TextClassifier                     a trained text run, reloaded to predict (`tujie predict`)
    load_tatoeba, load_multi30k        parallel corpora, as (source, target) pairs
    Translator, load_translator, bleu  greedy and beam-search translation, sacreBLEU (`tujie translate`)
    train_word2vec, train_glove        word vectors on tokenised sentences
    WordVectors                        neighbours, analogies, 2-D maps, into tj.layers.Embedding

Example:
    >>> from tujie.text import WordTokenizer, TextDataset, BucketBatcher
    >>> texts, labels = ["a fine film", "dull", "a fine, fine cast"], torch.tensor([1, 0, 1])
    >>> tok = WordTokenizer().train(texts)
    >>> data = TextDataset(tok.encode_batch(texts), labels, texts)
    >>> tokens, lengths, y = next(iter(BucketBatcher(data, batch_size=3, shuffle=False)))
    >>> tokens.shape, lengths.tolist(), y.tolist()
    (torch.Size([3, 5]), [5, 3, 1], [1, 1, 0])
"""

from .classification import TextClassifier
from .corpus import TextCorpus, imdb_texts, load_imdb, load_sst2
from .data import BucketBatcher, TextDataset, pack_padded, pad_sequences, padding_mask, unpack
from .glove import train_glove
from .parallel import ParallelCorpus, load_multi30k, load_tatoeba
from .tokenizers import (BOS_ID, EOS_ID, PAD_ID, SPECIALS, TOKENIZER_FILENAME, UNK_ID, BPETokenizer, CharTokenizer,
                         TruncationWarning, WordTokenizer, build_tokenizer, load_tokenizer)
from .translation import Translator, bleu, load_translator
from .vectors import WordVectors
from .word2vec import train_word2vec

__all__ = ["SPECIALS", "PAD_ID", "UNK_ID", "BOS_ID", "EOS_ID", "TOKENIZER_FILENAME", "TruncationWarning",
           "WordTokenizer", "BPETokenizer", "CharTokenizer", "build_tokenizer", "load_tokenizer",
           "pad_sequences", "padding_mask", "pack_padded", "unpack", "TextDataset", "BucketBatcher",
           "TextCorpus", "load_imdb", "load_sst2", "imdb_texts", "TextClassifier",
           "ParallelCorpus", "load_tatoeba", "load_multi30k", "Translator", "load_translator", "bleu",
           "train_word2vec", "train_glove", "WordVectors"]
