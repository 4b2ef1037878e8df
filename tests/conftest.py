"""Fixtures for the ``llmcli eval`` and input-reader tests (helpers: ``eval_support.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_support import EN_SYS_A, EN_SYS_B, read_lines, write_lines


@pytest.fixture
def sacrebleu_seed(monkeypatch: pytest.MonkeyPatch) -> int:
    """sacrebleu reads its bootstrap seed from SACREBLEU_SEED; pin its default."""
    monkeypatch.setenv("SACREBLEU_SEED", "12345")
    return 12345


@pytest.fixture(scope="session")
def interleaved_systems(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two systems of similar quality that differ on every segment.

    The first takes system B's output on even segments and A's elsewhere, the second the
    other way round, so paired tests give p-values well above their floor.
    """
    a, b = read_lines(EN_SYS_A), read_lines(EN_SYS_B)
    directory = tmp_path_factory.mktemp("interleaved")
    paths = []
    for parity in (0, 1):
        mixed = [hb if i % 2 == parity else ha for i, (ha, hb) in enumerate(zip(a, b, strict=True))]
        paths.append(write_lines(directory / f"en.sys_mix{parity}.txt", mixed))
    return paths[0], paths[1]


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tiny random-weight model (tests/tiny_models.py), built once per session."""
    import tiny_models

    return tiny_models.build_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def llmcli_test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LLMCLI_HOME for tests that prepare the real built-in models.

    ``$LLMCLI_TEST_HOME`` when set (shared by every test of the run and by later runs, so
    the minutes of download and conversion happen once; .ci/run sets it), else a
    temporary folder for this session.
    """
    import os

    shared = os.environ.get("LLMCLI_TEST_HOME", "").strip()
    if shared:
        path = Path(shared).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("llmcli-home")
