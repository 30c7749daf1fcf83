"""Keep tujie's Chinese catalog in step with the code: extract, check, compile.

    python tools/i18n.py check     # messages in the code with no Chinese (exit 1 if any)
    python tools/i18n.py update    # add new messages to tujie.po (empty), drop none, then compile
    python tools/i18n.py compile   # tujie.po (+ fragments/*.po) -> tujie.mo

Messages are the descriptions and expected-result sources of the recipes, and what the code marks with `_("...")`, `N_("...")` and `ngettext("...", "...", n)`
(`tujie.i18n`), and figure text marked `figure_label("...")` (`tujie.plots.style`). The catalog is `src/tujie/locale/zh/LC_MESSAGES/tujie.po`; translators working
in parallel may write `src/tujie/locale/zh/fragments/*.po`, which `compile` reads after it and
`update` folds into it. Needs Babel (`pip install babel`, in the `test` extra).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tujie"
LOCALE = SRC / "locale" / "zh"
PO = LOCALE / "LC_MESSAGES" / "tujie.po"
MO = LOCALE / "LC_MESSAGES" / "tujie.mo"
FRAGMENTS = LOCALE / "fragments"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "figure_label": None}


def extract() -> dict:
    """msgid (or (singular, plural)) -> ["file:line", ...] for every marked message in src/tujie."""
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(SRC), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
        key = message if isinstance(message, str) else tuple(message)
        if not key or (isinstance(key, tuple) and not key[0]):
            continue
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    for recipe in sorted((SRC / "recipes").glob("*.yaml")):  # a recipe's own words reach the report and `tujie recipes`
        spec = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
        variants = [v.get("description") for v in (spec.get("lab") or {}).get("variants", []) if isinstance(v, dict)]
        for text in (spec.get("description"), (spec.get("expected") or {}).get("source"), *variants):
            if isinstance(text, str) and text:
                found.setdefault(text, []).append(f"recipes/{recipe.name}:1")
    return found


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="zh", domain="tujie")


def catalogs() -> list[Catalog]:
    """The main catalog, then the fragments (a later entry wins)."""
    paths = ([PO] if PO.is_file() else []) + sorted(FRAGMENTS.glob("*.po"))
    return [read(p) for p in paths]


def merged() -> dict:
    """msgid -> translation (str, or a tuple of plural forms) from every catalog, fuzzy ones left out."""
    out: dict = {}
    for catalog in catalogs():
        for m in catalog:
            if not m.id or m.fuzzy:
                continue
            has = any(m.string) if isinstance(m.string, (tuple, list)) else bool(m.string)
            if has:
                out[m.id] = m.string
    return out


def missing() -> list[tuple]:
    translated = merged()
    return [(key, where) for key, where in extract().items() if key not in translated]


def compile_mo() -> Path:
    catalog = Catalog(locale="zh", domain="tujie", charset="utf-8")
    for key, string in merged().items():
        catalog.add(key, string)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    MO.parent.mkdir(parents=True, exist_ok=True)
    tmp = MO.with_suffix(".mo.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(MO)
    return MO


def update() -> None:
    """Fold fragments into tujie.po, add new messages (untranslated), order by first use, compile."""
    translated = merged()
    found = extract()
    catalog = Catalog(locale="zh", domain="tujie", project="tujie", version="0.1", charset="utf-8", fuzzy=False,
                      last_translator="tujie developers", language_team="tujie developers",
                      header_comment="# Chinese (simplified) messages of tujie's report, command line and errors.\n"
                                     "# Terms follow the textbook: 损失函数, 过拟合, 验证集, 混淆矩阵, 精确率, 召回率, 学习率.")
    for key, where in found.items():
        catalog.add(key, translated.get(key, ("", "") if isinstance(key, tuple) else ""),
                    locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where[:3]])
    for key, string in translated.items():  # kept: translations of messages no longer in the code are harmless
        if key not in found:
            catalog.add(key, string, flags=("obsolete-kept",))
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, sort_output=False, include_previous=False)
    PO.parent.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(buffer.getvalue())
    for fragment in FRAGMENTS.glob("*.po"):
        fragment.unlink()
    compile_mo()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "compile":
        print(f"wrote {compile_mo()}")
        return 0
    if command == "update":
        update()
        print(f"wrote {PO} and {MO}")
    gaps = missing()
    for key, where in gaps:
        print(f"no Chinese: {key!r}  ({where[0]})")
    print(f"{len(extract())} messages, {len(gaps)} without Chinese")
    return 1 if gaps and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
