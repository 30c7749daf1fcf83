"""Shared test setup: tests marked `data` need the real datasets and skip without TUJIE_DATA."""

import os

import pytest
import torch

# Tests use tiny tensors: one thread is faster for them, and immune to a busy machine's other load
# (with two threads each op waits for the slower core).
torch.set_num_threads(1)

# Reports and messages are English unless a test asks for Chinese (tujie.i18n.language("zh")),
# whatever the machine's locale or TUJIE_LANG say.
os.environ["TUJIE_LANG"] = "en"


@pytest.fixture(autouse=True)
def _skip_data_tests_without_data(request):
    if request.node.get_closest_marker("data") and not os.environ.get("TUJIE_DATA"):
        pytest.skip("needs the real datasets: run with TUJIE_DATA=/path/to/data")


@pytest.fixture(scope="session")
def untranslated_english():
    """`untranslated_english(page) -> [words]`: English prose left in a Chinese page's visible text, by the
    kinds' contract test's own parser and word list (tests/kinds/test_kinds.py), for pages that are no run's report."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent / "kinds" / "test_kinds.py"
    spec = importlib.util.spec_from_file_location("_kinds_contract", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def check(page: str) -> list[str]:
        text = module._Text()
        text.feed(page)
        return module.english_words(" ".join(text.parts))

    return check
