"""Fixtures for the ``llmcli eval`` and input-reader tests (helpers: ``eval_support.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eval_support import EN_SYS_A, EN_SYS_B, read_lines, write_lines
from llmcli.models import precision as _precision

_REAL_PROBE = _precision.probe_cpu


@pytest.fixture(autouse=True, scope="session")
def float32_cpu() -> Iterator[None]:
    """Tests run as on a CPU without native bfloat16, so ``--dtype auto`` is float32.

    Many tests compare batched and unbatched scores at 1e-5, which bfloat16's rounding
    would not meet; the precision tests stub the probe themselves (``cpu_with``), and
    the real-model tests run the real default (``real_cpu``). Session-wide, so models
    that module fixtures load are float32 too.
    """
    from llmcli.models import precision

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(precision, "probe_cpu", lambda: precision.CpuUnits(None, None))
        patch.setenv(precision.BF16_ENV, "0")  # for llmcli run in a child process
        yield


@pytest.fixture
def real_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo :func:`float32_cpu`: this CPU's real units decide ``--dtype auto``."""
    from llmcli.models import precision

    monkeypatch.setattr(precision, "probe_cpu", _REAL_PROBE)
    monkeypatch.delenv(precision.BF16_ENV, raising=False)


@pytest.fixture
def cpu_with(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Stub the CPU probe: ``cpu_with(bf16="AMX-BF16", int8="AMX-INT8")``; None: absent."""
    from llmcli.models import precision

    def stub(bf16: str | None = "AVX512-BF16", int8: str | None = "VNNI") -> None:
        monkeypatch.setattr(precision, "probe_cpu", lambda: precision.CpuUnits(bf16, int8))
        monkeypatch.delenv(precision.BF16_ENV, raising=False)

    return stub


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
