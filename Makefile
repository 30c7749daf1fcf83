# tujie: `make run` trains the MNIST walkthrough, `make test` runs the tests.
# Both create .venv first. torch is pinned by constraints.txt (CPU build 2.13.0):
# every pip install here passes `-c constraints.txt` so pip never pulls a CUDA torch.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Point the loaders at the shared offline datasets when they sit beside the project.
SHARED_DATA := $(abspath ../shared/data)
export TUJIE_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: venv run test bench i18n clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

run: venv
	$(BIN)/tujie run mnist-mlp

# pytest-xdist: one worker per core (at most 4), the tests shared out between them as they finish; a single
# file or test still runs plainly with `.venv/bin/python -m pytest tests/...`.
test: venv
	$(BIN)/python -m pytest -n auto --maxprocesses 4

bench: venv
	$(BIN)/pip install -q -c constraints.txt -e '.[test,bench]'
	$(BIN)/python bench/import_time.py
	$(BIN)/python bench/mnist_mlp.py
	$(BIN)/python bench/time_to_accuracy.py

# After marking new messages _("..."): add them to the zh catalog (fill in the Chinese), compile it.
i18n: venv
	$(BIN)/python tools/i18n.py update

clean:
	rm -rf $(VENV) runs .pytest_cache
