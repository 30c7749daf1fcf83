"""word2vec on the IMDB reviews: tujie against gensim's Word2Vec, same corpus and settings, in one run.

    TUJIE_DATA=../shared/data python bench/word2vec.py [--epochs 5] [--workers 2] [--mode skipgram]
        [--limit N] [--glove] [--optimizers] [--plot words.png] [--json results.json]

The 25,000 training reviews (about 6.7M tokens with `WordTokenizer().split`) train both
libraries with the same settings: dim 100, window 5, 5 negatives, min_count 5, sample 1e-3,
alpha decaying linearly to alpha * 1e-4, `--workers` threads each. Alpha is 0.025 for both
in skip-gram; in CBOW each library keeps its own default (gensim 0.025, tujie 0.05 as
word2vec.c: tujie gives CBOW's context words their share of the gradient of the mean, not
the whole of it, so it needs the larger step) unless `--lr` sets one for both. The two train one
epoch each in turn (gensim's epoch e, then tujie's epoch e, ...; gensim is given each epoch's
slice of the linear decay), so the noise of a shared machine falls on both alike.

Prints, for each library: effective words per second (words left after the min_count cut
and subsampling, as gensim counts them) and the ratio tujie / gensim; the accuracy on the
Google analogy questions whose four words are in both vocabularies (the same subset for
both, split into semantic and syntactic sections); the Spearman correlation on WordSim-353
(gensim's bundled copy); and the nearest neighbours of a few probe words side by side.

Options: `--glove` also trains `train_glove` (window 10, `--glove-epochs`) and judges it the
same way; `--optimizers` first times one epoch of the three ways tujie can update word2vec
(hand-written SGD, autograd + torch.optim.SGD on sparse gradients, autograd + SparseAdam);
`--plot` writes a PCA map of the probe words and their neighbours. `--limit` keeps the first N
reviews for a quick smoke run (the reviews are sorted negative first, so a small limit is
all negative).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import torch

from tujie._io import write_bytes, write_json
from tujie.text import WordTokenizer, imdb_texts
from tujie.text.glove import train_glove
from tujie.text.vectors import WordVectors, load_analogies
from tujie.text.word2vec import Word2VecTrainer

PROBES = ["good", "bad", "movie", "actor", "funny"]
SEMANTIC = {"capital-common-countries", "capital-world", "currency", "city-in-state", "family"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder holding imdb/train.csv.gz (default: $TUJIE_DATA)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N reviews (smoke runs)")
    parser.add_argument("--mode", choices=["skipgram", "cbow"], default="skipgram")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="threads, for both libraries")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--lr", type=float, default=None,
                        help="alpha for both (default: each library's own: gensim 0.025; tujie 0.025 skip-gram, 0.05 CBOW)")
    parser.add_argument("--batch-size", type=int, default=1024, help="tujie's examples per update")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--glove", action="store_true", help="also train and judge GloVe")
    parser.add_argument("--glove-epochs", type=int, default=25)
    parser.add_argument("--optimizers", action="store_true", help="first time one epoch of each tujie update")
    parser.add_argument("--plot", default=None, help="write a PCA map of the probe words to this PNG file")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    return parser.parse_args()


def load_sentences(args) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    texts = imdb_texts(args.data_dir, split="train")[:args.limit]
    tokenizer = WordTokenizer()
    sentences = [tokenizer.split(text) for text in texts]
    return sentences, time.perf_counter() - started


def settings(args) -> dict:
    return {"mode": args.mode, "dim": args.dim, "window": args.window, "negative": args.negative,
            "min_count": args.min_count, "sample": args.sample, "epochs": args.epochs, "lr": args.lr,
            "seed": args.seed, "workers": args.workers}


def race(sentences, args) -> dict:
    """Train gensim and tujie epoch by epoch in turn; return timings and the two WordVectors."""
    from gensim.models import Word2Vec as GensimWord2Vec

    gensim_lr = args.lr or 0.025  # gensim's default alpha, for both modes
    min_lr = gensim_lr * 1e-4
    started = time.perf_counter()
    gensim_model = GensimWord2Vec(vector_size=args.dim, window=args.window, negative=args.negative, hs=0,
                                  min_count=args.min_count, sample=args.sample, sg=int(args.mode == "skipgram"),
                                  cbow_mean=1, alpha=gensim_lr, min_alpha=min_lr, workers=args.workers, seed=args.seed,
                                  epochs=args.epochs)
    gensim_model.build_vocab(sentences)
    gensim_setup = time.perf_counter() - started
    started = time.perf_counter()
    trainer = Word2VecTrainer(sentences, mode=args.mode, dim=args.dim, window=args.window, negative=args.negative,
                              min_count=args.min_count, sample=args.sample, epochs=args.epochs, lr=args.lr,
                              batch_size=args.batch_size, seed=args.seed, workers=args.workers)
    tujie_setup = time.perf_counter() - started
    print(f"vocabulary: gensim {len(gensim_model.wv)} words ({gensim_setup:.1f} s), "
          f"tujie {len(trainer.words)} words ({tujie_setup:.1f} s); alpha: gensim {gensim_lr}, tujie {trainer.lr}")
    epochs = []
    for epoch in range(args.epochs):
        start_alpha = gensim_lr - (gensim_lr - min_lr) * epoch / args.epochs
        end_alpha = gensim_lr - (gensim_lr - min_lr) * (epoch + 1) / args.epochs
        started = time.perf_counter()
        effective, raw = gensim_model.train(sentences, total_examples=gensim_model.corpus_count, epochs=1,
                                            start_alpha=start_alpha, end_alpha=end_alpha)
        gensim_seconds = time.perf_counter() - started
        ours = trainer.train_epoch()
        epochs.append({"epoch": epoch + 1, "gensim_seconds": gensim_seconds, "gensim_effective_words": effective,
                       "gensim_raw_words": raw, "tujie_seconds": ours["seconds"],
                       "tujie_effective_words": ours["effective_words"], "tujie_raw_words": ours["raw_words"],
                       "tujie_loss": ours["loss"]})
        print(f"epoch {epoch + 1}: gensim {gensim_seconds:6.1f} s ({effective / gensim_seconds:9,.0f} words/s)   "
              f"tujie {ours['seconds']:6.1f} s ({ours['words_per_s']:9,.0f} words/s, loss {ours['loss']:.3f})",
              flush=True)
    speed = {}
    for name in ("gensim", "tujie"):
        seconds = sum(e[f"{name}_seconds"] for e in epochs)
        speed[name] = {"seconds": seconds, "effective_words": sum(e[f"{name}_effective_words"] for e in epochs),
                       "raw_words": sum(e[f"{name}_raw_words"] for e in epochs)}
        speed[name]["words_per_s"] = speed[name]["effective_words"] / seconds
        speed[name]["raw_words_per_s"] = speed[name]["raw_words"] / seconds
    speed["gensim"]["setup_seconds"], speed["tujie"]["setup_seconds"] = gensim_setup, tujie_setup
    speed["gensim"]["lr"], speed["tujie"]["lr"] = gensim_lr, trainer.lr
    return {"epochs": epochs, "speed": speed,
            "vectors": {"gensim": WordVectors.from_gensim(gensim_model.wv), "tujie": trainer.word_vectors()}}


def compare_optimizers(sentences, args) -> list[dict]:
    """One epoch of each way tujie can update word2vec, on the same sentences and settings."""
    ways = [("hand-written SGD (default)", {"optimizer": "sgd", "fused": True, "lr": args.lr}),
            ("autograd + torch.optim.SGD, sparse", {"optimizer": "sgd", "fused": False, "lr": args.lr}),
            ("autograd + torch.optim.SparseAdam", {"optimizer": "sparse_adam", "lr": None})]
    rows = []
    for name, options in ways:
        trainer = Word2VecTrainer(sentences, mode=args.mode, dim=args.dim, window=args.window, negative=args.negative,
                                  min_count=args.min_count, sample=args.sample, epochs=1, batch_size=args.batch_size,
                                  seed=args.seed, workers=args.workers, **options)
        record = trainer.train_epoch()
        accuracy = _analogies(trainer.word_vectors(), None)["accuracy"]
        rows.append({"way": name, "lr": trainer.lr, "words_per_s": record["words_per_s"], "loss": record["loss"],
                     "analogy_accuracy": accuracy})
        print(f"  {name:<38} lr {trainer.lr:<6} {record['words_per_s']:9,.0f} words/s   loss {record['loss']:.3f}   "
              f"analogies {_pct(accuracy)}", flush=True)
    return rows


def _analogies(wv: WordVectors, questions) -> dict:
    result = wv.evaluate_analogies(questions)
    sections = result["by_section"]
    for group, names in (("semantic", [s for s in sections if s in SEMANTIC]),
                         ("syntactic", [s for s in sections if s not in SEMANTIC])):
        correct = sum(sections[s]["correct"] for s in names)
        covered = sum(sections[s]["covered"] for s in names)
        result[group] = {"accuracy": correct / covered if covered else None, "covered": covered}
    return result


def _pct(value) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def judge(vectors: dict[str, WordVectors]) -> dict:
    """Analogies on the questions covered by every vocabulary, WordSim-353, and neighbours of the probes."""
    from gensim.test.utils import datapath

    questions = [q for q in load_analogies() if all(all(w.lower() in wv for w in q[1:]) for wv in vectors.values())]
    pairs_file = datapath("wordsim353.tsv")
    results = {}
    print(f"\nanalogies: {len(questions)} of {len(load_analogies())} Google questions have all four words in every "
          "vocabulary (the same subset for each)")
    print(f"{'':<8} {'all':>7} {'semantic':>9} {'syntactic':>10} {'WordSim-353':>12}")
    for name, wv in vectors.items():
        analogies = _analogies(wv, questions)
        similarity = wv.evaluate_similarity(pairs_file)
        results[name] = {"analogy_accuracy": analogies["accuracy"], "analogy_covered": analogies["covered"],
                         "semantic": analogies["semantic"], "syntactic": analogies["syntactic"],
                         "by_section": analogies["by_section"], "wordsim353_spearman": similarity["spearman"],
                         "wordsim353_covered": similarity["covered"]}
        rho = "n/a" if similarity["spearman"] is None else f"{similarity['spearman']:.3f}"
        print(f"{name:<8} {_pct(analogies['accuracy']):>7} {_pct(analogies['semantic']['accuracy']):>9} "
              f"{_pct(analogies['syntactic']['accuracy']):>10} {rho:>8} ({similarity['covered']} pairs)")
    print("\nnearest neighbours (cosine)")
    for probe in PROBES:
        for name, wv in vectors.items():
            if probe in wv:
                neighbours = wv.most_similar(probe, k=8)
                results[name].setdefault("neighbours", {})[probe] = [w for w, _ in neighbours]
                print(f"  {probe:<7} {name:<7} " + ", ".join(f"{w} {s:.2f}" for w, s in neighbours))
            else:
                print(f"  {probe:<7} {name:<7} (not in the vocabulary)")
    return results


def main():
    args = parse_args()
    logging.getLogger("gensim").setLevel(logging.ERROR)
    torch.manual_seed(args.seed)
    sentences, seconds = load_sentences(args)
    print(f"IMDB train: {len(sentences)} reviews, {sum(map(len, sentences)):,} tokens (read and split in {seconds:.1f} s)")
    print(f"settings: {settings(args)}; torch {torch.__version__}, {os.cpu_count()} CPUs")
    report = {"settings": settings(args), "reviews": len(sentences), "tokens": sum(map(len, sentences))}
    if args.optimizers:
        print("\ntujie's three ways to update word2vec, one epoch each:")
        report["optimizers"] = compare_optimizers(sentences, args)
        print()
    result = race(sentences, args)
    speed = result["speed"]
    ratio = speed["tujie"]["words_per_s"] / speed["gensim"]["words_per_s"]
    faster = f"gensim is {1 / ratio:.1f}x faster" if ratio < 1 else f"tujie is {ratio:.1f}x faster"
    print(f"\nwords/s (effective, training only): gensim {speed['gensim']['words_per_s']:,.0f}, "
          f"tujie {speed['tujie']['words_per_s']:,.0f}; tujie / gensim = {ratio:.2f} ({faster})")
    report.update(epochs=result["epochs"], speed=speed, speed_ratio_tujie_over_gensim=ratio)
    vectors = result["vectors"]
    if args.glove:
        print(f"\nGloVe: window 10, {args.glove_epochs} epochs ...", flush=True)
        started = time.perf_counter()
        vectors["glove"] = train_glove(sentences, dim=args.dim, window=10, epochs=args.glove_epochs,
                                       min_count=args.min_count, seed=args.seed, workers=args.workers)
        glove_seconds = time.perf_counter() - started
        print(f"GloVe: {vectors['glove'].meta['entries']:,} nonzero counts, {glove_seconds:.1f} s in all "
              f"({vectors['glove'].meta['seconds']:.1f} s training)")
        report["glove"] = {"seconds": glove_seconds, "entries": vectors["glove"].meta["entries"],
                           "cost": [r["loss"] for r in vectors["glove"].meta["history"]]}
    report["quality"] = judge(vectors)
    if args.plot:
        wv = vectors["tujie"]
        groups = {p: [p] + [w for w, _ in wv.most_similar(p, k=5)] for p in PROBES if p in wv}
        seen, unique = set(), {}
        for group, words in groups.items():  # a word in two groups is drawn once, in the first
            unique[group] = [w for w in words if not (w in seen or seen.add(w))]
        write_bytes(args.plot, wv.plot(unique, title=f"tujie {args.mode} on IMDB: probe words and 5 neighbours (PCA)"))
        print(f"\nwrote {args.plot}")
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
