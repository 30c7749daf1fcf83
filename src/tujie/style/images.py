"""The pictures of style transfer: content photos from scikit-image, paintings from `style-images/`, any file by path.

Content photos are scikit-image's bundled images (`skimage.data.astronaut()`, `chelsea()`,
`coffee()` ...: public domain or CC0, in the package, no download). Style images are the three
public-domain paintings of the `style-images` dataset, found through `TUJIE_DATA` or the cache
and checked against their sha256, downloaded from their source repositories when missing; or
any image file a user names. Every picture becomes a float tensor (1, 3, H, W) in [0, 1], its
longer side `size` pixels. A file Pillow cannot decode is a `DataError` naming the file.

Example:
    >>> load_content("chelsea", size=64).shape
    torch.Size([1, 3, 43, 64])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError

# scikit-image's bundled colour photos (skimage/data): name -> what it shows
CONTENT_IMAGES = {"astronaut": "Eileen Collins, NASA portrait", "chelsea": "Chelsea the cat", "coffee": "a cup of coffee",
                  "rocket": "a SpaceX Falcon 9 launch", "hubble_deep_field": "the Hubble deep field"}

# style-images/ (SOURCES.md §11): file -> (sha256, source url)
STYLE_IMAGES = {
    "vangogh_starry_night.jpg": (
        "c31741a09141c2e2d07fc7aa6bdf135c369b804f9433e43fa3ceac19386d1ee6",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/starry_night_google.jpg"),
    "hokusai_great_wave.jpg": (
        "54f19686bea5117c0bb68ce4425dbed4efafa3e8d7cafe35f0fae80b8223f4be",
        "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/wave.jpg"),
    "turner_wreck_of_the_minotaur.jpg": (
        "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213",
        "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/shipwreck.jpg"),
}


def style_path(name: str, data_dir=None) -> Path:
    """The path of a style image: one of `STYLE_IMAGES` (verified, found or downloaded), else a file path.

    Example:
        >>> style_path("no_such_painting.jpg")
        Traceback (most recent call last):
        ...
        tujie.errors.DataNotFoundError: The style image no_such_painting.jpg does not exist.
        ...
    """
    from ..data._files import resolve
    from ..errors import DataNotFoundError

    stem = name if name.endswith(".jpg") else f"{name}.jpg"
    if stem in STYLE_IMAGES:
        sha256, url = STYLE_IMAGES[stem]
        return resolve("style-images", stem, sha256=sha256, urls=[url], data_dir=data_dir)
    path = Path(name).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"The style image {name} does not exist.", expected=f"an image file, or one of {', '.join(STYLE_IMAGES)}",
                                received=f"style={name!r}", fix="Check the path, or name one of the bundled paintings.")
    return path


def read_image(path, what: str = "image") -> np.ndarray:
    """An image file as an (H, W, 3) uint8 array; a file Pillow cannot decode is a DataError naming it.

    Example:
        >>> import tempfile, os
        >>> bad = os.path.join(tempfile.mkdtemp(), "broken.jpg")
        >>> _ = open(bad, "wb").write(b"not a jpeg")
        >>> read_image(bad, "style image")
        Traceback (most recent call last):
        ...
        tujie.errors.DataError: The style image .../broken.jpg could not be decoded (UnidentifiedImageError).
        ...
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, not later
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"The {what} {path} could not be decoded ({type(e).__name__}).",
                        expected="an image Pillow reads (JPEG, PNG, BMP, TIFF, WebP ...)",
                        received=f"{Path(path).stat().st_size:,} bytes" if Path(path).is_file() else "no file",
                        fix="Open the file in an image viewer; save it again as PNG or JPEG, or download it again.") from None


def content_array(name: str) -> np.ndarray:
    """A content photo: a scikit-image image's name (`CONTENT_IMAGES`) or an image file's path, (H, W, 3) uint8."""
    if name in CONTENT_IMAGES:
        from skimage import data

        return np.asarray(getattr(data, name)())[..., :3]
    if not Path(name).expanduser().is_file():
        raise ConfigError(f"The content image {name!r} is neither a scikit-image photo nor a file.",
                          expected=f"one of {', '.join(CONTENT_IMAGES)}, or an image file's path", received=f"content={name!r}",
                          fix="Name a scikit-image photo (style_transfer.content: chelsea) or give the path of your photo.")
    return read_image(Path(name).expanduser(), "content image")


def to_tensor(array: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) uint8 → (1, 3, h, w) float in [0, 1], resized (antialiased) so the longer side is `size`."""
    from PIL import Image

    image = Image.fromarray(array)
    scale = size / max(image.size)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    resized = np.asarray(image.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0  # (h, w, 3)
    return torch.from_numpy(resized).permute(2, 0, 1).unsqueeze(0).contiguous()                   # (1, 3, h, w)


def load_content(name: str, size: int) -> torch.Tensor:
    """A content photo as (1, 3, h, w) in [0, 1], its longer side `size`."""
    return to_tensor(content_array(name), size)


def load_style(name: str, size: int, data_dir=None) -> torch.Tensor:
    """A style image as (1, 3, h, w) in [0, 1], its longer side `size`."""
    return to_tensor(read_image(style_path(name, data_dir), "style image"), size)


def save_png(path, image: torch.Tensor) -> Path:
    """Write a (1, 3, H, W) image in [0, 1] as an 8-bit PNG, atomically."""
    import io

    from PIL import Image

    from .._io import write_bytes

    array = (image.detach()[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # (H, W, 3)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return write_bytes(Path(path), buffer.getvalue())
