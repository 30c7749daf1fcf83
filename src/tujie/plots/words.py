"""Figures of sequences and words: BLEU by sentence length, a 2-D map of word vectors."""

from __future__ import annotations

import math

from .style import (BETTER_COLOR, INK_COLOR, NEUTRAL_COLOR, TRAIN_COLOR, VAL_COLOR, _as_float, class_colors,
                    figure_label, figure_style, new_figure, plain_text, png_bytes)


def bleu_by_length(series: dict[str, list[dict]]) -> bytes:
    """BLEU of each source-length bucket, one group of bars per bucket, one bar per decoding.

    Args:
        series: decoding name -> its buckets, each {"bucket": "1-5", "bleu": float, "count": int}
            (translation.json's `by_length`), e.g. {"greedy": [...], "beam 5": [...]}.

    Returns:
        PNG bytes.

    Example:
        >>> bleu_by_length({"greedy": [{"bucket": "1-5", "bleu": 31.0, "count": 40},
        ...                            {"bucket": "6-10", "bleu": 22.5, "count": 25}]})[:4]
        b'\\x89PNG'
    """
    series = {str(name): [b for b in buckets if isinstance(b, dict)] for name, buckets in series.items()
              if isinstance(buckets, list)}
    buckets: list[str] = []
    counts: dict[str, object] = {}
    for rows in series.values():
        for row in rows:
            name = str(row.get("bucket", "?"))
            if name not in buckets:
                buckets.append(name)
                counts[name] = row.get("count")
    scores = {name: {str(r.get("bucket", "?")): _as_float(r.get("bleu")) for r in rows} for name, rows in series.items()}
    if not any(math.isfinite(v) for s in scores.values() for v in s.values()):
        raise ValueError("at least one bucket with a finite BLEU; received none")
    colors = [TRAIN_COLOR, VAL_COLOR, BETTER_COLOR, NEUTRAL_COLOR]
    width = 0.8 / max(len(series), 1)
    with figure_style():
        fig = new_figure(max(4.2, 1.6 + 1.0 * len(buckets) * max(len(series), 1) ** 0.5), 3.2)
        ax = fig.subplots()
        for rank, (name, by_bucket) in enumerate(scores.items()):
            xs = [i + (rank - (len(scores) - 1) / 2) * width for i in range(len(buckets))]
            heights = [by_bucket.get(b, math.nan) for b in buckets]
            ax.bar(xs, [h if math.isfinite(h) else 0.0 for h in heights], width=width * 0.92,
                   color=colors[rank % len(colors)], label=name)
            for x, h in zip(xs, heights):
                if math.isfinite(h):
                    ax.text(x, h, f"{h:.1f}", ha="center", va="bottom", fontsize=7, color=INK_COLOR)
        labels = []
        for name in buckets:
            count = counts.get(name)
            labels.append(plain_text(name) + "\n" + figure_label("({count} sentences)").format(count=f"{count:,}")
                          if isinstance(count, int) else plain_text(name))
        ax.set_xticks(range(len(buckets)), labels, fontsize=8)
        ax.set_xlabel(figure_label("source sentence length (words)"))
        ax.set_ylabel("BLEU (0-100)")
        ax.set_title(figure_label("BLEU by source sentence length"))
        ax.margins(y=0.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the bars, never over them
        return png_bytes(fig, tight=True)


def embedding_projection(words: list[str], xy, groups: list[str] | None = None, method: str = "pca") -> bytes:
    """Word vectors projected to 2-D: one labelled dot per word, coloured by its group.

    Args:
        words: the N words.
        xy: (N, 2) their coordinates in the projection.
        groups: the N words' groups (e.g. "countries", "verbs"), or None for one colour.
        method: "pca" or "tsne", for the title and axis labels.

    Returns:
        PNG bytes.

    Example:
        >>> embedding_projection(["king", "queen", "paris"], [[0, 1], [0.2, 1.1], [2, -1]],
        ...                      ["royalty", "royalty", "cities"])[:4]
        b'\\x89PNG'
    """
    words = [str(w) for w in words]
    points = [(_as_float(p[0]), _as_float(p[1])) if isinstance(p, (list, tuple)) and len(p) == 2
              else (math.nan, math.nan) for p in xy]
    if len(points) != len(words) or (groups is not None and len(groups) != len(words)):
        raise ValueError(f"one point (and group) per word; received {len(words)} words, {len(points)} points"
                         + (f", {len(groups)} groups" if groups is not None else ""))
    kept = [i for i, (x, y) in enumerate(points) if math.isfinite(x) and math.isfinite(y)]
    if not kept:
        raise ValueError("at least one word with finite coordinates; received none")
    labels = [str(g) for g in groups] if groups is not None else [""] * len(words)
    names = list(dict.fromkeys(labels[i] for i in kept))
    colors = dict(zip(names, class_colors(len(names)) if len(names) > 1 else [TRAIN_COLOR]))
    tsne = str(method).lower().replace("-", "") == "tsne"
    with figure_style():
        fig = new_figure(7.6, 5.4)
        ax = fig.subplots()
        for name in names:
            members = [i for i in kept if labels[i] == name]
            ax.scatter([points[i][0] for i in members], [points[i][1] for i in members], s=18,
                       color=colors[name], label=plain_text(name) if name else None, zorder=3)
        for i in kept:
            ax.annotate(plain_text(words[i]), points[i], xytext=(3, 3), textcoords="offset points", fontsize=7,
                        color=colors[labels[i]])
        if tsne:
            ax.set_xlabel("t-SNE 1")
            ax.set_ylabel("t-SNE 2")
        else:
            ax.set_xlabel(figure_label("principal component {number}").format(number=1))
            ax.set_ylabel(figure_label("principal component {number}").format(number=2))
        ax.set_title(figure_label("{method} map of {count} word vectors").format(method="t-SNE" if tsne else "PCA",
                                                                                   count=len(kept)))
        ax.margins(0.08)
        if len(names) > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)  # beside the dots, never over them
        return png_bytes(fig, tight=True)
