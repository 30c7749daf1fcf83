"""Training throughput of the IMDB LSTM classifier with length bucketing against plain shuffled batches.

    TUJIE_DATA=../shared/data python bench/text.py [--reviews 3000] [--rounds 3] [--max-len 400]

One process; the two ways alternate round by round, each round one epoch over the same
reviews from the same initial weights. Reported: real (non-padding) tokens per second, the
share of every batch that is padding, and the speed-up. Padding costs twice in an LSTM: the
packed sequence skips it, but the batch still runs as long as its longest review, and without
bucketing each batch holds one long review among short ones.
(word2vec against gensim: bench/word2vec.py; beam-search speed: bench/translation.py.)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import tujie as tj
from tujie.text import BucketBatcher, TextDataset, WordTokenizer, load_imdb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    corpus = load_imdb()
    pick = torch.randperm(len(corpus.train), generator=torch.Generator().manual_seed(0))[: args.reviews].tolist()
    texts, labels = [corpus.train[i][0] for i in pick], torch.tensor([corpus.train[i][1] for i in pick])
    tokenizer = WordTokenizer(min_freq=2).train(texts)
    data = TextDataset([ids[: args.max_len] for ids in tokenizer.encode_batch(texts)], labels, texts)
    real_tokens = int(data.lengths.sum())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(data):,} IMDB reviews, "
          f"{real_tokens:,} tokens (max_len {args.max_len}), vocabulary {tokenizer.vocab_size:,}, batch {args.batch_size}")

    torch.manual_seed(0)
    initial = tj.models.create("lstm_classifier", vocab_size=tokenizer.vocab_size, num_classes=2).state_dict()
    results = {True: [], False: []}
    padding = {}
    for r in range(args.rounds):
        for bucket in ((True, False) if r % 2 == 0 else (False, True)):
            model = tj.models.create("lstm_classifier", vocab_size=tokenizer.vocab_size, num_classes=2)
            model.load_state_dict(initial)
            batches = BucketBatcher(data, batch_size=args.batch_size, shuffle=True, bucket=bucket,
                                    generator=torch.Generator().manual_seed(r))
            padding[bucket] = batches.padding_ratio()
            learner = tj.Learner(model, optimizer="adam", lr=2e-3, device="cpu")
            start = time.perf_counter()
            learner.fit(batches, epochs=1, verbose=0)
            seconds = time.perf_counter() - start
            results[bucket].append(real_tokens / seconds)
            print(f"round {r + 1} {'bucketed' if bucket else 'shuffled'}: {seconds:6.1f} s, "
                  f"{real_tokens / seconds:8.0f} tokens/s, padding {padding[bucket]:.1%}", flush=True)
    for bucket in (True, False):
        print(f"{'bucketed' if bucket else 'shuffled':>9}: {statistics.median(results[bucket]):8.0f} tokens/s (median), "
              f"padding {padding[bucket]:.1%} of batch positions")
    print(f"speed-up of bucketing: {statistics.median(results[True]) / statistics.median(results[False]):.2f}x")


if __name__ == "__main__":
    main()
