"""load_model: every family from a local folder, devices and dtypes, broken folders, the hub."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tiny_models
from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models import loading
from llmcli.models.base import Family, ModelChoice
from llmcli.models.loading import check_model_dir, family_of, load_model

FAMILIES = list(tiny_models.iter_families())


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    loading.clear_cache()
    yield
    loading.clear_cache()


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No network and an empty Hugging Face cache, whatever the machine has."""
    return {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hf-cache")}


def copy_model(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


@pytest.mark.parametrize(("name", "family"), FAMILIES)
def test_every_family_loads(
    tiny_model_dirs: dict[str, Path], name: str, family: str, offline_env: dict[str, str]
) -> None:
    import torch

    loaded = load_model(
        ModelChoice(str(tiny_model_dirs[name]), device="cpu"), "ask", env=offline_env
    )
    assert loaded.family is Family(family)
    assert loaded.source == str(tiny_model_dirs[name].resolve())
    assert loaded.device == "cpu" and loaded.dtype == "float32"
    assert not loaded.model.training
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.tokenizer("hello world")["input_ids"]


def test_run_record(tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]) -> None:
    folder = str(tiny_model_dirs["t5"])
    from llmcli.models.threads import default_threads

    loaded = load_model(ModelChoice(folder, device="cpu"), "summarize", env=offline_env)
    assert loaded.run_record() == {
        "model": folder,
        "source": str(Path(folder).resolve()),
        "family": "seq2seq",
        "device": "cpu",
        "dtype": "float32",
        "precision": "auto: no faster setting passed the gate for summarize on seq2seq models",
        "backend": "torch",
        "threads": default_threads(offline_env),  # one per physical core, or OMP_NUM_THREADS
    }
    assert loaded.revision is None


def test_causal_tokenizer_pads_left_with_eos(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    loaded = load_model(
        ModelChoice(str(tiny_model_dirs["llama"]), device="cpu"), "ask", env=offline_env
    )
    tok = loaded.tokenizer
    assert tok.padding_side == "left"
    assert tok.pad_token == tok.eos_token == "<|im_end|>"
    assert loaded.model.generation_config.pad_token_id == tok.pad_token_id
    batch = tok(["a", "a much longer sentence"], padding=True, return_tensors="pt")
    assert batch["attention_mask"][0, 0] == 0 and batch["attention_mask"][0, -1] == 1


def test_seq2seq_tokenizer_keeps_right_padding(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    loaded = load_model(
        ModelChoice(str(tiny_model_dirs["bart"]), device="cpu"), "summarize", env=offline_env
    )
    assert loaded.tokenizer.padding_side == "right"


def test_extra_facts(tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]) -> None:
    loaded = load_model(
        ModelChoice(str(tiny_model_dirs["llama"]), device="cpu"), "ask", env=offline_env
    )
    assert loaded.extra["architecture"] == "LlamaForCausalLM"
    assert loaded.extra["context_length"] == tiny_models.MAX_POSITIONS


def test_same_arguments_same_object(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str], cpu_with: Callable[..., None]
) -> None:
    cpu_with(bf16="AVX512-BF16")
    folder = str(tiny_model_dirs["distilbert_qa"])
    first = load_model(ModelChoice(folder, device="cpu"), "ask", env=offline_env)
    assert load_model(ModelChoice(folder, device="cpu"), "ask", env=offline_env) is first
    # "auto" on this CPU-only machine is cpu, and float32 for an ungated family.
    assert load_model(ModelChoice(folder), "ask", env=offline_env) is first
    assert first.dtype == "float32"
    other = load_model(ModelChoice(folder, device="cpu", dtype="bfloat16"), "ask", env=offline_env)
    assert other is not first and other.dtype == "bfloat16"


def test_another_name_shares_the_weights(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    folder = tiny_model_dirs["distilbert_classifier"]
    first = load_model(ModelChoice(str(folder), device="cpu"), "sentiment", env=offline_env)
    env = {**offline_env, "LLMCLI_MODEL_SENTIMENT": str(folder) + "/"}
    second = load_model(ModelChoice(None, device="cpu"), "sentiment", env=env)
    assert second.model is first.model
    assert second.name == str(folder) + "/"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_explicit_dtype(
    tiny_model_dirs: dict[str, Path],
    dtype: str,
    offline_env: dict[str, str],
    cpu_with: Callable[..., None],
) -> None:
    import torch

    cpu_with(bf16="AVX512-BF16")
    loaded = load_model(
        ModelChoice(str(tiny_model_dirs["llama"]), device="cpu", dtype=dtype),
        "ask",
        env=offline_env,
    )
    assert loaded.dtype == dtype
    assert next(loaded.model.parameters()).dtype == getattr(torch, dtype)


def test_invalid_dtype_fails_before_loading() -> None:
    with pytest.raises(UsageError, match="dtype"):
        load_model(ModelChoice("/no/such/dir", dtype="int3"), "ask")


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu"])
def test_invalid_device(tiny_model_dirs: dict[str, Path], device: str) -> None:
    with pytest.raises(UsageError, match="device"):
        load_model(ModelChoice(str(tiny_model_dirs["llama"]), device=device), "ask")


def test_unavailable_device(tiny_model_dirs: dict[str, Path]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UsageError, match="not available"):
        load_model(ModelChoice(str(tiny_model_dirs["llama"]), device="cuda"), "ask")


# --- broken folders ---------------------------------------------------------------------


def test_config_only(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    shutil.copy(tiny_model_dirs["t5"] / "config.json", folder)
    with pytest.raises(ModelUnavailableError, match="no model weights"):
        load_model(ModelChoice(str(folder), device="cpu"), "summarize")


def test_no_config(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["t5"], tmp_path / "m")
    (folder / "config.json").unlink()
    with pytest.raises(ModelUnavailableError, match=r"no config\.json"):
        load_model(ModelChoice(str(folder), device="cpu"), "summarize")


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a model directory"):
        load_model(ModelChoice(str(tmp_path), device="cpu"), "summarize")


def test_no_tokenizer(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["llama"], tmp_path / "m")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    with pytest.raises(ModelUnavailableError, match="no tokenizer"):
        load_model(ModelChoice(str(folder), device="cpu"), "ask")


def test_truncated_safetensors(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["bart"], tmp_path / "m")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelUnavailableError, match="corrupted: it is truncated") as info:
        load_model(ModelChoice(str(folder), device="cpu"), "summarize")
    assert "\n" not in str(info.value)


def test_garbage_safetensors(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["bart"], tmp_path / "m")
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ModelUnavailableError, match="header is unreadable"):
        load_model(ModelChoice(str(folder), device="cpu"), "summarize")


def test_corrupted_tensor_bytes_are_caught_at_load(
    tmp_path: Path, tiny_model_dirs: dict[str, Path]
) -> None:
    # A header that promises more than it is given, with a plausible size: transformers
    # itself then fails; the error must still be one ModelUnavailableError line.
    folder = copy_model(tiny_model_dirs["bart"], tmp_path / "m")
    weights = folder / "model.safetensors"
    header = json.dumps(
        {"model.shared.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    )
    weights.write_bytes(len(header).to_bytes(8, "little") + header.encode() + b"\0" * 16)
    with pytest.raises(ModelUnavailableError) as info:
        load_model(ModelChoice(str(folder), device="cpu"), "summarize")
    assert "\n" not in str(info.value)


def test_missing_shard(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["llama"], tmp_path / "m")
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    index = {
        "metadata": {},
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        },
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelUnavailableError, match="missing the weight shard"):
        check_model_dir(folder)


def test_unreadable_config(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["llama"], tmp_path / "m")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelUnavailableError, match="unreadable"):
        load_model(ModelChoice(str(folder), device="cpu"), "ask")


def test_unknown_model_type(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    folder = copy_model(tiny_model_dirs["llama"], tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "llama-from-the-future"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailableError, match="cannot read the config"):
        load_model(ModelChoice(str(folder), device="cpu"), "ask")


# --- families from configs --------------------------------------------------------------


def test_family_from_config_not_name() -> None:
    from transformers import BartConfig, BertConfig, DistilBertConfig, LlamaConfig, T5Config

    assert family_of(T5Config()) is Family.SEQ2SEQ
    assert family_of(LlamaConfig()) is Family.CAUSAL
    assert family_of(DistilBertConfig(architectures=["DistilBertForQuestionAnswering"])) is (
        Family.EXTRACTIVE_QA
    )
    assert family_of(BertConfig(architectures=["BertForSequenceClassification"])) is (
        Family.CLASSIFIER
    )
    # An encoder-decoder with a classification head (bart-large-mnli) classifies.
    assert family_of(BartConfig(architectures=["BartForSequenceClassification"])) is (
        Family.CLASSIFIER
    )
    # A causal architecture without architectures listed still maps through its config.
    assert family_of(BertConfig(architectures=["BertLMHeadModel"])) is Family.CAUSAL


def test_unusable_architecture(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> None:
    from transformers import DistilBertConfig

    assert DistilBertConfig  # a masked LM is neither a generator, a QA nor a classifier
    folder = copy_model(tiny_model_dirs["distilbert_qa"], tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["DistilBertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailableError, match="not a kind of model llmcli can use"):
        load_model(ModelChoice(str(folder), device="cpu"), "ask")


# --- the Hugging Face hub ---------------------------------------------------------------


def test_unknown_hub_id_offline_fails_fast(offline_env: dict[str, str]) -> None:
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="not in the local Hugging Face cache") as info:
        load_model(
            ModelChoice("nobody/no-such-model-llmcli", device="cpu"), "summarize", env=offline_env
        )
    assert time.monotonic() - started < 5
    assert "nobody/no-such-model-llmcli" in str(info.value)


def test_alias_offline_names_alias_and_hub_id(offline_env: dict[str, str]) -> None:
    with pytest.raises(ModelUnavailableError, match=r"squad \(distilbert/"):
        load_model(ModelChoice("squad", device="cpu"), "ask", env=offline_env)


def test_unreachable_hub_fails_fast(tmp_path: Path) -> None:
    # Not offline by configuration, but the hub cannot be reached (a closed port).
    env = {"HF_HUB_CACHE": str(tmp_path), "HF_ENDPOINT": "http://127.0.0.1:9"}
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="the hub is unreachable") as info:
        load_model(ModelChoice("nobody/no-such-model-llmcli", device="cpu"), "summarize", env=env)
    assert time.monotonic() - started < 10
    assert "pass a local directory" in str(info.value)


def fake_hub_cache(cache: Path, hub_id: str, source: Path, commit: str) -> Path:
    """Lay ``source`` out as huggingface_hub caches ``hub_id`` at ``commit``."""
    repo = cache / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_cached_hub_model_loads_offline_with_revision(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    fake_hub_cache(Path(offline_env["HF_HUB_CACHE"]), "acme/tiny-t5", tiny_model_dirs["t5"], commit)
    loaded = load_model(ModelChoice("acme/tiny-t5", device="cpu"), "summarize", env=offline_env)
    assert loaded.family is Family.SEQ2SEQ
    assert loaded.source == "acme/tiny-t5"
    assert loaded.revision == commit
    assert loaded.run_record()["revision"] == commit


def test_cached_alias_loads(tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]) -> None:
    commit = "f" * 40
    hub_id = "distilbert/distilbert-base-cased-distilled-squad"
    fake_hub_cache(
        Path(offline_env["HF_HUB_CACHE"]), hub_id, tiny_model_dirs["distilbert_qa"], commit
    )
    loaded = load_model(ModelChoice("squad", device="cpu"), "ask", env=offline_env)
    assert (loaded.name, loaded.source, loaded.family) == ("squad", hub_id, Family.EXTRACTIVE_QA)
    assert loaded.extra["license"] == "Apache-2.0"


def test_partially_cached_hub_model(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    snapshot = fake_hub_cache(
        Path(offline_env["HF_HUB_CACHE"]), "acme/half", tiny_model_dirs["t5"], "a" * 40
    )
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailableError, match="incomplete in the local Hugging Face cache"):
        load_model(ModelChoice("acme/half", device="cpu"), "summarize", env=offline_env)


def test_local_snapshot_folder_records_revision(
    tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]
) -> None:
    commit = "b" * 40
    snapshot = fake_hub_cache(
        Path(offline_env["HF_HUB_CACHE"]), "acme/llama", tiny_model_dirs["llama"], commit
    )
    loaded = load_model(ModelChoice(str(snapshot), device="cpu"), "ask", env=offline_env)
    assert loaded.revision == commit


def test_hub_folder_for_pull(tiny_model_dirs: dict[str, Path], offline_env: dict[str, str]) -> None:
    snapshot = fake_hub_cache(
        Path(offline_env["HF_HUB_CACHE"]), "acme/pulled", tiny_model_dirs["bart"], "c" * 40
    )
    assert loading.hub_folder("acme/pulled", offline_env) == snapshot
    with pytest.raises(ModelUnavailableError, match=r"sst2 \(distilbert/.*HF_HUB_OFFLINE"):
        loading.hub_folder(
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english", offline_env
        )
