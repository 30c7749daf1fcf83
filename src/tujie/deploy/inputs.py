"""What `POST /predict` accepts, checked before the model sees it: JSON arrays, texts, image files.

Every refusal is a `RequestRefused` in the house's error template (what was wrong, what was
expected, what was received, how to fix it) with the HTTP status the server answers: 422 for
an input that is wrong (shape, type, NaN, an empty batch, a file that is no image) and 413 for
one that is too large (too many items). The server turns it into `{"detail": "..."}`.

Image and tabular samples arrive as nested lists on the model's "unit" scale (pixels in
[0, 1]); a sample may be given in the model's own shape, flat, or without its size-1 axes (a
28×28 list for a (1, 28, 28) model). An image file is decoded with Pillow, made grayscale or
RGB, resized to the model's size and scaled to [0, 1].

Example:
    >>> import numpy as np
    >>> batch = image_or_tabular_batch([[0.0] * 4, [1.0] * 4], (1, 2, 2), task="image")
    >>> batch.shape, batch.dtype
    ((2, 1, 2, 2), dtype('float32'))
    >>> image_or_tabular_batch([[0.0, float("nan")]], (2,), task="tabular")
    Traceback (most recent call last):
    ...
    tujie.deploy.inputs.RequestRefused: inputs[0] holds NaN or infinity. Expected: finite numbers. Received: 1 of 2 numbers are NaN or infinite. Fix: Replace missing values before sending (with the training mean, for example); JSON has no NaN.
"""

from __future__ import annotations

import io
import math

import numpy as np

from ..errors import DataError


class RequestRefused(DataError):
    """An input `POST /predict` cannot answer; `status` is the HTTP code (422 wrong, 413 too large)."""

    def __init__(self, what: str, *, status: int = 422, **parts):
        super().__init__(what, **parts)
        self.status = status


# Pillow refuses images above ~179 megapixels itself; a classifier's input is a few thousand pixels and a
# phone's photo 12 megapixels, so anything past 4096×4096 is a mistake (or a decompression bomb: a small
# PNG of a huge blank image) and is refused from its header, before decoding.
MAX_IMAGE_PIXELS = 4096 * 4096


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _squeezed(shape) -> tuple:
    return tuple(d for d in shape if d != 1)


def check_batch_size(count: int, max_items: int, what: str = "inputs") -> None:
    """Refuse an empty batch (422) and one of more than `max_items` samples (413)."""
    if count == 0:
        raise RequestRefused(f"`{what}` is empty: there is nothing to predict.", expected="at least one sample",
                             received=f"{what}=[]", fix='Send {"inputs": [sample, ...]} with one or more samples.')
    if count > max_items:
        raise RequestRefused(f"Too many samples in one request: {count}.", status=413,
                             expected=f"at most {max_items} samples per request (the server's max_items)",
                             received=f"{count} samples",
                             fix=f"Split the batch into requests of {max_items} samples or fewer.")


def _numbers(sample, index: int, strict: bool = True) -> np.ndarray:
    """One sample as float64, refusing strings, booleans, objects and ragged lists by name.

    numpy reads a list of numbers fast, and turns any string into a non-numeric dtype; but it
    reads `True` as 1.0, so `strict` (the request may hold true/false) walks every value first.
    """
    if not strict:
        try:
            array = np.asarray(sample)
        except ValueError:
            array = None  # ragged: the walk below names it
        if array is not None and array.dtype.kind in "iuf":
            return array.astype(np.float64, copy=False)
    wrong = sorted({type(v).__name__ for v in _leaves(sample) if isinstance(v, bool) or not isinstance(v, (int, float))})
    if wrong:
        raise RequestRefused(f"inputs[{index}] holds values that are not numbers ({', '.join(wrong)}).",
                             expected="numbers only (nested lists of JSON numbers)",
                             received=f"values of type {', '.join(wrong)}",
                             fix="Send the sample's numbers as JSON numbers: not strings, objects, null or true/false.")
    try:
        return np.asarray(sample, dtype=np.float64)
    except ValueError:
        raise RequestRefused(f"inputs[{index}] is a ragged list: its rows have different lengths.",
                             expected="a rectangular nested list (every row as long as the others)",
                             received="rows of different lengths",
                             fix="Check the sample's rows; pad or crop them to the model's shape.") from None


def _leaves(value):
    """The scalars of a nested list."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item


def image_or_tabular_batch(inputs: list, input_shape: tuple, *, task: str, strict: bool = True) -> np.ndarray:
    """JSON samples -> a float32 array (N, *input_shape), or a `RequestRefused` naming the first fault.

    Args:
        inputs: the request's samples, each a nested list of numbers.
        input_shape: one sample's shape, e.g. (1, 28, 28).
        task: "image" (values must lie in [0, 1]) or "tabular" (any finite numbers).
        strict: check every value's type in Python (slower); the server passes False when the
            request's body holds no `true`/`false`, the one thing numpy would read as a number.
    """
    input_shape = tuple(int(d) for d in input_shape)
    size = math.prod(input_shape)
    samples = []
    for index, sample in enumerate(inputs):
        if isinstance(sample, (str, dict)) or not isinstance(sample, (list, tuple, int, float)):
            raise RequestRefused(f"inputs[{index}] is {_a(type(sample).__name__)}, not an array of numbers.",
                                 expected=f"for this {task} model, each sample a nested list of shape {_shape_text(input_shape)}",
                                 received=f"inputs[{index}]={_preview(sample)}",
                                 fix="Send {\"inputs\": [sample, ...]} with each sample a list of numbers.")
        array = _numbers(sample, index, strict)
        if array.shape != input_shape:
            if array.shape == (size,) or _squeezed(array.shape) == _squeezed(input_shape):
                array = array.reshape(input_shape)  # flat, or without its size-1 axes: the same numbers
            else:
                raise RequestRefused(f"inputs[{index}] has the wrong shape for this model.",
                                     expected=f"one sample of shape {_shape_text(input_shape)} ({size} numbers), "
                                              "or the same numbers flat",
                                     received=f"shape {_shape_text(array.shape)} ({array.size} number{'s' if array.size != 1 else ''})",
                                     fix=f"Reshape each sample to {_shape_text(input_shape)}; "
                                         "a batch of one is {\"inputs\": [sample]}.")
        finite = np.isfinite(array)
        if not finite.all():
            raise RequestRefused(f"inputs[{index}] holds NaN or infinity.", expected="finite numbers",
                                 received=f"{int((~finite).sum())} of {array.size} numbers are NaN or infinite",
                                 fix="Replace missing values before sending (with the training mean, for example); "
                                     "JSON has no NaN.")
        if task == "image" and (array.min() < -1e-6 or array.max() > 1.0 + 1e-6):
            hint = ("Divide 0–255 pixels by 255." if array.max() > 1.0 and array.max() <= 255.0
                    else "Scale the pixels to [0, 1] (the model's own normalisation is applied by the server).")
            raise RequestRefused(f"inputs[{index}] has pixels outside [0, 1].",
                                 expected="pixels on the unit scale, 0.0 (black) to 1.0 (white)",
                                 received=f"values from {array.min():g} to {array.max():g}", fix=hint)
        samples.append(array.astype(np.float32))
    return np.stack(samples)  # (N, *input_shape)


def text_batch(inputs: list) -> list[str]:
    """JSON samples -> a list of texts, refusing anything that is not a non-empty string."""
    for index, text in enumerate(inputs):
        if not isinstance(text, str):
            raise RequestRefused(f"inputs[{index}] is {_a(type(text).__name__)}, but this model reads text.",
                                 expected="each sample a string", received=f"inputs[{index}]={_preview(text)}",
                                 fix='Send {"inputs": ["a review to classify", ...]}.')
        if not text.strip():
            raise RequestRefused(f"inputs[{index}] is an empty text.", expected="at least one word",
                                 received=f"inputs[{index}]={text!r}", fix="Leave empty texts out of the batch.")
    return list(inputs)


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _preview(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def image_file_sample(data: bytes, filename: str, input_shape: tuple, *, invert: bool = False) -> np.ndarray:
    """An uploaded PNG/JPEG -> one float32 sample of `input_shape` ((C, H, W) or (H, W)) in [0, 1].

    Grayscale for one channel, RGB for three; resized to the model's height and width (bilinear);
    `invert` turns dark-on-light (a digit written on paper) into MNIST's light-on-dark.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise RequestRefused("This server cannot read image files: Pillow is not installed.", status=415,
                             expected="Pillow, to decode PNG and JPEG", received="no `PIL` module",
                             fix='Install it (pip install pillow), or send the pixels as JSON: {"inputs": [...]}.') from None
    if len(input_shape) == 3:
        channels, height, width = input_shape
    elif len(input_shape) == 2:
        (height, width), channels = input_shape, 1
    else:
        channels, height, width = None, None, None
    if channels not in (1, 3):
        raise RequestRefused(f"This model takes samples of shape {_shape_text(input_shape)}, not images.",
                             status=415, expected="JSON arrays for this model", received=f"the file {filename!r}",
                             fix='Send {"inputs": [sample, ...]} as JSON.')
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise RequestRefused(f"The image {filename!r} is too large: {image.width}×{image.height} pixels.", status=413,
                                 expected=f"at most {MAX_IMAGE_PIXELS:,} pixels (the model needs {width}×{height})",
                                 received=f"{image.width * image.height:,} pixels",
                                 fix=f"Shrink it first; the server resizes to {width}×{height} anyway.")
        image.load()
    except RequestRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise RequestRefused(f"The file {filename!r} is not an image Pillow can read ({type(error).__name__}).",
                             expected="a PNG or JPEG file", received=f"{len(data):,} bytes starting {data[:8]!r}",
                             fix="Upload a .png or .jpg file as multipart/form-data (curl -F file=@digit.png ...).") from None
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W) or (H, W, 3), in [0, 1]
    if invert:
        pixels = 1.0 - pixels
    if channels == 3:
        pixels = pixels.transpose(2, 0, 1)  # (3, H, W)
    return pixels.reshape(input_shape)
