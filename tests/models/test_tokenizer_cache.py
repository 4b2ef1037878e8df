"""tokenizer_cache.load_tokenizer gives the tokenizer AutoTokenizer.from_pretrained gives.

Every tiny model with a ``tokenizer.json``, a tiny Gemma-style tokenizer (the class that
rebuilds its backend from the parsed file, like the built-in Gemma 3) and a
``TokenizersBackend`` one (like the built-in SmolLM2) are loaded both ways, first with
no compact copy (it is written), then from the copy, and compared on the backend,
the special and added tokens, and the encodings of a varied set of texts. The real
built-in models are compared too where they are already prepared.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tiny_models
from llmcli.models import builtin, loading, tokenizer_cache
from llmcli.models.base import ModelChoice

TEXTS = [
    "Hello world",
    "The capital of France is",
    "",
    " ",
    "   leading and trailing   ",
    "multiple     spaces\tand\ttabs\n\nand\r\nnewlines\n",
    "Café, naïve, Straße, Größe — «quotes» and “curly” ones",
    "日本語のテキストと中文文本",
    "مرحبا بالعالم",  # right-to-left
    "emoji 🤖🎉 and a family 👨‍👩‍👧 (zero-width joiners)",
    "combining: e\u0301 vs é; ligature ﬁ; full-width ＡＢＣ１２３",
    "numbers 1234567890 3.14159 1,000,000 and $5.99",
    "punctuation!!! ??? ... --- ((())) [x] {y} <z>",
    "code: def f(x): return x**2  # comment",
    "special tokens in text: <bos> <eos> <pad> <unk> <mask> </s> <s>",
    "<|im_start|>user\nhi<|im_end|>\n<|endoftext|>",
    "<start_of_turn>user\nhello<end_of_turn>\n<custom> token",
    "[CLS] [SEP] [PAD] [MASK] <extra_id_0> </s>",
    "a" * 300,
    "\x00\x07 control \x1b characters \ufeff bom",
    "The cat likes the blue door yesterday. Le chat aime la porte bleue.",
]
CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the capital of France? Réponds en français 🇫🇷."},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "  And   of Germany?\n"},
]
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else 'user' }}\n{{ m['content'] | trim }}"
    "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
TINY = ["t5", "bart", "distilbert_qa", "llama"]  # the tiny models with a tokenizer.json


@pytest.fixture(autouse=True)
def _every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tiny tokenizers are a few kB; the threshold would leave them to transformers.
    monkeypatch.setattr(tokenizer_cache, "MIN_CACHED_BYTES", 0)


def make_gemma(path: Path) -> Path:
    """A tiny GemmaTokenizer: byte-fallback BPE, added special and plain tokens, a template."""
    from tokenizers import AddedToken, Tokenizer, models, normalizers, trainers
    from transformers import Gemma3TextConfig
    from transformers.models.gemma.tokenization_gemma import GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    trainer_tok.normalizer = normalizers.Replace(" ", "▁")
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=specials + [f"<0x{i:02X}>" for i in range(256)],
        show_progress=False,
    )
    trainer_tok.train_from_iterator(tiny_models.corpus(), trainer=trainer)
    model = json.loads(trainer_tok.to_str())["model"]
    tokenizer = GemmaTokenizer(vocab=model["vocab"], merges=[tuple(m) for m in model["merges"]])
    tokenizer.add_tokens(
        [
            AddedToken("<start_of_turn>", special=True, normalized=False),
            AddedToken("<end_of_turn>", special=True, normalized=False),
            AddedToken("<custom>", special=False, normalized=False),
        ]
    )
    tokenizer.chat_template = GEMMA_TEMPLATE
    path.mkdir(parents=True)
    tokenizer.save_pretrained(path)
    Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
    ).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def folders(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Tokenizer folders by name: the tiny models, ``gemma`` and ``backend``."""
    root = tmp_path_factory.mktemp("tokenizers")
    found = {name: tiny_model_dirs[name] for name in TINY}
    found["gemma"] = make_gemma(root / "gemma")
    # SmolLM2's tokenizer_config names the generic class, whose backend is read in Rust.
    backend = shutil.copytree(tiny_model_dirs["llama"], root / "backend")
    config_path = backend / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "TokenizersBackend"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    found["backend"] = backend
    return found


def plain(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tokenizer_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the tokenizer.json files that ``json.load`` parsed, from now on."""
    reads: list[str] = []
    real_load = json.load

    def spy(fp: Any, *args: Any, **kwargs: Any) -> Any:
        name = str(getattr(fp, "name", ""))
        if name.endswith(tokenizer_cache.TOKENIZER_JSON):
            reads.append(name)
        return real_load(fp, *args, **kwargs)

    monkeypatch.setattr(json, "load", spy)
    return reads


def assert_same_tokenizer(fast: Any, slow: Any) -> None:
    """Same class, backend, tokens and settings; same results on TEXTS and CHAT."""
    assert type(fast) is type(slow)
    assert fast._tokenizer.to_str() == slow._tokenizer.to_str()
    assert repr(fast.init_kwargs) == repr(slow.init_kwargs)
    assert repr(fast.added_tokens_decoder) == repr(slow.added_tokens_decoder)
    assert fast.special_tokens_map == slow.special_tokens_map
    assert fast.all_special_tokens == slow.all_special_tokens
    assert fast.all_special_ids == slow.all_special_ids
    for attr in ("bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token"):
        assert getattr(fast, attr) == getattr(slow, attr), attr
        assert getattr(fast, f"{attr}_id") == getattr(slow, f"{attr}_id"), attr
    assert fast.get_vocab() == slow.get_vocab()
    assert len(fast) == len(slow)
    for attr in ("padding_side", "truncation_side", "model_max_length", "chat_template"):
        assert getattr(fast, attr) == getattr(slow, attr), attr

    for text in TEXTS:
        ids = slow(text)["input_ids"]
        assert fast(text).data == slow(text).data, text
        assert fast.encode(text, add_special_tokens=False) == slow.encode(
            text, add_special_tokens=False
        )
        assert fast.tokenize(text) == slow.tokenize(text), text
        assert fast.convert_ids_to_tokens(ids) == slow.convert_ids_to_tokens(ids)
        assert fast.decode(ids) == slow.decode(ids), text
        assert fast.decode(ids, skip_special_tokens=True) == slow.decode(
            ids, skip_special_tokens=True
        )
    assert fast(TEXTS[0], TEXTS[1]).data == slow(TEXTS[0], TEXTS[1]).data
    if slow.pad_token is not None:
        side = slow.padding_side
        for padding_side in ("left", "right"):
            fast.padding_side = slow.padding_side = padding_side
            assert fast(TEXTS, padding=True).data == slow(TEXTS, padding=True).data
        fast.padding_side = slow.padding_side = side
    if slow.chat_template:
        for tokenize in (False, True):
            kwargs = {"add_generation_prompt": True, "tokenize": tokenize}
            assert fast.apply_chat_template(CHAT, **kwargs) == slow.apply_chat_template(
                CHAT, **kwargs
            )


NAMES = [*TINY, "gemma", "backend"]


@pytest.mark.parametrize("name", NAMES)
def test_same_tokenizer_with_and_without_a_copy(
    folders: dict[str, Path], tmp_path: Path, name: str, tokenizer_reads: list[str]
) -> None:
    folder = folders[name]
    cache_dir = tmp_path / "copies"
    slow = plain(folder)
    # transformers reads the file itself (its added tokens at least): what the copy saves.
    assert tokenizer_reads, "transformers no longer json-parses tokenizer.json"

    tokenizer_reads.clear()
    first = tokenizer_cache.load_tokenizer(folder, cache_dir)
    assert tokenizer_reads == []  # parsed once, by us, and handed to every reader
    copy = tokenizer_cache.cached_copy_path(cache_dir, sha256(folder / "tokenizer.json"))
    assert copy.is_file()
    header = json.loads(copy.read_bytes().split(b"\n", 1)[0])
    assert header["format"] == tokenizer_cache.CACHE_FORMAT
    assert_same_tokenizer(first, slow)

    written = copy.stat().st_mtime_ns
    second = tokenizer_cache.load_tokenizer(folder, cache_dir)
    assert tokenizer_reads == []
    assert copy.stat().st_mtime_ns == written  # read, not rewritten
    assert_same_tokenizer(second, plain(folder))  # a fresh one: encoding leaves padding state


def test_without_a_cache_folder(folders: dict[str, Path], tokenizer_reads: list[str]) -> None:
    slow = plain(folders["gemma"])
    tokenizer_reads.clear()
    fast = tokenizer_cache.load_tokenizer(folders["gemma"], None)
    assert tokenizer_reads == []
    assert_same_tokenizer(fast, slow)


def test_small_files_are_left_to_transformers(
    folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokenizer_cache, "MIN_CACHED_BYTES", 1 << 40)
    fast = tokenizer_cache.load_tokenizer(folders["gemma"], tmp_path / "copies")
    assert not (tmp_path / "copies").exists()
    assert_same_tokenizer(fast, plain(folders["gemma"]))


def test_a_damaged_copy_is_replaced(folders: dict[str, Path], tmp_path: Path) -> None:
    folder, cache_dir = folders["gemma"], tmp_path / "copies"
    tokenizer_cache.load_tokenizer(folder, cache_dir)
    copy = tokenizer_cache.cached_copy_path(cache_dir, sha256(folder / "tokenizer.json"))
    good = copy.read_bytes()
    damages = [good[: len(good) // 2], good[:-1], b"", b'{"format": 1}\n', b"[1, 2]\n"]
    damages.append(good.replace(b'"separator": "', b'"separator": "x'))
    for damage in damages:
        copy.write_bytes(damage)
        assert_same_tokenizer(tokenizer_cache.load_tokenizer(folder, cache_dir), plain(folder))
        assert copy.read_bytes() == good


def test_a_copy_whose_hash_does_not_match_is_ignored(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    # A copy claiming another file's hash (renamed by hand, say) must not be used.
    folder, cache_dir = folders["gemma"], tmp_path / "copies"
    tokenizer_cache.load_tokenizer(folders["llama"], cache_dir)
    llama_copy = tokenizer_cache.cached_copy_path(
        cache_dir, sha256(folders["llama"] / "tokenizer.json")
    )
    gemma_copy = tokenizer_cache.cached_copy_path(cache_dir, sha256(folder / "tokenizer.json"))
    shutil.copyfile(llama_copy, gemma_copy)
    assert_same_tokenizer(tokenizer_cache.load_tokenizer(folder, cache_dir), plain(folder))


def test_a_changed_file_gets_its_own_copy(folders: dict[str, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(folders["gemma"], tmp_path / "gemma")
    cache_dir = tmp_path / "copies"
    before = tokenizer_cache.load_tokenizer(folder, cache_dir)
    word = "the mountain road"
    path = folder / "tokenizer.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    merges = document["model"]["merges"]
    # Drop the merges that build this word's tokens: it must then split differently.
    used = set(before.tokenize(word))
    document["model"]["merges"] = [m for m in merges if "".join(m) not in used]
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    after = tokenizer_cache.load_tokenizer(folder, cache_dir)
    assert after.tokenize(word) != before.tokenize(word)
    assert_same_tokenizer(after, plain(folder))
    assert len(list(cache_dir.glob("*.tokenizer"))) == 2


def test_an_unwritable_cache_folder_only_costs_speed(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    fast = tokenizer_cache.load_tokenizer(folders["gemma"], blocker / "copies")
    assert_same_tokenizer(fast, plain(folders["gemma"]))


def test_a_broken_file_fails_as_in_transformers(folders: dict[str, Path], tmp_path: Path) -> None:
    import transformers.tokenization_utils_base as base
    import transformers.tokenization_utils_tokenizers as fast_base

    folder = shutil.copytree(folders["gemma"], tmp_path / "gemma")
    for broken in (b'{"model": ', b"\xef\xbb\xbf{}", b"\xff\xfe not utf-8"):
        (folder / "tokenizer.json").write_bytes(broken)
        with pytest.raises(Exception) as slow_error:
            plain(folder)
        with pytest.raises(Exception) as fast_error:
            tokenizer_cache.load_tokenizer(folder, tmp_path / "copies")
        assert type(fast_error.value) is type(slow_error.value)
        assert str(fast_error.value) == str(slow_error.value)
        assert base.json is json and fast_base.json is json  # put back after a failure
    assert not list((tmp_path / "copies").glob("*.tokenizer"))


DOCUMENTS = {
    "separator characters in tokens": {
        "version": "1.0",
        "added_tokens": [{"id": 0, "content": "\x00", "special": True}],
        "model": {
            "type": "BPE",
            "vocab": {"\x00": 0, "\x01a": 1, "b\x02": 2, "\x03": 3, "\ue000": 4, "ab": 5},
            "merges": [["\x01a", "b\x02"], ["a", "b"]],
            "byte_fallback": True,
        },
    },
    "gaps in ids, merges as strings": {
        "model": {"type": "BPE", "vocab": {"a": 7, "b": 3, "ab": 0}, "merges": ["a b"]},
        "normalizer": None,
    },
    "unigram": {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.5]]}},
    "odd merges": {"model": {"vocab": {"a": 0}, "merges": [["a", "b", "c"], ["a", 1]]}},
    "empty": {"model": {"type": "BPE", "vocab": {}, "merges": []}},
    "no model": {"version": "1.0", "truncation": {"max_length": 5}, "numbers": [1.5, -0.0, 1e300]},
    "not an object": [1, "two", None],
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_copies_rebuild_any_document(name: str) -> None:
    document = json.loads(json.dumps(DOCUMENTS[name]))
    sha = "0" * 64
    parts = tokenizer_cache._split(document)
    data = tokenizer_cache._encode_copy(sha, *parts)
    assert data is not None
    assert tokenizer_cache._rebuilds(data, sha, document)
    parsed = tokenizer_cache._parse_copy(data, sha)
    assert parsed is not None
    rebuilt = tokenizer_cache._assemble(*parsed)
    assert json.dumps(rebuilt) == json.dumps(document)  # values and key order
    assert tokenizer_cache._parse_copy(data, "1" * 64) is None  # another file's copy


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(folders: dict[str, Path], enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        tokenizer_cache.load_tokenizer(folders["gemma"], None)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_load_model_keeps_copies_in_llmcli_home(
    tiny_model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    env = {"LLMCLI_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    folder = tiny_model_dirs["llama"]
    loading.clear_cache()
    try:
        loaded = loading.load_model(ModelChoice(str(folder), device="cpu"), "ask", env=env)
    finally:
        loading.clear_cache()
    copies = loading.tokenizer_cache_dir(env)
    assert copies == tmp_path / "home" / "models" / "tokenizers"
    assert tokenizer_cache.cached_copy_path(copies, sha256(folder / "tokenizer.json")).is_file()
    assert loaded.tokenizer.padding_side == "left"  # llmcli's own settings still applied


# --- the real built-in models, where already prepared ----------------------------------


def _prepared(name: str) -> Path | None:
    for var in ("LLMCLI_TEST_HOME", "LLMCLI_HOME"):
        home = os.environ.get(var, "").strip()
        if home:
            status = builtin.status(name, {"LLMCLI_HOME": home})
            if status.present:
                return status.path
    return None


@pytest.fixture
def real_folder(request: pytest.FixtureRequest) -> Iterator[Path]:
    folder = _prepared(request.param)
    if folder is None:
        pytest.skip(f"{request.param} is not prepared in LLMCLI_TEST_HOME or LLMCLI_HOME")
    yield folder


@pytest.mark.slow
@pytest.mark.parametrize("real_folder", ["gemma3", "smollm2"], indirect=True)
def test_builtin_tokenizers_are_unchanged(
    real_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokenizer_cache, "MIN_CACHED_BYTES", 1 << 20)  # the real threshold
    slow = plain(real_folder)
    cache_dir = tmp_path / "copies"
    first = tokenizer_cache.load_tokenizer(real_folder, cache_dir)
    assert tokenizer_cache.cached_copy_path(
        cache_dir, sha256(real_folder / "tokenizer.json")
    ).is_file()
    assert_same_tokenizer(first, slow)
    second = tokenizer_cache.load_tokenizer(real_folder, cache_dir)
    assert_same_tokenizer(second, plain(real_folder))
