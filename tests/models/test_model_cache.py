"""The model cache under concurrency and damage, through the CLI and real processes.

Several llmcli processes preparing or pulling the same built-in model at once must all
succeed and leave exactly one complete entry (one conversion, no temporary folders); a
process killed mid-build must leave nothing a later run mistakes for a model; a
half-written entry (no marker, truncated weights) must be reported absent and rebuilt.
The fake built-in model of ``_fake_builtin`` stands in for the real ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import _fake_builtin as fake
import pytest

from eval_support import cli
from llmcli.models import builtin, cache, registry

HERE = Path(__file__).parent
EXPECT = {"name": "fakelm", "version": "1.0.0", "gguf_sha256": fake.SPEC.builtin.sha256}  # type: ignore[union-attr]

# A child process: the fake model registered, then the real CLI entry point.
CHILD = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{here!r}, {tests!r}]
    import _fake_builtin as fake
    from llmcli.cli.app import run
    from llmcli.models import builtin, registry
    registry.SPECS["fakelm"] = fake.SPEC
    builtin.fetch_gguf = fake.fake_fetch
    builtin.convert_gguf = fake.slow_convert
    sys.exit(run(sys.argv[1:]))
    """
).format(here=str(HERE), tests=str(HERE.parent))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "llmcli-home"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "convert-log"


def target(home: Path) -> Path:
    return home / "models" / "fakelm-1.0.0"


def conversions(log: Path) -> int:
    return len(list(log.iterdir())) if log.exists() else 0


def spawn(home: Path, log: Path, *args: str, seconds: float = 2.0) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "LLMCLI_HOME": str(home),
        "FAKE_CONVERT_LOG": str(log),
        "FAKE_CONVERT_SECONDS": str(seconds),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def assert_one_complete_entry(home: Path) -> None:
    """The model folder, complete, and the lock file: nothing half-built beside them."""
    assert cache.is_complete(target(home), EXPECT)
    assert sorted(p.name for p in (home / "models").iterdir()) == [
        ".fakelm-1.0.0.lock",
        "fakelm-1.0.0",
    ]
    marker = json.loads((target(home) / cache.MARKER).read_text())
    assert set(marker["files"]) == {"config.json", "model.safetensors", "LICENSE.txt"}
    assert (target(home) / "model.safetensors").read_bytes() == b"".join(fake.CHUNKS)


@pytest.fixture
def fake_registered(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """The fake model in this process too, for in-process CLI runs."""
    monkeypatch.setitem(registry.SPECS, "fakelm", fake.SPEC)
    monkeypatch.setattr(builtin, "fetch_gguf", fake.fake_fetch)
    monkeypatch.setattr(builtin, "convert_gguf", fake.slow_convert)
    monkeypatch.setenv("FAKE_CONVERT_LOG", str(log))
    monkeypatch.setenv("FAKE_CONVERT_SECONDS", "0")


# --- concurrency ------------------------------------------------------------------------


def wait_until_converting(child: subprocess.Popen[str], log: Path, count: int = 1) -> None:
    """Until ``count`` conversions have started (the builder holds the lock by then)."""
    deadline = time.monotonic() + 60
    while conversions(log) < count:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)


def test_processes_pulling_at_once_share_one_build(home: Path, log: Path) -> None:
    """`llmcli models pull` in three processes at once: all succeed, one build, one entry."""
    first = spawn(home, log, "models", "pull", "fakelm", seconds=3)
    wait_until_converting(first, log)  # the others arrive while it builds
    children = [first, *(spawn(home, log, "models", "pull", "fakelm") for _ in range(2))]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out == f"{target(home)}\n"
        assert "Traceback" not in err
    assert conversions(log) == 1
    for _, err in outputs[1:]:
        assert "waiting for another llmcli process that is preparing fakelm-1.0.0" in err
    assert_one_complete_entry(home)


def test_forced_pull_while_another_process_prepares(home: Path, log: Path) -> None:
    """`pull --force` arriving mid-build: it waits, then rebuilds; one whole entry."""
    first = spawn(home, log, "models", "pull", "fakelm", seconds=3)
    wait_until_converting(first, log)
    forced = spawn(home, log, "models", "pull", "--force", "fakelm", seconds=0)
    for child in (first, forced):
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out == f"{target(home)}\n"
    assert conversions(log) == 2
    assert_one_complete_entry(home)


def test_a_build_killed_midway_leaves_nothing_and_frees_the_lock(
    home: Path, log: Path, fake_registered: None
) -> None:
    """SIGKILL during the conversion: no entry appears, the lock dies with the process."""
    child = spawn(home, log, "models", "pull", "fakelm", seconds=120)
    wait_until_converting(child, log)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    leftovers = [p.name for p in (home / "models").iterdir()]
    assert "fakelm-1.0.0" not in leftovers  # only a finished build is renamed into place
    assert any(name.startswith(".tmp-fakelm-1.0.0-") for name in leftovers)
    assert not builtin.status("fakelm", {"LLMCLI_HOME": str(home)}).present

    started = time.monotonic()
    result = cli("models", "pull", "fakelm", variables={"LLMCLI_HOME": str(home)})
    assert result.code == 0, result.stderr
    assert time.monotonic() - started < 30  # did not wait out a dead process's lock
    assert "waiting for another" not in result.stderr
    assert conversions(log) == 2
    assert_one_complete_entry(home)  # the killed build's temporary folders are gone


# --- half-written entries ---------------------------------------------------------------


def _damage(folder: Path, how: str) -> None:
    if how == "no-marker":
        (folder / cache.MARKER).unlink()
    elif how == "truncated-safetensors":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:5])
    elif how == "empty-marker":
        (folder / cache.MARKER).write_bytes(b"")
    elif how == "missing-file":
        (folder / "config.json").unlink()
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["no-marker", "truncated-safetensors", "empty-marker", "missing-file"]
)
def test_half_written_entry_is_absent_and_rebuilt(
    how: str, home: Path, log: Path, fake_registered: None
) -> None:
    variables = {"LLMCLI_HOME": str(home)}
    assert cli("models", "pull", "fakelm", variables=variables).code == 0
    _damage(target(home), how)

    listed = cli("models", "--json", variables=variables)
    row = next(json.loads(r) for r in listed.stdout.splitlines() if '"fakelm"' in r)
    assert row["present"] is False  # a half-written entry is not reported as ready

    result = cli("models", "pull", "fakelm", variables=variables)
    assert result.code == 0, result.stderr
    assert "incomplete" in result.stderr and "rebuilding" in result.stderr
    assert conversions(log) == 2
    assert_one_complete_entry(home)
