"""The house's floors, checked by reading the imports of `src/tujie` (ast, nothing is imported).

Floors, top to bottom (docs/architecture.md): cli → runner/ (a run, a search) → kinds/ → report/ → domains
(text/, timeseries/, fundamentals/, generative/, search/, compress/, deploy/, rl/, graphs/, recsys/, detection/,
style/, speech/, trust/) → toolkit (layers/ models/ data/ train/ evaluate/ plots/) → ground
(errors, _io, config, utils, i18n, _hooks). Every import counts, also those inside functions: a lazy
import still ties the lower file to the upper one. Each failure names the offending pair.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tujie"

TOOLKIT = ("layers", "models", "data", "train", "evaluate", "plots")
DOMAINS = ("text", "timeseries", "fundamentals", "generative", "search", "compress", "deploy", "rl",
           "graphs", "recsys", "detection", "style", "speech", "trust", "lm")
TOP = ("kinds", "runner", "report", "cli")  # what no library floor may import


def _module_name(path: Path) -> str:
    parts = ("tujie", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The tujie modules one import statement reaches (a package means its __init__)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "tujie"]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "tujie":
        return []
    reached = []
    for alias in node.names:  # `from . import models` reaches tujie.models itself
        sub = f"{target}.{alias.name}"
        reached.append(sub if sub in MODULES else target)
    return reached


def import_graph() -> dict[str, set[str]]:
    """module -> the tujie modules it imports (anywhere in the file), by module name."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in _resolve(name, is_package, node) if t in MODULES and t != name)
        graph[name] = edges
    return graph


GRAPH = import_graph()


def _floor(module: str) -> str:
    """'tujie.text.translation' -> 'text'; 'tujie.config' -> 'config'; 'tujie' -> '' (the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _violations(lower: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{a} imports {b}" for a, targets in sorted(GRAPH.items()) if _floor(a) in lower
            for b in sorted(targets) if _floor(b) in forbidden]


def test_the_graph_is_read():
    # a reader that found nothing would make every rule below pass
    assert len(MODULES) > 80 and sum(map(len, GRAPH.values())) > 150
    assert "tujie.train.loop" in GRAPH["tujie.train"]


def test_no_import_circles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import circles: " + "; ".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("floor", TOOLKIT)
def test_toolkit_never_imports_the_top_or_a_domain(floor):
    bad = _violations((floor,), TOP + DOMAINS)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("floor", DOMAINS)
def test_domains_never_import_kinds_runner_report_or_cli(floor):
    bad = _violations((floor,), TOP)
    assert not bad, "\n".join(bad)


def test_report_never_imports_kinds_runner_cli_or_domains():
    bad = _violations(("report",), ("kinds", "runner", "cli") + DOMAINS)
    assert not bad, "\n".join(bad)


def test_kinds_never_import_the_runner_or_cli():
    bad = _violations(("kinds",), ("runner", "cli"))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("ground", ("config", "errors", "_io", "utils", "i18n", "_hooks"))
def test_ground_imports_only_ground(ground):
    allowed = {"config", "errors", "_io", "utils", "i18n", "_hooks", ""}
    bad = [f"{ground} imports {b}" for b in sorted(GRAPH.get(f"tujie.{ground}", ())) if _floor(b) not in allowed]
    assert not bad, "\n".join(bad)


def test_runner_names_no_kind():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((SRC / "runner").glob("*.py")))
    names = sorted(p.stem for p in (SRC / "kinds").glob("[!_]*.py")) + sorted(
        p.name for p in (SRC / "kinds").iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert names, "no kinds found"
    mentioned = [n for n in names if f'"{n}"' in text or f"'{n}'" in text or f"kinds.{n}" in text]
    assert not mentioned, f"runner/ names these kinds: {mentioned}"


def test_no_source_file_is_too_long():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800}
    assert not long, f"files over 800 lines: {long}"


def test_a_violation_is_found_when_there_is_one(monkeypatch):
    # the checks themselves can fail: a fake edge from the toolkit to the runner is caught
    monkeypatch.setitem(GRAPH, "tujie.train.loop", GRAPH["tujie.train.loop"] | {"tujie.runner"})
    assert _violations(("train",), TOP) == ["tujie.train.loop imports tujie.runner"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
