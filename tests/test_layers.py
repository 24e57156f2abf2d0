"""The floors of ARCHITECTURE.md hold, and a forbidden import breaks them (import-linter, as `make test` runs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
