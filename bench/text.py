"""Text benchmarks: length bucketing, padded against packed recurrent kernels, beam search, word2vec.

    TUJIE_DATA=../shared/data python bench/text.py [--reviews 3000] [--rounds 3] [--max-len 400]
        [--packing] [--translator RUN_DIR] [--test-phase RUN_DIR] [--word2vec]

Bucketing (always): training throughput of the IMDB LSTM classifier with length-bucketed
batches against plain shuffled ones. One process; the two ways alternate round by round, each
round one epoch over the same reviews from the same initial weights. Reported: real
(non-padding) tokens per second, the share of every batch that is padding, and the speed-up.
Without bucketing each batch holds one long review among short ones and runs as long as it.

`--packing`: one training step of the LSTM and BiLSTM classifiers on the same bucketed IMDB
batches, with `lengths` handled by the layer's padded fast path (the default on the CPU) and by
`pack_padded_sequence` (the fast path switched off); both give the same numbers (tested).

`--translator RUN_DIR`: a trained translation run (e.g. `tujie run tatoeba-fr-en-attention`)
scored again with today's `bleu` (greedy and beam 5, by source length), then greedy and
beam-search (width 5) sentences per second on its own test pairs; for a
Transformer also without its incremental decoding (the whole prefix rerun at every step).

`--test-phase RUN_DIR`: a finished IMDB classification run's test phase, one pass over the 25,000
test reviews feeding the scores, the curves and the mistakes shown, against the three passes it
took before (`Learner.evaluate`, `classification_metrics`, the outputs for the mistakes); both
give the same scores (tested).

`--word2vec`: runs bench/word2vec.py (tujie against gensim, one epoch each in turn) with its
defaults; run that script directly for its options.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import tujie as tj
from tujie.text import BucketBatcher, TextDataset, WordTokenizer, load_imdb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--packing", action="store_true", help="also time padded fast path against packing")
    parser.add_argument("--translator", type=Path, default=None, help="a translation run directory: time greedy and beam search")
    parser.add_argument("--test-phase", type=Path, default=None, help="an IMDB classification run: time its test phase")
    parser.add_argument("--word2vec", action="store_true", help="also run bench/word2vec.py (tujie against gensim)")
    parser.add_argument("--skip-bucketing", action="store_true")
    args = parser.parse_args()
    if not args.skip_bucketing:
        bucketing(args)
    if args.packing:
        packing(args)
    if args.translator is not None:
        beam_speed(args.translator)
    if args.test_phase is not None:
        test_phase(args.test_phase)
    if args.word2vec:
        sys.path.insert(0, str(Path(__file__).parent))
        import word2vec

        sys.argv = [sys.argv[0]]
        word2vec.main()


def imdb_slice(args):
    """`args.reviews` seeded IMDB training reviews, tokenised and cut at max_len, as a TextDataset."""

    corpus = load_imdb()
    pick = torch.randperm(len(corpus.train), generator=torch.Generator().manual_seed(0))[: args.reviews].tolist()
    texts, labels = [corpus.train[i][0] for i in pick], torch.tensor([corpus.train[i][1] for i in pick])
    tokenizer = WordTokenizer(min_freq=2).train(texts)
    return tokenizer, TextDataset([ids[: args.max_len] for ids in tokenizer.encode_batch(texts)], labels, texts)


def bucketing(args):
    tokenizer, data = imdb_slice(args)
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


def packing(args, steps: int = 12):
    """Seconds per training step (forward, backward, Adam) with the padded fast path and with packing."""
    tokenizer, data = imdb_slice(args)
    batches = list(BucketBatcher(data, batch_size=args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)))
    batches = batches[:steps]
    tokens = sum(int(lengths.sum()) for _, lengths, _ in batches)
    print(f"\npadded fast path against packing: {len(batches)} bucketed batches of {args.batch_size}, {tokens:,} real tokens")
    for name in ("lstm_classifier", "bilstm_classifier"):
        torch.manual_seed(0)
        model = tj.models.create(name, vocab_size=tokenizer.vocab_size, num_classes=2)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        seconds = {}
        for fast in (True, False, True, False):  # alternate, keep the second of each
            model.recurrent.fast_padded = fast
            start = time.perf_counter()
            for tokens_batch, lengths, y in batches:
                loss = torch.nn.functional.cross_entropy(model(tokens_batch, lengths), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            seconds[fast] = time.perf_counter() - start
        print(f"{name:>18}: padded {tokens / seconds[True]:8.0f} tokens/s, packed {tokens / seconds[False]:8.0f} tokens/s, "
              f"speed-up {seconds[False] / seconds[True]:.2f}x")


def beam_speed(run_dir: Path, limit: int = 500):
    """Greedy and beam-5 sentences/s of a trained translator on its first `limit` test pairs."""
    import yaml

    from tujie.config import validate
    from tujie.kinds.translation import load_translation_corpus
    from tujie.text import load_translator

    from tujie.text.translation import bleu

    translator = load_translator(run_dir)
    corpus = load_translation_corpus(validate(yaml.safe_load((run_dir / "config.yaml").read_text())))
    print(f"\nBLEU of {run_dir.name} on its {len(corpus.test):,} test pairs (as the run scores it now)")
    for beam in (1, 5):
        report = bleu(translator, corpus.test, beam=beam, length_penalty=0.6)
        by_length = ", ".join(f"{b['bucket']}: {b['bleu']:.1f}" for b in report["by_length"])
        print(f"{'greedy' if beam == 1 else f'beam {beam}':>8}: {report['bleu']:.2f}  ({report['signature']}; {by_length})")
    sources = [s for s, _ in corpus.test[:limit]]
    print(f"\nbeam search on {len(sources)} test sentences of {run_dir.name} ({torch.get_num_threads()} threads)")
    model = translator.model
    ways = [("incremental", None)]
    if hasattr(model, "decoder") and hasattr(model.decoder, "step"):  # the Transformer: also its earlier decoding
        ways.append(("whole prefix", whole_prefix_step(model)))
    for beam in (1, 5):
        outputs = {}
        for way, step in ways:
            if step is not None:
                model.decode_step = step  # an instance attribute shadows the method until deleted
            translator.translate(sources[:32], beam=beam)  # warm-up
            start = time.perf_counter()
            outputs[way] = translator.translate(sources, beam=beam)
            seconds = time.perf_counter() - start
            if step is not None:
                del model.decode_step
            label = "greedy" if beam == 1 else f"beam {beam}"
            print(f"{label:>8}, {way:>12}: {len(sources) / seconds:7.0f} sentences/s")
        if len(outputs) > 1:
            same = sum(a == b for a, b in zip(*outputs.values()))
            print(f"{'':>8}  the same translation for {same} of {len(sources)} sentences")


def test_phase(run_dir: Path):
    """Seconds for an IMDB run's test phase: one pass over the test set against the earlier three."""
    from tujie.evaluate import classification_metrics, classification_metrics_from_outputs
    from tujie.kinds._test_phase import _scores_of_outputs, _text_outputs
    from tujie.text.classification import TextClassifier

    classifier = TextClassifier.from_run(run_dir)
    corpus = load_imdb()
    texts, labels = [t for t, _ in corpus.test], torch.tensor([label for _, label in corpus.test])
    sequences = [ids[: classifier.max_len] or [classifier.tokenizer.unk_id]
                 for ids in classifier.tokenizer.encode_batch(texts)]
    test = TextDataset(sequences, labels, texts)
    learner = tj.Learner(classifier.model, loss="cross_entropy", metrics=["accuracy", "f1"], device="cpu")
    print(f"\ntest phase of {run_dir.name} on {len(test):,} reviews ({torch.get_num_threads()} threads)")

    start = time.perf_counter()
    three = {**learner.evaluate(test, verbose=0), "auc": classification_metrics(learner, test)["auc"]}
    _text_outputs(learner, test)  # the outputs for the mistakes shown
    three_s = time.perf_counter() - start

    start = time.perf_counter()
    outputs = _text_outputs(learner, test)
    one = {**_scores_of_outputs(learner, outputs, labels),
           "auc": classification_metrics_from_outputs(outputs, labels, task="multiclass")["auc"]}
    one_s = time.perf_counter() - start
    print(f"  three passes: {three_s:6.1f} s  accuracy {three['accuracy']:.4f}  auc {three['auc']:.4f}")
    print(f"  one pass:     {one_s:6.1f} s  accuracy {one['accuracy']:.4f}  auc {one['auc']:.4f}  ({three_s / one_s:.2f}x)")


def whole_prefix_step(model):
    """The Transformer's decode step without its cache: the whole prefix through the decoder at every step."""
    def decode_step(prefix_ids, cache, attention=False):
        return model.decode(prefix_ids, cache["memory"], cache["src_padding"])[:, -1], None, cache  # (batch, vocab)
    return decode_step


if __name__ == "__main__":
    main()
