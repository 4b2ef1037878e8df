"""Which numeric precision a torch model runs in: ``--dtype`` and ``--quantize``.

On CUDA ``--dtype auto`` is bfloat16 (float16 where the card lacks it). On a CPU it is
bfloat16 only where the CPU computes bfloat16 natively (AVX512-BF16 or AMX, probed,
never guessed from the vendor) *and* the model's task and family passed bfloat16's
quality gate (:data:`AUTO_CPU`, measured by ``bench/precision.py``); float32 otherwise.
``--quantize int8`` runs the Linear layers with dynamic int8 quantization on the CPU
(weights int8, activations quantized per batch), the rest of the model in float32;
``--quantize auto`` (the default) does so only where int8 passed its gate.

Label scores, log-probabilities and embeddings are computed in float32 whatever the
weights' precision: the runtime and the embedder upcast before every softmax and norm.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from llmcli.errors import UsageError
from llmcli.models.base import Family
from llmcli.task_names import ASK, EMBED, GENERATE, SENTIMENT, SUMMARIZE, TRANSLATE

QUANTIZE = ("auto", "none", "int8")
#: ``0``/``off`` treats the CPU as having no native bfloat16, ``1``/``on`` as having it.
BF16_ENV = "LLMCLI_CPU_BF16"

_OFF = ("0", "off", "false", "no")
_ON = ("1", "on", "true", "yes")

BF16 = "bfloat16"
INT8 = "int8"

#: What ``auto`` may choose on a CPU, per (task, model family), best first: the settings
#: that met their quality gate against float32 in ``bench/precision.py`` (sentiment labels
#: identical on at least 99% of items, ask answers on 95%, summarize ROUGE-L and
#: translate chrF at most 0.5 points below); docs/quality.md has the figures. bfloat16
#: passed every gate; dynamic int8 failed every one but the extractive summaries'. A pair
#: that is not here runs float32: no real model of that family could be measured here
#: (extractive QA, sequence-to-sequence models). ``generate`` rides on the abstractive
#: summaries' gate (the same model writing free text; its own output has no reference).
AUTO_CPU: dict[tuple[str, Family], tuple[str, ...]] = {
    (SENTIMENT, Family.CAUSAL): (BF16,),
    (SENTIMENT, Family.CLASSIFIER): (BF16,),
    (ASK, Family.CAUSAL): (BF16,),
    (SUMMARIZE, Family.CAUSAL): (BF16,),
    (GENERATE, Family.CAUSAL): (BF16,),
    (TRANSLATE, Family.CAUSAL): (BF16,),
    (EMBED, Family.EMBEDDING): (BF16,),
}


@dataclass(frozen=True)
class CpuUnits:
    """The CPU's fast units for low precision, by name, or None where it has none."""

    bf16: str | None  # "AMX-BF16" or "AVX512-BF16"
    int8: str | None  # "AMX-INT8" or "VNNI"


@dataclass(frozen=True)
class Precision:
    """How the weights of one model run, and why."""

    dtype: str  # the weights' torch dtype, by name
    quantize: str | None  # "int8": dynamic int8 Linear layers over ``dtype`` float32
    reason: str  # for the run record: what asked for it, or what auto measured


@functools.lru_cache(maxsize=1)
def probe_cpu() -> CpuUnits:
    """Ask torch (cpuinfo) which low-precision units this CPU has."""
    import torch

    cpu = torch.cpu

    def has(name: str) -> bool:
        check = getattr(cpu, name, None)
        try:
            return bool(check()) if callable(check) else False
        except Exception:  # a probe torch could not run: the unit counts as absent
            return False

    amx = has("_is_amx_tile_supported")
    bf16 = "AMX-BF16" if amx else "AVX512-BF16" if has("_is_avx512_bf16_supported") else None
    int8 = "AMX-INT8" if amx else "VNNI" if has("_is_vnni_supported") else None
    return CpuUnits(bf16=bf16, int8=int8)


def cpu_units(env: Mapping[str, str]) -> CpuUnits:
    """:func:`probe_cpu`, with ``LLMCLI_CPU_BF16`` overriding the bfloat16 answer."""
    units = probe_cpu()
    forced = env.get(BF16_ENV, "").strip().lower()
    if forced in _OFF:
        return CpuUnits(bf16=None, int8=units.int8)
    if forced in _ON and units.bf16 is None:
        return CpuUnits(bf16=f"{BF16_ENV}={forced}", int8=units.int8)
    return units


def check_options(dtype: str, quantize: str, backend: str) -> None:
    """Refuse combinations no load could accept, before anything slow happens."""
    if quantize not in QUANTIZE:
        raise UsageError(f"invalid quantization {quantize!r}", hint=f"one of {', '.join(QUANTIZE)}")
    if quantize != INT8:
        return
    if backend != "torch":
        raise UsageError(
            "--quantize int8 is for the torch backend",
            hint="with --backend ctranslate2 use --compute-type int8",
        )
    if dtype not in ("auto", "float32"):
        raise UsageError(
            f"--quantize int8 keeps the rest of the model in float32, not {dtype}",
            hint="drop --dtype, or use --dtype bfloat16 without --quantize",
        )


def check_device(dtype: str, quantize: str, device: str, env: Mapping[str, str]) -> None:
    """Refuse a precision ``device`` cannot run well: int8 off the CPU, bfloat16 on a CPU
    without native bfloat16 (it would be emulated, slower than float32). The option values
    themselves were checked with the model choice (:func:`check_options`)."""
    if quantize == INT8 and device != "cpu":
        raise UsageError(
            f"--quantize int8 runs on the CPU, not {device}",
            hint="use --device cpu, or --dtype bfloat16 on a GPU",
        )
    if dtype == BF16 and device == "cpu" and cpu_units(env).bf16 is None:
        raise UsageError(
            "this CPU has no native bfloat16 (AVX512-BF16 or AMX): it would run emulated, "
            "slower than float32",
            hint="use --dtype float32, or --quantize int8",
        )


def resolve(
    dtype: str,
    quantize: str,
    device: str,
    task: str,
    family: Family,
    env: Mapping[str, str],
) -> Precision:
    """The precision a model of ``family`` runs ``task`` in on ``device``, for options
    that passed :func:`check_options` and :func:`check_device` (``load_model`` runs both
    before it looks for the model)."""
    if quantize == INT8:
        return Precision("float32", INT8, "asked (--quantize int8)")
    if dtype != "auto":
        return Precision(dtype, None, f"asked (--dtype {dtype})")
    if device.startswith("cuda"):
        import torch

        chosen = BF16 if torch.cuda.is_bf16_supported() else "float16"
        return Precision(chosen, None, f"auto: {chosen} on CUDA")
    if device != "cpu":
        return Precision("float32", None, f"auto: float32 on {device}")
    return _auto_cpu(quantize, task, family, cpu_units(env))


def _auto_cpu(quantize: str, task: str, family: Family, units: CpuUnits) -> Precision:
    passed = AUTO_CPU.get((task, family), ())
    what = f"{task} on {family.value} models"
    for setting in passed:
        if setting == BF16 and units.bf16 is not None:
            reason = f"auto: {units.bf16} on this CPU; passed the gate for {what}"
            return Precision(BF16, None, reason)
        if setting == INT8 and quantize == "auto" and units.int8 is not None:
            return Precision(
                "float32", INT8, f"auto: {units.int8} on this CPU; passed the gate for {what}"
            )
    if not passed:
        return Precision("float32", None, f"auto: no faster setting passed the gate for {what}")
    units_needed = {"native bfloat16" if s == BF16 else "int8 units" for s in passed}
    missing = " or ".join(sorted(units_needed))
    return Precision("float32", None, f"auto: this CPU has no {missing}")


def quantize_int8(model: object) -> object:
    """``model`` with every ``torch.nn.Linear`` replaced by a dynamic int8 one.

    torch's own dynamic quantization (fbgemm/x86 kernels, VNNI where present): measured
    here 4.5x float32 on a DistilBERT-size forward pass, where torchao 0.18's
    ``Int8DynamicActivationInt8WeightConfig`` ran 1.5x in eager mode (bench/precision.py
    reports the ceilings). Deprecated in torch in favour of torchao; a torch without it
    gets a one-line error.
    """
    import warnings

    import torch

    quantization = getattr(getattr(torch, "ao", None), "quantization", None)
    quantize_dynamic = getattr(quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:
        raise UsageError(
            f"this torch ({torch.__version__}) has no dynamic int8 quantization",
            hint="use --quantize none, or --dtype bfloat16 on a CPU that has it",
        )
    with warnings.catch_warnings():
        # Its deprecation notice would only reach the user's terminal.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
