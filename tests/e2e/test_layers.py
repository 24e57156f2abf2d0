"""The floors of ARCHITECTURE.md hold, and a forbidden import breaks them (import-linter, as `make test` runs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the package in `tree`, with the project's own contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package and its contracts, copied, so a test can add a module without touching the tree."""
    tree = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "llm_engineering", tree / "llm_engineering", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_floors_hold_today(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("catalogue/leak.py", "from llm_engineering.hosting import plan", "Floors:"),
        ("iam/leak.py", "import llm_engineering.hosting.ttl", "Floors:"),
        ("local/leak.py", "from llm_engineering.iam import policies", "Witness:"),
        ("hosting/leak.py", "import moto", "Product:"),
        ("inference/leak.py", "import sagemaker.core.resources", "Light client:"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(copy: Path, module: str, line: str, contract: str) -> None:
    leak = copy / "llm_engineering" / module
    leak.write_text(f'"""A module that breaks the floors."""\n\n{line}\n')
    try:
        result = lint(copy)
    finally:
        leak.unlink()
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(contract) for row in broken), result.stdout


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Modules that import each other in a loop (strongly connected components of more than one module)."""
    order: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = lowest[module] = len(order)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in order:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in stack:
                lowest[module] = min(lowest[module], order[imported])
        if lowest[module] == order[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    """No circle anywhere, the emulator included: deferred imports count, since grimp reads them too."""
    assert circles(grimp.build_graph("llm_engineering", cache_dir=None)) == []


def test_a_circle_is_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    assert circles(graph) == [["a.one", "a.three", "a.two"]]
