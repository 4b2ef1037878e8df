"""--dtype and --quantize: the automatic choice with the CPU probe stubbed, the refusals,
and real bfloat16 and int8 runs of every tiny architecture on this CPU."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tiny_models
from eval_support import assert_error, cli
from llmcli.errors import UsageError
from llmcli.models import loading, precision
from llmcli.models.base import Family, ModelChoice
from llmcli.models.loading import load_model
from llmcli.models.precision import Precision, check_device, check_options, resolve
from llmcli.tasks.base import TaskContext, TaskInput
from llmcli.tasks.registry import build_task

CpuWith = Callable[..., None]
CAUSAL, CLASSIFIER = Family.CAUSAL, Family.CLASSIFIER


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    loading.clear_cache()
    yield
    loading.clear_cache()


# --- the automatic choice -----------------------------------------------------------------


@pytest.mark.parametrize("unit", ["AVX512-BF16", "AMX-BF16"])
def test_auto_is_bfloat16_where_native_and_gated(cpu_with: CpuWith, unit: str) -> None:
    cpu_with(bf16=unit)
    chosen = resolve("auto", "auto", "cpu", "sentiment", CAUSAL, {})
    assert (chosen.dtype, chosen.quantize) == ("bfloat16", None)
    assert unit in chosen.reason and "sentiment on causal models" in chosen.reason


def test_auto_is_float32_without_native_bfloat16(cpu_with: CpuWith) -> None:
    cpu_with(bf16=None)
    chosen = resolve("auto", "auto", "cpu", "sentiment", CAUSAL, {})
    assert chosen == Precision("float32", None, "auto: this CPU has no native bfloat16")


def test_a_family_without_a_passed_gate_stays_float32(cpu_with: CpuWith) -> None:
    cpu_with(bf16="AMX-BF16", int8="AMX-INT8")
    # Extractive QA models were never gated here: no real weights to measure.
    assert Family.EXTRACTIVE_QA not in {f for _, f in precision.AUTO_CPU}
    chosen = resolve("auto", "auto", "cpu", "ask", Family.EXTRACTIVE_QA, {})
    assert chosen.dtype == "float32" and chosen.quantize is None
    assert "no faster setting passed the gate" in chosen.reason


def test_a_failed_gate_is_not_auto_selected(
    cpu_with: CpuWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu_with(bf16="AVX512-BF16", int8="VNNI")
    monkeypatch.setitem(precision.AUTO_CPU, ("sentiment", CAUSAL), ())
    assert resolve("auto", "auto", "cpu", "sentiment", CAUSAL, {}).dtype == "float32"


def test_int8_is_auto_selected_only_where_it_passed(
    cpu_with: CpuWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu_with(bf16="AVX512-BF16", int8="VNNI")
    monkeypatch.setitem(precision.AUTO_CPU, ("sentiment", CLASSIFIER), ("int8", "bfloat16"))
    chosen = resolve("auto", "auto", "cpu", "sentiment", CLASSIFIER, {})
    assert (chosen.dtype, chosen.quantize) == ("float32", "int8")
    assert "VNNI" in chosen.reason
    # --quantize none: the next setting that passed.
    assert resolve("auto", "none", "cpu", "sentiment", CLASSIFIER, {}).dtype == "bfloat16"
    cpu_with(bf16=None, int8=None)
    assert resolve("auto", "auto", "cpu", "sentiment", CLASSIFIER, {}).quantize is None


def test_the_environment_overrides_the_probe(cpu_with: CpuWith) -> None:
    cpu_with(bf16="AVX512-BF16")
    off = {precision.BF16_ENV: "0"}
    assert resolve("auto", "auto", "cpu", "sentiment", CAUSAL, off).dtype == "float32"
    cpu_with(bf16=None)
    on = {precision.BF16_ENV: "1"}
    assert resolve("auto", "auto", "cpu", "sentiment", CAUSAL, on).dtype == "bfloat16"


def test_explicit_settings_win(cpu_with: CpuWith) -> None:
    cpu_with(bf16="AVX512-BF16")
    assert resolve("float32", "auto", "cpu", "sentiment", CAUSAL, {}) == Precision(
        "float32", None, "asked (--dtype float32)"
    )
    assert resolve("auto", "int8", "cpu", "sentiment", CAUSAL, {}) == Precision(
        "float32", "int8", "asked (--quantize int8)"
    )


def test_auto_on_cuda_and_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve("auto", "auto", "cuda", "ask", Family.SEQ2SEQ, {}).dtype == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve("auto", "auto", "cuda:1", "sentiment", CLASSIFIER, {}).dtype == "float16"
    assert resolve("auto", "auto", "mps", "sentiment", CAUSAL, {}).dtype == "float32"


@pytest.mark.usefixtures("real_cpu")
def test_the_real_probe_answers() -> None:
    units = precision.probe_cpu()
    assert units.bf16 in (None, "AVX512-BF16", "AMX-BF16")
    assert units.int8 in (None, "VNNI", "AMX-INT8")


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "quantize", "backend", "fragment"),
    [
        ("auto", "int4", "torch", "invalid quantization 'int4'"),
        ("bfloat16", "int8", "torch", "drop --dtype"),
        ("float16", "int8", "torch", "not float16"),
        ("auto", "int8", "ctranslate2", "--compute-type int8"),
    ],
)
def test_impossible_combinations(dtype: str, quantize: str, backend: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_options(dtype, quantize, backend)
    assert fragment in str(caught.value)


def test_int8_off_the_cpu_is_refused() -> None:
    with pytest.raises(UsageError, match="runs on the CPU, not cuda"):
        check_device("auto", "int8", "cuda", {})


def test_bfloat16_on_a_cpu_without_it_is_refused(cpu_with: CpuWith) -> None:
    cpu_with(bf16=None)
    with pytest.raises(UsageError, match="no native bfloat16") as caught:
        check_device("bfloat16", "auto", "cpu", {})
    assert caught.value.hint == "use --dtype float32, or --quantize int8"


def test_refused_before_the_model_is_looked_for(tmp_path: Path) -> None:
    # A missing model would raise ModelUnavailableError (exit 3) if it were loaded first.
    with pytest.raises(UsageError, match="no native bfloat16"):
        load_model(ModelChoice(str(tmp_path / "none"), device="cpu", dtype="bfloat16"), "ask")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["sentiment", "--dtype", "bfloat16"], ("no native bfloat16", "--dtype float32")),
        (["sentiment", "--quantize", "int8", "--dtype", "bfloat16"], ("drop --dtype",)),
        (["summarize", "--quantize", "int8", "--backend", "ctranslate2"], ("--compute-type",)),
        (["ask", "Who?", "--quantize", "int2"], ("invalid quantization",)),
    ],
)
def test_cli_refusals_exit_2_in_one_line(
    tmp_path: Path, args: list[str], fragments: tuple[str, ...]
) -> None:
    missing = str(tmp_path / "no-such-model")
    result = cli(*args, "-M", missing, stdin=b"Some text.", variables={"HF_HUB_OFFLINE": "1"})
    assert_error(result, 2, *fragments)


# --- real runs of every tiny architecture --------------------------------------------------

FAMILIES = list(tiny_models.iter_families())


def _run_family(loaded: Any, family: str, embedder_dir: Path) -> list[Any]:
    """Two items through the task a model of ``family`` serves; the task's results."""
    if family == "embedding":
        from llmcli.models.embedding import Embedder

        return list(Embedder(loaded).encode(["A short sentence.", "Another, longer one here."]))
    task_name = {
        "seq2seq": "summarize",
        "causal": "sentiment",
        "classifier": "sentiment",
        "extractive-qa": "ask",
    }[family]
    task = build_task(task_name, loaded, None, TaskContext())
    inputs = [
        TaskInput("The bridge opened in May. It cost four million.", question="When?"),
        TaskInput("A second text, about a river and its mills.", question="What?"),
    ]
    return list(task.run(inputs))


@pytest.mark.parametrize("setting", ["bfloat16", "int8"])
@pytest.mark.parametrize(("name", "family"), FAMILIES)
def test_each_architecture_runs_in_bfloat16_and_int8(
    tiny_model_dirs: dict[str, Path],
    cpu_with: CpuWith,
    name: str,
    family: str,
    setting: str,
) -> None:
    import torch

    cpu_with(bf16="AVX512-BF16", int8="VNNI")
    options = {"quantize": "int8"} if setting == "int8" else {"dtype": "bfloat16"}
    choice = ModelChoice(str(tiny_model_dirs[name]), device="cpu", **options)
    loaded = load_model(choice, "ask", env={"HF_HUB_OFFLINE": "1"})
    record = loaded.run_record()
    if setting == "int8":
        assert record["dtype"] == "float32" and record["quantize"] == "int8"
        quantized = torch.ao.nn.quantized.dynamic.Linear
        assert any(isinstance(m, quantized) for m in loaded.model.modules())
        assert not any(type(m) is torch.nn.Linear for m in loaded.model.modules())
    else:
        assert record["dtype"] == "bfloat16" and "quantize" not in record
        assert next(loaded.model.parameters()).dtype == torch.bfloat16
    assert record["precision"].startswith("asked")
    results = _run_family(loaded, family, tiny_model_dirs["bert_embedder"])
    assert len(results) == 2
    if family == "embedding":
        for vector in results:
            assert vector.dtype == torch.float32
            assert abs(float(vector.norm()) - 1.0) < 1e-3
        return
    for result in results:
        assert isinstance(result.text, str)
        if "scores" in result.fields:  # label scores stay a float32 distribution
            assert abs(sum(result.fields["scores"].values()) - 1.0) < 1e-4
            assert result.fields["label"] in result.fields["scores"]


def test_the_cli_records_what_ran_and_why(
    tiny_model_dirs: dict[str, Path], cpu_with: CpuWith, tmp_path: Path
) -> None:
    cpu_with(bf16="AVX512-BF16", int8="VNNI")
    variables = {"HF_HUB_OFFLINE": "1", "LLMCLI_HOME": str(tmp_path / "home")}
    model = str(tiny_model_dirs["llama"])
    runs = {}
    for extra in ([], ["--quantize", "int8"], ["--dtype", "float32"]):
        result = cli(
            "sentiment", "--json", "-M", model, *extra, stdin=b"Good.", variables=variables
        )
        assert result.code == 0, result.stderr
        runs[" ".join(extra)] = result.json()["run"]
    assert runs[""]["dtype"] == "bfloat16"
    assert runs[""]["precision"].startswith("auto: AVX512-BF16 on this CPU")
    assert (runs["--quantize int8"]["dtype"], runs["--quantize int8"]["quantize"]) == (
        "float32",
        "int8",
    )
    assert runs["--dtype float32"]["precision"] == "asked (--dtype float32)"
