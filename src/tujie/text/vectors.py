"""Word vectors and how to judge them: neighbours, analogies, similarity ratings, a 2-D map.

`WordVectors` holds a vocabulary and one vector per word, whatever trained them
(`train_word2vec`, `train_glove`, or gensim's `KeyedVectors` through `from_gensim`):

* `most_similar(word)` and `similarity(a, b)`: cosine similarity;
* `analogy(a, b, c)`: "a is to b as c is to ?" by 3CosAdd, the word nearest to b - a + c
  among all words but the three given (Mikolov et al. 2013, "Linguistic Regularities in
  Continuous Space Word Representations");
* `evaluate_analogies()`: accuracy on the Google analogy test set (bundled, see below),
  counting only the questions whose four words are in the vocabulary (`coverage` says how
  many those are), overall and per section;
* `evaluate_similarity(pairs)`: Spearman correlation with human similarity ratings
  (WordSim-353, SimLex-999, ...);
* `project_2d(words)` / `plot(words)`: a PCA or t-SNE map of some words, as PNG bytes;
* `to_embedding(tokenizer)`: a `tujie.layers.Embedding` whose rows are these vectors, in
  the tokenizer's id order, frozen or trainable;
* `save(folder)` / `WordVectors.load(folder)`: `vectors.safetensors` + `vocab.json`, no pickle.

The analogy questions (`resources/questions-words.txt`, 19,544 questions in 14 sections) are the
Google analogy test set of Mikolov et al. 2013 ("Efficient Estimation of Word Representations
in Vector Space"), released with the word2vec project under the Apache License 2.0; the copy
here is the one gensim ships as test data, with a header naming that source.

Example:
    >>> wv = WordVectors(["king", "queen", "man", "woman"],
    ...                  torch.tensor([[1.0, 1.0], [1.0, -1.0], [0.9, 1.2], [0.9, -0.8]]))
    >>> wv.analogy("man", "woman", "king")
    [('queen', 0.99...)]
    >>> wv.most_similar("king", k=1)
    [('man', 0.98...)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

from .._io import write_bytes, write_json
from ..errors import CheckpointError, ConfigError, DataError, DataNotFoundError, TujieError, closest

__all__ = ["WordVectors", "UnknownWordError", "ANALOGIES_PATH", "load_analogies", "load_similarity_pairs",
           "SPECIAL_TOKENS"]

ANALOGIES_PATH = Path(__file__).parent / "resources" / "questions-words.txt"
VECTORS_FILE, VOCAB_FILE = "vectors.safetensors", "vocab.json"
FILE_FORMAT, FILE_VERSION = "tujie-word-vectors", 1
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")  # tokenizer ids 0..3; never counted as "missing"


class UnknownWordError(TujieError, KeyError):
    """A word that is not in the vocabulary of the word vectors (a `KeyError` too)."""

    __str__ = Exception.__str__  # KeyError would print the message inside quotes


class WordVectors:
    """A vocabulary and one vector per word, with the usual ways to look at and judge them.

    Args:
        vocab: the words, one per row of `vectors`, distinct (most frequent first by convention:
            `restrict_vocab` arguments keep the first rows).
        vectors: a (len(vocab), dim) float matrix (tensor or NumPy array); kept as float32 on the CPU.
        counts: optional corpus frequency of each word.
        meta: optional JSON-friendly facts about how the vectors were made (saved with them).

    Example:
        >>> wv = WordVectors(["cat", "dog", "car"], torch.tensor([[1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]))
        >>> len(wv), wv.dim, "dog" in wv
        (3, 2, True)
        >>> round(wv.similarity("cat", "dog"), 3)
        0.993
    """

    def __init__(self, vocab: Iterable[str], vectors, counts=None, meta: dict | None = None):
        self.vocab = list(vocab)
        table = torch.as_tensor(vectors).detach()
        if table.ndim != 2 or table.shape[0] != len(self.vocab) or not table.is_floating_point():
            raise ConfigError("Invalid value received for argument `vectors` of WordVectors.",
                              expected=f"a float matrix with one row per word: shape ({len(self.vocab)}, dim)",
                              received=f"shape {tuple(table.shape)} and dtype {table.dtype}",
                              fix="Pass vectors of shape (len(vocab), dim).")
        if not all(isinstance(w, str) for w in self.vocab):
            raise ConfigError("Invalid value received for argument `vocab` of WordVectors.", expected="a list of strings",
                              received=f"items of types {sorted({type(w).__name__ for w in self.vocab})}",
                              fix="Pass the words as strings, in the row order of `vectors`.")
        self.index = {w: i for i, w in enumerate(self.vocab)}  # word -> row
        if len(self.index) != len(self.vocab):
            seen, repeated = set(), []
            for w in self.vocab:
                if w in seen:
                    repeated.append(w)
                seen.add(w)
            raise ConfigError("Invalid value received for argument `vocab` of WordVectors: a word appears twice.",
                              expected="distinct words", received=f"repeated: {repeated[:5]}",
                              fix="Remove the duplicates (and their rows of `vectors`).")
        self.vectors = table.to(device="cpu", dtype=torch.float32).contiguous()  # (V, D)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        if self.counts is not None and self.counts.shape != (len(self.vocab),):
            raise ConfigError("Invalid value received for argument `counts` of WordVectors.",
                              expected=f"one count per word ({len(self.vocab)})", received=f"shape {self.counts.shape}",
                              fix="Pass counts in the order of `vocab`, or None.")
        self.meta = dict(meta or {})
        self._unit = None

    # ------------------------------------------------------------------ lookup
    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self.id(word)]  # (dim,)

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, dim={self.dim})"

    def id(self, word: str) -> int:
        """The row of `word`; an `UnknownWordError` naming close words when it is not in the vocabulary.

        Example:
            >>> WordVectors(["cat", "dog"], torch.eye(2)).id("dog")
            1
        """
        try:
            return self.index[word]
        except (KeyError, TypeError):
            hint = closest(word, self.vocab[:50_000]) if isinstance(word, str) else ""
            raise UnknownWordError(f"The word {word!r} is not in the vocabulary of these word vectors "
                                   f"({len(self)} words).", expected="a word of `wv.vocab`",
                                   received=repr(word),
                                   fix=(hint + " " if hint else "") + "Check `word in wv` first; rare words are "
                                       "dropped by min_count, and the vocabulary is lower-cased when the tokenizer is.") \
                from None

    @property
    def unit(self) -> torch.Tensor:
        """The vectors scaled to length 1 (rows of zeros stay zero), for cosine similarity."""
        if self._unit is None:
            self._unit = self.vectors / self.vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)  # (V, D)
        return self._unit

    # ------------------------------------------------------------------ similarity
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words, in [-1, 1].

        Example:
            >>> WordVectors(["a", "b"], torch.tensor([[1.0, 0.0], [1.0, 1.0]])).similarity("a", "b")
            0.707...
        """
        return float(self.unit[self.id(a)] @ self.unit[self.id(b)])

    def most_similar(self, word, k: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The `k` words with the largest cosine similarity to `word` (itself left out).

        Args:
            word: a word of the vocabulary, or a (dim,) vector.
            k: how many neighbours.
            restrict_vocab: search only the first (most frequent) rows.

        Returns:
            [(word, cosine), ...], most similar first.

        Example:
            >>> wv = WordVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0]]))
            >>> [w for w, _ in wv.most_similar("a", k=2)]
            ['b', 'c']
        """
        if isinstance(word, str):
            exclude = [self.id(word)]
            query = self.unit[exclude[0]]  # (D,)
        else:
            exclude = []
            query = torch.as_tensor(word, dtype=torch.float32).reshape(-1)
            if query.shape[0] != self.dim:
                raise ConfigError("most_similar received a vector of the wrong size.", expected=f"{self.dim} numbers",
                                  received=f"{query.shape[0]}", fix="Pass a word, or a vector of the same dim.")
            query = query / query.norm().clamp_min(1e-12)
        return self._nearest(query, exclude, k, restrict_vocab)

    def _nearest(self, query: torch.Tensor, exclude: list[int], k: int, restrict_vocab: int | None):
        table = self.unit[:restrict_vocab]  # (n, D)
        scores = table @ query  # (n,)
        for i in exclude:
            if i < len(scores):
                scores[i] = -math.inf
        k = max(0, min(k, len(scores) - len(exclude)))
        top = torch.topk(scores, k)
        return [(self.vocab[i], float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]

    def analogy(self, a: str, b: str, c: str, k: int = 1, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """"`a` is to `b` as `c` is to ?": the words nearest to b - a + c (3CosAdd), inputs excluded.

        The three vectors are scaled to length 1 first, as in gensim's `most_similar`.

        Args:
            a, b, c: words of the vocabulary ("man", "king", "woman" asks for "queen").
            k: how many answers.
            restrict_vocab: search only the first (most frequent) rows.

        Returns:
            [(word, cosine with b - a + c), ...], best first.

        Example:
            >>> wv = WordVectors(["paris", "france", "rome", "italy"],
            ...                  torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 0.0]]))
            >>> wv.analogy("paris", "france", "rome")[0][0]
            'italy'
        """
        ia, ib, ic = self.id(a), self.id(b), self.id(c)
        query = self.unit[ib] - self.unit[ia] + self.unit[ic]  # (D,)
        return self._nearest(query / query.norm().clamp_min(1e-12), [ia, ib, ic], k, restrict_vocab)

    def evaluate_analogies(self, questions=None, *, lower: bool = True, restrict_vocab: int | None = None,
                           batch_size: int = 512) -> dict:
        """Accuracy on analogy questions "a b c d" (a : b :: c : d), answered by 3CosAdd.

        A question counts only when its four words are in the (restricted) vocabulary: the
        `accuracy` is over those `covered` questions, and `coverage` is covered / total, so
        two sets of vectors compare fairly only on the same covered questions (pass
        `restrict_vocab` or filter the questions to make them equal).

        Args:
            questions: None for the bundled Google analogy test set, a path to a file in its
                format (": section" lines, then "a b c d" lines), or a list of
                (section, a, b, c, d) tuples as `load_analogies` returns.
            lower: lower-case the questions (the bundled set has "Athens Greece ...") to
                match a lower-cased vocabulary.
            restrict_vocab: use only the first (most frequent) words, as candidates and for coverage.
            batch_size: questions scored at once (memory: batch_size x vocabulary floats).

        Returns:
            {"accuracy", "coverage", "correct", "covered", "total",
             "by_section": {section: {"accuracy", "correct", "covered", "total"}}};
            an accuracy is None when no question was covered.

        Example:
            >>> wv = WordVectors(["man", "king", "woman", "queen"],
            ...                  torch.tensor([[1.0, 0.0, 0.1], [1.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [-1.0, 1.0, 0.1]]))
            >>> result = wv.evaluate_analogies([("family", "man", "king", "woman", "queen"),
            ...                                 ("family", "man", "king", "boy", "prince")])
            >>> result["accuracy"], result["coverage"]
            (1.0, 0.5)
        """
        items = load_analogies(questions) if questions is None or isinstance(questions, (str, Path)) else list(questions)
        limit = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        sections: dict[str, dict] = {}
        covered_ids, covered_sections = [], []
        for item in items:
            if len(item) != 5:
                raise DataError("An analogy question has the wrong number of fields.",
                                expected="(section, a, b, c, d)", received=repr(item),
                                fix="Build questions with load_analogies(path).")
            section, *words = item
            stats = sections.setdefault(section, {"correct": 0, "covered": 0, "total": 0})
            stats["total"] += 1
            ids = [self.index.get(w.lower() if lower else w, limit) for w in words]
            if max(ids) < limit:
                covered_ids.append(ids)
                covered_sections.append(section)
        if covered_ids:
            ids = torch.tensor(covered_ids)  # (Q, 4)
            table = self.unit[:limit]  # (n, D)
            hits = []
            for start in range(0, len(ids), batch_size):
                q = ids[start:start + batch_size]  # (q, 4)
                query = table[q[:, 1]] - table[q[:, 0]] + table[q[:, 2]]  # (q, D); its norm does not change the argmax
                scores = query @ table.T  # (q, n)
                scores.scatter_(1, q[:, :3], -math.inf)  # the three given words are never the answer
                hits.append(scores.argmax(1) == q[:, 3])
            for section, hit in zip(covered_sections, torch.cat(hits).tolist()):
                sections[section]["covered"] += 1
                sections[section]["correct"] += int(hit)
        for stats in sections.values():
            stats["accuracy"] = stats["correct"] / stats["covered"] if stats["covered"] else None
        correct = sum(s["correct"] for s in sections.values())
        covered, total = len(covered_ids), len(items)
        return {"accuracy": correct / covered if covered else None, "coverage": covered / total if total else 0.0,
                "correct": correct, "covered": covered, "total": total,
                "by_section": {name: {k: s[k] for k in ("accuracy", "correct", "covered", "total")}
                               for name, s in sections.items()}}

    def evaluate_similarity(self, pairs, *, lower: bool = True) -> dict:
        """Spearman correlation between cosine similarities and human ratings of word pairs.

        Args:
            pairs: a path to a tab-separated file "word1<TAB>word2<TAB>score" ('#' lines are
                comments; WordSim-353 and SimLex-999 as gensim ships them), or a list of
                (word1, word2, score).
            lower: lower-case the words.

        Returns:
            {"spearman", "coverage", "covered", "total"}: the correlation over the pairs whose
            two words are in the vocabulary (None when fewer than 2 are).

        Example:
            >>> wv = WordVectors(["cat", "dog", "car"], torch.tensor([[1.0, 0.1], [0.9, 0.3], [0.0, 1.0]]))
            >>> wv.evaluate_similarity([("cat", "dog", 9.0), ("cat", "car", 1.0), ("dog", "car", 2.0), ("cat", "zebra", 5.0)])
            {'spearman': 1.0, 'coverage': 0.75, 'covered': 3, 'total': 4}
        """
        items = load_similarity_pairs(pairs) if isinstance(pairs, (str, Path)) else list(pairs)
        model, human = [], []
        for a, b, score in items:
            a, b = (a.lower(), b.lower()) if lower else (a, b)
            if a in self.index and b in self.index:
                model.append(self.similarity(a, b))
                human.append(float(score))
        rho = None
        if len(model) >= 2:
            from scipy.stats import spearmanr

            rho = float(spearmanr(model, human).statistic)
        return {"spearman": rho, "coverage": len(model) / len(items) if items else 0.0,
                "covered": len(model), "total": len(items)}

    # ------------------------------------------------------------------ use in a model
    def to_embedding(self, tokenizer_or_vocab, freeze: bool = True, seed: int = 0):
        """A `tujie.layers.Embedding` with these vectors as rows, in the tokenizer's id order.

        Tokens without a vector (rare words, and `<unk>`, `<bos>`, `<eos>`) get a small random
        row (normal, with the standard deviation of the pretrained vectors' entries); `<pad>`
        gets zeros and becomes the layer's `padding_idx`. A token is looked up as it is, then
        lower-cased. How many tokens found a vector is kept on the layer:
        `layer.coverage` (a fraction, the four special tokens left out of the count) and
        `layer.missing` (the tokens without a vector).

        Args:
            tokenizer_or_vocab: a trained `WordTokenizer` (anything with `vocab_size` and
                `id_to_token(i)`), a list of tokens in id order, or a {token: id} dict.
            freeze: True keeps the vectors fixed (no gradient); False fine-tunes them.
            seed: seed of the random rows.

        Returns:
            An `Embedding(len(vocab), dim, padding_idx=..., trainable=not freeze)`.

        Example:
            >>> wv = WordVectors(["good", "bad"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> layer = wv.to_embedding(["<pad>", "<unk>", "bad", "awful"])
            >>> layer.weight[2].tolist(), layer.weight[0].tolist(), layer.coverage, layer.missing
            ([3.0, 4.0], [0.0, 0.0], 0.5, ['awful'])
            >>> layer.weight.requires_grad
            False
        """
        from ..layers import Embedding

        tokens = _token_list(tokenizer_or_vocab)
        std = float(self.vectors.std()) if self.vectors.numel() > 1 else 1.0
        generator = torch.Generator().manual_seed(seed)
        weights = torch.randn(len(tokens), self.dim, generator=generator) * std  # (vocab, dim)
        missing, found = [], 0
        pad = None
        for i, token in enumerate(tokens):
            row = self.index.get(token)
            if row is None and isinstance(token, str):
                row = self.index.get(token.lower())
            if row is not None:
                weights[i] = self.vectors[row]
                found += 1
            elif token == "<pad>":
                pad = i
                weights[i] = 0.0
            elif token not in SPECIAL_TOKENS:
                missing.append(token)
        layer = Embedding(len(tokens), self.dim, padding_idx=pad, weights=weights, trainable=not freeze)
        counted = found + len(missing)
        layer.coverage = found / counted if counted else 0.0
        layer.missing = missing
        return layer

    # ------------------------------------------------------------------ pictures
    def project_2d(self, words: list[str], method: str = "pca", seed: int = 0) -> np.ndarray:
        """2-D coordinates of some words' (unit-length) vectors, by PCA or t-SNE.

        Args:
            words: words of the vocabulary (at least 2; t-SNE needs at least 4).
            method: "pca" (linear, deterministic) or "tsne" (scikit-learn's TSNE, perplexity
                min(30, (n - 1) / 3): keeps neighbours together, distances between clusters mean little).
            seed: t-SNE's random state.

        Returns:
            A (len(words), 2) float array.

        Example:
            >>> wv = WordVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
            >>> wv.project_2d(["a", "b", "c"]).shape
            (3, 2)
        """
        if method not in ("pca", "tsne"):
            raise ConfigError("Invalid value received for argument `method` of project_2d.",
                              expected='"pca" or "tsne"', received=f"method={method!r}", fix='Pass method="pca".')
        words = list(words)
        minimum = 4 if method == "tsne" else 2
        if len(words) < minimum:
            raise ConfigError(f"project_2d needs at least {minimum} words for method={method!r}.",
                              expected=f">= {minimum} words", received=f"{len(words)}", fix="Pass more words.")
        x = self.unit[[self.id(w) for w in words]].double().numpy()  # (n, D)
        if method == "pca":
            x = x - x.mean(0)
            u, s, vt = np.linalg.svd(x, full_matrices=False)
            signs = np.sign(vt[:2, np.abs(vt[:2]).argmax(1)].diagonal())  # fixed signs, as sklearn's svd_flip
            signs[signs == 0] = 1
            return (x @ vt[:2].T) * signs  # (n, 2)
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(words) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)

    def plot(self, words, method: str = "pca", title: str | None = None, seed: int = 0) -> bytes:
        """A scatter plot of some words in 2-D (PCA or t-SNE), each point labelled, as PNG bytes.

        Args:
            words: a list of words, or {group name: [words]} to colour groups (e.g. "actors",
                "praise", "genres") and show a legend.
            method: "pca" or "tsne", as in `project_2d`.
            title: the figure title (default: "Word vectors (PCA)").
            seed: t-SNE's random state.

        Returns:
            The PNG file as bytes (embed it in a report, or write it to a .png file).

        Example:
            >>> wv = WordVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
            >>> wv.plot({"letters": ["a", "b"], "other": ["c"]})[:4]
            b'\\x89PNG'
        """
        from ..plots import INK_COLOR, class_colors, figure_label, new_figure, figure_style, png_bytes

        groups = dict(words) if isinstance(words, Mapping) else {"": list(words)}
        flat = [w for group in groups.values() for w in group]
        xy = self.project_2d(flat, method=method, seed=seed)  # (n, 2)
        with figure_style():
            fig = new_figure(6.4, 5.2)
            ax = fig.add_subplot()
            start = 0
            for (name, group), color in zip(groups.items(), class_colors(len(groups))):
                pts = xy[start:start + len(group)]
                ax.scatter(pts[:, 0], pts[:, 1], s=18, color=color, label=name or None, zorder=3)
                for (x, y), w in zip(pts, group):
                    ax.annotate(w, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8, color=INK_COLOR)
                start += len(group)
            ax.set_title(title or figure_label("Word vectors ({method})").format(method="PCA" if method == "pca" else "t-SNE"))
            if method == "pca":
                ax.set_xlabel(figure_label("first principal component"))
                ax.set_ylabel(figure_label("second principal component"))
            if len(groups) > 1:
                ax.legend(loc="best", fontsize=8)
            return png_bytes(fig)

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write the vectors to folder `path`: `vectors.safetensors` and `vocab.json` (atomically).

        Args:
            path: a folder (created if needed).

        Returns:
            The folder's path.

        Example:
            >>> import tempfile
            >>> folder = WordVectors(["a", "b"], torch.eye(2)).save(tempfile.mkdtemp())
            >>> WordVectors.load(folder).vocab
            ['a', 'b']
        """
        from safetensors.torch import save

        folder = Path(path)
        tensors = {"vectors": self.vectors}
        if self.counts is not None:
            tensors["counts"] = torch.from_numpy(self.counts)
        write_bytes(folder / VECTORS_FILE, save(tensors, metadata={"format": FILE_FORMAT}))
        write_json(folder / VOCAB_FILE, {"format": FILE_FORMAT, "version": FILE_VERSION, "dim": self.dim,
                                         "size": len(self), "meta": self.meta, "words": self.vocab})
        return folder

    @classmethod
    def load(cls, path) -> "WordVectors":
        """Read word vectors written by `save` (a folder with `vectors.safetensors` and `vocab.json`).

        Args:
            path: the folder, or its `vectors.safetensors` (the `vocab.json` beside it is read too).
                An embeddings run directory is such a folder; one of tujie 0.1.0, which saved
                the vectors one folder down (`RUN/vectors.safetensors/`), loads as well.

        Returns:
            A `WordVectors`.

        Example:
            >>> WordVectors.load("/no/such/folder")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            tujie.errors.DataNotFoundError: No saved word vectors in /no/such/folder...
        """
        folder = Path(path)
        if folder.name == VECTORS_FILE and folder.is_file():
            folder = folder.parent
        elif (folder / VECTORS_FILE).is_dir():  # tujie 0.1.0's embeddings runs
            folder = folder / VECTORS_FILE
        files = [folder / VECTORS_FILE, folder / VOCAB_FILE]
        if not all(f.is_file() for f in files):
            raise DataNotFoundError(f"No saved word vectors in {folder}.",
                                    expected=f"a folder with {VECTORS_FILE} and {VOCAB_FILE}",
                                    received=f"{[f.name for f in files if f.is_file()] or 'neither file'}",
                                    fix="Pass the folder given to `WordVectors.save`.")
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            info = json.loads(files[1].read_text(encoding="utf-8"))
            tensors = load_file(files[0])
        except (json.JSONDecodeError, UnicodeDecodeError, SafetensorError, OSError) as err:
            raise CheckpointError(f"The word vectors in {folder} are damaged ({err}).",
                                  fix="Save them again with `WordVectors.save`.") from None
        words, vectors = info.get("words") if isinstance(info, dict) else None, tensors.get("vectors")
        if info.get("format") != FILE_FORMAT or not isinstance(words, list) or vectors is None \
                or vectors.shape != (len(words), info.get("dim")):
            raise CheckpointError(f"The files in {folder} are not word vectors saved by tujie, or do not match.",
                                  expected=f"{VOCAB_FILE} with format {FILE_FORMAT!r} and one word per row of {VECTORS_FILE}",
                                  received=f"format {info.get('format')!r}, {len(words or [])} words, "
                                           f"vectors of shape {None if vectors is None else tuple(vectors.shape)}",
                                  fix="Save them again with `WordVectors.save`.")
        counts = tensors.get("counts")
        return cls(words, vectors, None if counts is None else counts.numpy(), info.get("meta"))

    @classmethod
    def from_gensim(cls, keyed_vectors) -> "WordVectors":
        """Wrap gensim's `KeyedVectors` (`model.wv`) to judge both libraries with the same code.

        Example:
            >>> from gensim.models import Word2Vec  # doctest: +SKIP
            >>> WordVectors.from_gensim(Word2Vec([["a", "b"]], min_count=1, vector_size=4).wv)  # doctest: +SKIP
            WordVectors(2 words, dim=4)
        """
        words = list(keyed_vectors.index_to_key)
        counts = [keyed_vectors.get_vecattr(w, "count") for w in words] if words and \
            "count" in getattr(keyed_vectors, "expandos", {}) else None
        return cls(words, torch.from_numpy(np.array(keyed_vectors.vectors, dtype=np.float32)), counts,
                   {"trained_by": "gensim"})


def _token_list(tokenizer_or_vocab) -> list:
    """Tokens in id order from a tokenizer, a list of tokens or a {token: id} dict."""
    source = tokenizer_or_vocab
    if isinstance(source, Mapping):
        tokens = [None] * len(source)
        for token, i in source.items():
            if not isinstance(i, int) or not 0 <= i < len(source) or tokens[i] is not None:
                raise ConfigError("Invalid vocabulary dict for to_embedding.", expected="ids 0..n-1, each used once",
                                  received=f"{token!r}: {i!r}", fix="Pass {token: id} with ids 0..n-1, or a list.")
            tokens[i] = token
        return tokens
    if isinstance(source, (list, tuple)):
        return list(source)
    if hasattr(source, "id_to_token") and hasattr(source, "vocab_size"):
        lookup = source.id_to_token
        if callable(lookup):
            return [lookup(i) for i in range(source.vocab_size)]
        return list(lookup) if not isinstance(lookup, Mapping) else [lookup[i] for i in range(len(lookup))]
    raise ConfigError("Invalid value received for argument `tokenizer_or_vocab` of to_embedding.",
                      expected="a trained tokenizer, a list of tokens in id order, or a {token: id} dict",
                      received=f"an object of type {type(source).__name__}",
                      fix="Pass tokenizer (after tokenizer.train(texts)) or tokenizer's token list.")


def load_analogies(path=None) -> list[tuple[str, str, str, str, str]]:
    """Read analogy questions in the word2vec format: ": section" lines, then "a b c d" lines.

    Lines starting with '#' are comments. The answer of "a b c d" is d = b - a + c.

    Args:
        path: a questions file; None for the bundled Google analogy test set (19,544 questions).

    Returns:
        [(section, a, b, c, d), ...] in file order.

    Example:
        >>> questions = load_analogies()
        >>> len(questions), questions[0]
        (19544, ('capital-common-countries', 'Athens', 'Greece', 'Baghdad', 'Iraq'))
    """
    path = Path(ANALOGIES_PATH if path is None else path)
    if not path.is_file():
        raise DataNotFoundError(f"No analogy questions file at {path}.", expected="a file in the word2vec format",
                                fix="Pass a path that exists, or None for the bundled Google analogy set.")
    questions, section = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4 or section is None:
            raise DataError(f"Line {number} of {path} is not an analogy question.",
                            expected='": section" first, then lines of four words "a b c d"',
                            received=repr(line[:80]), fix="Fix or remove the line.")
        questions.append((section, *words))
    return questions


def load_similarity_pairs(path) -> list[tuple[str, str, float]]:
    """Read word pairs rated for similarity: "word1<TAB>word2<TAB>score" lines, '#' comments.

    Example:
        >>> from gensim.test.utils import datapath  # doctest: +SKIP
        >>> len(load_similarity_pairs(datapath("wordsim353.tsv")))  # doctest: +SKIP
        353
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"No word-similarity file at {path}.", expected="a tab-separated file word1, word2, score",
                                fix="Pass the path of e.g. WordSim-353 (gensim.test.utils.datapath('wordsim353.tsv')).")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            pairs.append((fields[0], fields[1], float(fields[2])))
        except (IndexError, ValueError):
            raise DataError(f"Line {number} of {path} is not a rated word pair.", expected="word1<TAB>word2<TAB>score",
                            received=repr(line[:80]), fix="Fix or remove the line.") from None
    return pairs
