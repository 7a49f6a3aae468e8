"""The layer rules hold (import-linter contracts in pyproject.toml), and they name every package."""

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
LOWER = {"trunkline.kit", "trunkline.rating"}  # what every other package stands on


def _contracts() -> dict[str, dict]:
    return {contract["name"]: contract for contract in tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]["contracts"]}


def _packages() -> set[str]:
    return {f"trunkline.{path.parent.name}" for path in (ROOT / "trunkline").glob("*/__init__.py")} | {"trunkline.app", "trunkline.cli"}


def test_import_rules_hold():
    assert lint_imports(config_filename=str(CONFIG), no_cache=True) == 0


def test_the_kit_and_the_engine_are_forbidden_every_other_package():
    """A new domain package is covered without anyone remembering to list it."""
    contracts = _contracts()
    kit = next(c for c in contracts.values() if c["source_modules"] == ["trunkline.kit"])
    rating = next(c for c in contracts.values() if c["source_modules"] == ["trunkline.rating"])
    assert set(kit["forbidden_modules"]) == _packages() - LOWER
    assert set(rating["forbidden_modules"]) == _packages() - {"trunkline.rating"}


def test_domains_never_import_the_app():
    domains = _packages() - LOWER - {"trunkline.db", "trunkline.app", "trunkline.cli"}
    collected = next(c for c in _contracts().values() if c["forbidden_modules"] == ["trunkline.app", "trunkline.cli"])
    assert set(collected["source_modules"]) == domains
    database = next(c for c in _contracts().values() if c["source_modules"] == ["trunkline.db"])
    assert set(database["forbidden_modules"]) == domains | {"trunkline.app", "trunkline.cli"}
