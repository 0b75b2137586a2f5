"""The code stays lint-clean, type-clean and layered: the suite fails otherwise."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OUTER_WORLD = ("slack_bolt", "slack_sdk", "stripe", "httpx", "fastapi", "starlette")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted((REPO / "governance").rglob("*.py")), ids=str)
def test_the_core_does_not_import_the_outside_world(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & set(OUTER_WORLD), f"{path} imports {imported & set(OUTER_WORLD)}"


def test_only_the_settings_read_the_environment() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("bot", "governance", "integrations", "storage")
        for path in (REPO / folder).rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8")
        or "getenv(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
