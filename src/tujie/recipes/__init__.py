"""Recipes are data: YAML files here, each a `RunConfig` stating its expected result and its source.

`tujie recipes` lists them; `tujie run NAME` runs one; a path to your own YAML file works too.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from ..errors import ConfigError, closest


def _files() -> dict[str, object]:
    return {p.name[:-5]: p for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml")}


def list_recipes() -> dict[str, str]:
    """Recipe name → one-line description.

    Example:
        >>> "mnist-mlp" in list_recipes()
        True
    """
    return {name: (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("description", "")
            for name, p in sorted(_files().items())}


def load_recipe(name: str) -> dict:
    """The recipe mapping for a built-in name or a path to a YAML file."""
    files = _files()
    if name in files:
        raw = files[name].read_bytes()
    elif name.endswith((".yaml", ".yml")) and Path(name).is_file():
        raw = Path(name).read_bytes()
    else:
        raise ConfigError(f"Unknown recipe {name!r}. {closest(name, files)}", expected=f"one of {', '.join(sorted(files))}, or a .yaml file",
                          received=name, fix="Run `tujie recipes` to list them.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ConfigError(f"Recipe {name!r} is not UTF-8 text (line {line}, byte {e.start}).", expected="a YAML file saved as UTF-8",
                          received=f"the bytes {raw[e.start:e.start + 4]!r}", fix="Save the file as UTF-8 (most editors: Save with encoding).") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"Recipe {name!r} is not valid YAML: {e}.", fix="Fix the YAML syntax.") from None
    if data is None:
        raise ConfigError(f"Recipe {name!r} is empty.", expected="key: value pairs (at least data:, model: and train:)",
                          received="an empty file" if not text.strip() else "only comments",
                          fix="Start from a built-in recipe: copy one from `tujie recipes` (src/tujie/recipes/NAME.yaml).")
    if not isinstance(data, dict):
        raise ConfigError(f"Recipe {name!r} is not a mapping.", expected="key: value pairs", received=type(data).__name__,
                          fix="Start from a built-in recipe (tujie recipes).")
    data.setdefault("recipe", Path(name).stem if name not in files else name)
    return data
