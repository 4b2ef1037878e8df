"""The package's layers: each module imports only from its own layer or the ones below,
Typer stays in the CLI, and the CLI parses and renders but never runs a job itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "llmcli"

#: Lowest first. A unit is a top-level module or subpackage of ``llmcli``.
LAYERS: list[set[str]] = [
    {"__init__", "exit_status", "task_names"},
    {"errors"},
    {"environment"},
    {"inputs"},
    {"metrics"},
    {"models"},
    {"tasks"},
    {"runner"},
    {"output"},
    {"engines", "evaluation"},
    {"job"},
    {"cli"},
    {"__main__"},
]
#: What only the job core and the engines may use: loading models, running windows,
#: opening output files and journals.
NOT_IN_CLI = {
    "llmcli.runner",
    "llmcli.engines",
    "llmcli.models.loading",
    "llmcli.output.journal",
    "llmcli.output.sinks",
    "llmcli.output.writer.open_output",
}


def _module(path: Path) -> str:
    """``src/llmcli/models/base.py`` -> ``llmcli.models.base``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module (and ``module.name``) ``path`` imports, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _unit(name: str) -> str:
    """The unit of a module, or of a name imported from one (``llmcli.__version__``)."""
    while name not in KNOWN and "." in name:
        name = name.rsplit(".", 1)[0]
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = sorted(PACKAGE.rglob("*.py"))
KNOWN = {_module(p) for p in MODULES}


def _layer(unit: str) -> int:
    for index, units in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"llmcli.{unit} is in no layer: add it to LAYERS")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p))
def test_imports_go_down(path: Path) -> None:
    own = _unit(_module(path))
    upward = sorted(
        name
        for name in _imports(path)
        if name.startswith("llmcli.") and _layer(_unit(name)) > _layer(own)
    )
    assert not upward, f"{_module(path)} imports from a higher layer: {upward}"


def test_same_layer_units_do_not_import_each_other() -> None:
    for path in MODULES:
        own = _unit(_module(path))
        for name in _imports(path):
            other = _unit(name) if name.startswith("llmcli.") else None
            if other and other != own:
                assert _layer(other) != _layer(own), f"{_module(path)} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p))
def test_typer_only_in_the_cli(path: Path) -> None:
    if _unit(_module(path)) in ("cli", "__main__"):
        return
    assert not {n for n in _imports(path) if n == "typer" or n.startswith("typer.")}


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_cli_never_runs_a_job_itself(path: Path) -> None:
    used = {
        name
        for name in _imports(path)
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_IN_CLI)
    }
    assert not used, f"{path.name} uses {sorted(used)}: that belongs to the job core"


def test_the_layer_check_can_fail(tmp_path: Path) -> None:
    # An upward import is seen, lazily inside a function too.
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from llmcli.job import run\n", encoding="utf-8")
    assert "llmcli.job" in _imports(source)
    assert _layer(_unit("llmcli.job")) > _layer(_unit("llmcli.models.base"))
