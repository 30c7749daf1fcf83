"""Chinese and English: the message catalogs of tujie's report, command line and errors.

Every sentence a person reads is written in English in the code and marked `_("...")`;
`locale/zh/LC_MESSAGES/tujie.po` holds its Chinese (the textbook's own terms: 损失函数,
过拟合, 验证集, 混淆矩阵 ...), compiled to `tujie.mo` beside it and read with Python's gettext.
Placeholders are named, `_("{k} folds").format(k=5)`, so a translation may reorder them.

The language is, in this order: `language("zh")` around a block, `set_language(...)`, the
`TUJIE_LANG` environment variable, the locale (`LANG`/`LC_ALL`/`LC_MESSAGES` = `zh_*`: Chinese),
else English.

Example:
    >>> with language("zh"):
    ...     _("Training curves")
    '训练曲线'
    >>> with language("en"):
    ...     _("Training curves")
    'Training curves'
"""

from __future__ import annotations

import gettext
import os
from contextlib import contextmanager
from pathlib import Path

from . import errors
from .errors import ConfigError

LANGUAGES = ("en", "zh")
LOCALE_DIR = Path(__file__).with_name("locale")
_DOMAIN = "tujie"
_chosen: str | None = None  # set_language / language(); None: from the environment
_catalogs: dict[str, gettext.NullTranslations] = {}


def default_language() -> str:
    """`TUJIE_LANG` if set, else "zh" for a Chinese locale (zh_CN.UTF-8, zh_TW ...), else "en"."""
    if os.environ.get("TUJIE_LANG"):
        return check_language(os.environ["TUJIE_LANG"], "TUJIE_LANG")
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(variable)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def check_language(lang: str, where: str = "lang") -> str:
    """'zh', 'zh_CN', 'zh-CN.UTF-8' -> 'zh'; 'en', 'en_US' -> 'en'; anything else is refused."""
    short = str(lang).strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    if short not in LANGUAGES:
        raise ConfigError(f"Unknown language {lang!r} in {where}.", expected="zh (Chinese) or en (English)",
                          received=f"{where}={lang!r}", fix="Use --lang zh or --lang en (or TUJIE_LANG=zh).")
    return short


def current_language() -> str:
    return _chosen or default_language()


def set_language(lang: str | None) -> None:
    """Choose the language from now on (None: follow TUJIE_LANG and the locale again)."""
    global _chosen
    _chosen = None if lang is None else check_language(lang)


@contextmanager
def language(lang: str | None):
    """Use `lang` inside the block (None: leave the language as it is)."""
    global _chosen
    before = _chosen
    if lang is not None:
        _chosen = check_language(lang)
    try:
        yield current_language()
    finally:
        _chosen = before


def catalog(lang: str | None = None) -> gettext.NullTranslations:
    """The gettext catalog of a language (English: the messages as written)."""
    lang = lang or current_language()
    if lang not in _catalogs:
        _catalogs[lang] = gettext.translation(_DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    return _catalogs[lang]


def _(message: str) -> str:
    """The message in the current language."""
    return catalog().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """`singular` or `plural` for `n`, in the current language (Chinese has one form)."""
    return catalog().ngettext(singular, plural, n)


def translated(text: str) -> str:
    """Text that is data, not code (a recipe's description, the source of its expected result),
    in the current language when the catalog has it, else as written; "" stays "" (gettext
    would give the catalog's header for it)."""
    return catalog().gettext(text) if text else text


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it now (module-level tables)."""
    return message


# The error template's headings ("Expected:", "Received:", "Fix:") follow the language too.
N_("Expected:"), N_("Received:"), N_("Fix:")
errors._headings = _
