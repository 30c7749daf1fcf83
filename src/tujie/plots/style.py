"""The look shared by every tujie figure: colours, fonts (a CJK font when one is installed), PNG output.

Every function builds a `matplotlib.figure.Figure` directly instead of going through
`pyplot`: the figure is rendered by the Agg (raster) engine without a window, it is never
registered with pyplot's global figure list (so nothing can leak or pile up across
reports), and the caller's own pyplot backend is left alone - calling
`matplotlib.use("Agg")` here would silently break plotting in the user's notebook.
matplotlib is imported inside the functions so that `import tujie` stays fast.

Colours are shared with the HTML report: train vs validation, correct vs wrong (blue for a
correct prediction and red for a wrong one, as in the MNIST walkthrough).
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager
from functools import lru_cache

from ..i18n import _, current_language

TRAIN_COLOR = "#4f46e5"     # indigo: training curves


VAL_COLOR = "#ea8a0c"       # amber: validation curves


CORRECT_COLOR = "#1f5fd1"   # blue: correct prediction / true class bar


WRONG_COLOR = "#d62728"     # red: wrong prediction / predicted class bar


NEUTRAL_COLOR = "#a3a9b5"   # grey: the other probability bars, the learning-rate curve


INK_COLOR = "#1f2937"       # text and axes


BETTER_COLOR = "#15803d"    # green: a variant that narrows the overfitting gap


CHANCE_COLOR = "#9ca3af"    # light grey: chance lines, perfect-calibration diagonals


DPI = 110  # small files: the MNIST report stays well under 2 MB


_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei")


@lru_cache(maxsize=1)
def installed_cjk_fonts() -> tuple[str, ...]:
    """The CJK fonts matplotlib can use here (Debian: fonts-noto-cjk), in order of preference."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(f for f in _CJK_FONTS if f in installed)


def figure_label(message: str) -> str:
    """A figure's text in the report's language: Chinese only where a CJK font can draw it.

    Without a CJK font the figure keeps its English labels (never empty boxes); the page
    around it is Chinese either way.
    """
    if current_language() == "zh" and installed_cjk_fonts():
        return _(message)
    return message


@contextmanager
def figure_style():
    """A calm, consistent look for every figure, without touching the caller's rcParams."""
    import matplotlib

    # Class names may be Chinese: put an installed CJK font after DejaVu Sans so Latin text
    # keeps its look and CJK glyphs fall back instead of printing as empty boxes.
    fonts = ["DejaVu Sans", *installed_cjk_fonts()]
    rc = {
        # concrete family names, not "sans-serif": a figure is drawn (savefig) after this context
        # closes, and a generic family would then resolve without the CJK fallback
        "font.family": fonts, "font.sans-serif": fonts, "font.size": 9,
        "axes.edgecolor": "#c4c8d0", "axes.labelcolor": INK_COLOR, "axes.titlesize": 10,
        "axes.titleweight": "bold", "axes.titlecolor": INK_COLOR, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.color": "#e8eaef",
        "grid.linewidth": 0.8, "xtick.color": "#4b5563", "ytick.color": "#4b5563",
        "legend.frameon": False, "figure.facecolor": "white", "savefig.facecolor": "white",
        "image.interpolation": "nearest",
    }
    with matplotlib.rc_context(rc):
        yield


def new_figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def png_bytes(fig, tight: bool = False) -> bytes:
    """Render a matplotlib Figure to PNG bytes at the report's dpi and release it.

    Args:
        fig: a `matplotlib.figure.Figure`.
        tight: crop to the drawn content (costs one more layout pass; use it where long
            tick labels could otherwise be cut at the figure's edge).

    Returns:
        The PNG file as bytes (no timestamp or software tag, so output is reproducible).

    Example:
        >>> from matplotlib.figure import Figure
        >>> png_bytes(Figure(figsize=(1, 1)))[:4]
        b'\\x89PNG'
    """
    buffer = io.BytesIO()
    extra = {"bbox_inches": "tight", "pad_inches": 0.08} if tight else {}
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, **extra)
    fig.clear()  # drop the artists now rather than whenever the garbage collector runs
    return buffer.getvalue()


def _as_float(value) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(values) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _positive_or_nan(values) -> list[float]:
    """For log axes: zero or negative values have no place on them, so they become gaps."""
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


def _curves(xs, ys) -> list[tuple[list[float], list[float]]]:
    """Flat lists -> one curve; lists of per-class lists -> one curve per class."""
    if xs is None or ys is None:
        return []
    xs, ys = list(xs), list(ys)
    if xs and isinstance(xs[0], (list, tuple)):
        return [([_as_float(v) for v in x], [_as_float(v) for v in y]) for x, y in zip(xs, ys)]
    return [([_as_float(v) for v in xs], [_as_float(v) for v in ys])]


def class_colors(count: int):
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    return [colormaps["viridis"](0.9 * i / (count - 1)) for i in range(count)]


def plain_text(text) -> str:
    """Text drawn as written: a pair of `$` would otherwise switch matplotlib to maths mode."""
    return str(text).replace("$", r"\$")


def image_rows(rows: list[tuple], *, label_size: int = 9) -> bytes:
    """A grid of pictures, one row per label (the label on the left), optionally a caption over each picture.

    Args:
        rows: (label, images) or (label, images, captions) per row; an image is (H, W) grey or (C, H, W)
            with C = 1 or 3, values in [0, 1].

    Example:
        >>> import numpy as np
        >>> image_rows([("a", np.zeros((2, 4, 4))), ("b", np.ones((2, 4, 4)), ["x", "y"])])[:4]
        b'\\x89PNG'
    """
    import numpy as np

    columns = max(len(row[1]) for row in rows)
    captioned = any(len(row) > 2 and row[2] for row in rows)
    width, row_height = 0.95 * columns + 1.9, (1.1 if captioned else 0.9)
    with figure_style():
        fig = new_figure(width, row_height * len(rows) + 0.2, layout=None)
        fig.subplots_adjust(left=1.8 / width, right=0.99, top=0.93 if captioned else 0.98, bottom=0.02, wspace=0.08,
                            hspace=0.35 if captioned else 0.08)
        axes = fig.subplots(len(rows), columns, squeeze=False)
        for r, (label, images, *rest) in enumerate(rows):
            captions = rest[0] if rest else []
            for c in range(columns):
                ax = axes[r][c]
                ax.set_xticks([]), ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if c < len(images):
                    picture = np.clip(np.asarray(images[c], dtype=np.float64), 0.0, 1.0)
                    if picture.ndim == 3 and picture.shape[0] == 1:
                        picture = picture[0]
                    if picture.ndim == 3:  # (C, H, W) → (H, W, C)
                        picture = picture.transpose(1, 2, 0)
                    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
                    if c < len(captions):
                        ax.set_title(captions[c], fontsize=8, color=INK_COLOR, pad=2)
            axes[r][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=label_size, color=INK_COLOR)
        return png_bytes(fig)
