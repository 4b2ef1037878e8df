"""Model names → references: aliases, configured defaults, local directories, hub ids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models.base import Family
from llmcli.models.registry import (
    DEFAULTS,
    SPECS,
    TASKS,
    RefOrigin,
    SourceKind,
    aliases_for,
    env_var,
    resolve,
)


def test_builtin_defaults() -> None:
    assert DEFAULTS == {
        "summarize": "smollm2",
        "ask": "smollm2",
        "sentiment": "smollm2",
        "generate": "smollm2",
        "translate": "gemma3",
        "embed": "minilm",
    }
    for task in TASKS:
        ref = resolve(None, task, {})
        assert ref.kind is SourceKind.BUILTIN
        assert ref.target == DEFAULTS[task]
        assert ref.origin is RefOrigin.DEFAULT
        assert ref.spec is not None and ref.spec.builtin is not None


def test_every_spec_is_complete() -> None:
    for name, spec in SPECS.items():
        assert spec.name == name == name.lower()
        assert spec.tasks and set(spec.tasks) <= set(TASKS)
        assert spec.license and spec.size and spec.description
        if spec.kind is SourceKind.BUILTIN:
            assert spec.builtin is not None and spec.hub_id is None
            assert len(spec.builtin.sha256) == 64
            assert all("==" in wf.requirement for wf in spec.builtin.packages)
        else:
            assert spec.kind is SourceKind.HUB and spec.hub_id and spec.builtin is None


@pytest.mark.parametrize(
    ("alias", "hub_id", "family"),
    [
        ("distilbart-cnn", "sshleifer/distilbart-cnn-12-6", Family.SEQ2SEQ),
        ("flan-t5", "google/flan-t5-base", Family.SEQ2SEQ),
        ("flan-t5-small", "google/flan-t5-small", Family.SEQ2SEQ),
        ("nllb", "facebook/nllb-200-distilled-600M", Family.SEQ2SEQ),
        ("m2m100", "facebook/m2m100_418M", Family.SEQ2SEQ),
        ("squad", "distilbert/distilbert-base-cased-distilled-squad", Family.EXTRACTIVE_QA),
        ("sst2", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", Family.CLASSIFIER),
        ("qwen2.5-1.5b-instruct", "Qwen/Qwen2.5-1.5B-Instruct", Family.CAUSAL),
    ],
)
def test_hub_aliases(alias: str, hub_id: str, family: Family) -> None:
    task = SPECS[alias].tasks[0]
    ref = resolve(alias, task, {})
    assert (ref.kind, ref.target, ref.requested) == (SourceKind.HUB, hub_id, alias)
    assert ref.spec is not None and ref.spec.family is family
    assert ref.describe() == f"{alias} ({hub_id})"


def test_alias_lookup_ignores_case_and_spaces() -> None:
    ref = resolve(" Flan-T5 ", "summarize", {})
    assert ref.target == "google/flan-t5-base"


def test_builtin_alias_by_name() -> None:
    ref = resolve("gemma3", "summarize", {})
    assert (ref.kind, ref.target, ref.origin) == (SourceKind.BUILTIN, "gemma3", RefOrigin.OPTION)


def test_opus_mt_template() -> None:
    ref = resolve("opus-mt", "translate", {}, languages=("en", "de"))
    assert ref.target == "Helsinki-NLP/opus-mt-en-de"
    assert ref.kind is SourceKind.HUB


def test_opus_mt_needs_languages() -> None:
    with pytest.raises(UsageError, match="languages"):
        resolve("opus-mt", "translate", {})


def test_opus_mt_rejects_odd_language_codes() -> None:
    with pytest.raises(UsageError, match="language code"):
        resolve("opus-mt", "translate", {}, languages=("en", "../x"))


def test_env_var_default() -> None:
    env = {env_var("summarize"): "flan-t5-small"}
    ref = resolve(None, "summarize", env)
    assert ref.target == "google/flan-t5-small"
    assert ref.origin is RefOrigin.ENVIRONMENT
    # Only that task's variable counts; an explicit name wins over it.
    assert resolve(None, "ask", env).target == "smollm2"
    assert resolve("squad", "summarize", env).origin is RefOrigin.OPTION


def test_env_var_names() -> None:
    assert [env_var(t) for t in TASKS] == [
        "LLMCLI_MODEL_SUMMARIZE",
        "LLMCLI_MODEL_TRANSLATE",
        "LLMCLI_MODEL_ASK",
        "LLMCLI_MODEL_SENTIMENT",
        "LLMCLI_MODEL_GENERATE",
        "LLMCLI_MODEL_EMBED",
    ]


def test_empty_env_var_means_unset() -> None:
    assert resolve(None, "ask", {"LLMCLI_MODEL_ASK": "  "}).origin is RefOrigin.DEFAULT


def test_env_var_template_uses_languages() -> None:
    env = {"LLMCLI_MODEL_TRANSLATE": "opus-mt"}
    assert resolve(None, "translate", env, ("fr", "en")).target == "Helsinki-NLP/opus-mt-fr-en"


def test_local_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my-model").mkdir()
    ref = resolve(str(tmp_path / "my-model"), "ask", {})
    assert (ref.kind, ref.target) == (SourceKind.LOCAL, str((tmp_path / "my-model").resolve()))
    # A relative path that exists is a directory even though it looks like a hub id.
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "name").mkdir()
    monkeypatch.chdir(tmp_path)
    ref = resolve("org/name", "ask", {})
    assert ref.kind is SourceKind.LOCAL and ref.requested == "org/name"


def test_directory_in_env_var(tmp_path: Path) -> None:
    ref = resolve(None, "sentiment", {"LLMCLI_MODEL_SENTIMENT": str(tmp_path)})
    assert ref.kind is SourceKind.LOCAL and ref.origin is RefOrigin.ENVIRONMENT


def test_alias_wins_over_a_directory_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "squad").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve("squad", "ask", {}).kind is SourceKind.HUB
    assert resolve("./squad", "ask", {}).kind is SourceKind.LOCAL


def test_hub_ids() -> None:
    for hub_id in ("someone/some-model", "gpt2", "t5-small", "Org/Model_v1.5"):
        ref = resolve(hub_id, "summarize", {})
        assert (ref.kind, ref.target, ref.spec) == (SourceKind.HUB, hub_id, None)


@pytest.mark.parametrize("path", ["./missing", "/no/such/dir", "a/b/c", "~/nope-llmcli-x"])
def test_missing_path(path: str) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve(path, "ask", {})


def test_missing_path_from_env_says_so() -> None:
    with pytest.raises(ModelUnavailableError, match="LLMCLI_MODEL_ASK"):
        resolve(None, "ask", {"LLMCLI_MODEL_ASK": "/no/such/dir"})


def test_file_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "model.gguf").write_bytes(b"x")
    with pytest.raises(ModelUnavailableError, match="is a file"):
        resolve(str(tmp_path / "model.gguf"), "ask", {})


@pytest.mark.parametrize("name", ["not a model", "bad:name", "a/b c"])
def test_unusable_names(name: str) -> None:
    with pytest.raises(UsageError, match="not a known name"):
        resolve(name, "ask", {})


def test_unknown_task() -> None:
    with pytest.raises(UsageError, match="unknown task"):
        resolve(None, "poetry", {})


def test_aliases_for_task_default_first() -> None:
    names = [spec.name for spec in aliases_for("translate")]
    assert names[0] == "gemma3"
    assert {"opus-mt", "nllb", "m2m100", "flan-t5"} <= set(names)
    assert "squad" not in names


def test_model_modules_import_no_heavy_libraries() -> None:
    # `llmcli --help` and `llmcli eval` must stay fast: no torch/transformers at import.
    code = (
        "import sys, llmcli.models.registry, llmcli.models.loading, llmcli.models.builtin, "
        "llmcli.models.cache; "
        "heavy = [m for m in ('torch', 'transformers', 'gguf', 'huggingface_hub') "
        "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
