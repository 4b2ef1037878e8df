"""Sentence embeddings: the bare-encoder family, the Embedder, and the minilm built-in.

A tiny random BertModel (tests/tiny_models.py ``make_bert_embedder``) stands in for
all-MiniLM-L6-v2: same architecture, same folder layout (``1_Pooling/config.json``),
a few thousand weights. Its vectors mean nothing; these tests check shapes, unit
length, that padding and batching never change a vector, and the pooling switch.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import tiny_models
from eval_support import cli
from llmcli.errors import ModelUnavailableError, UsageError
from llmcli.models import builtin, cache, embedding, loading, registry
from llmcli.models.base import Family, LoadedModel, ModelChoice
from llmcli.models.builtin import Fetched, Notice
from llmcli.models.embedding import Embedder
from llmcli.models.loading import family_of, load_model
from llmcli.models.registry import ModelSpec

SENTENCES = [
    "The cat likes the blue door.",
    "A young doctor visited the market after dinner.",
    "Paris",
    "The small company sold the mountain road for 12 hours, and everyone was happy "
    "because the weather improved again and again before the storm.",
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # load_model keeps models per process, keyed without LLMCLI_HOME: the built-in tests
    # below prepare minilm in a different home each time.
    loading.clear_cache()
    yield
    loading.clear_cache()


@pytest.fixture
def bert_dir(tiny_model_dirs: dict[str, Path]) -> Path:
    return tiny_model_dirs["bert_embedder"]


@pytest.fixture
def loaded(bert_dir: Path) -> LoadedModel:
    return load_model(ModelChoice(str(bert_dir), device="cpu"), "embed", env={})


@pytest.fixture
def embedder(loaded: LoadedModel) -> Embedder:
    return Embedder(loaded)


# --- the family ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "family"), list(tiny_models.iter_families()))
def test_family_of_every_tiny_model(
    tiny_model_dirs: dict[str, Path], name: str, family: str
) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_model_dirs[name], local_files_only=True)
    assert family_of(config) is Family(family)


def test_bare_bert_is_an_embedder_not_a_causal_lm(bert_dir: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(bert_dir, local_files_only=True)
    assert config.architectures == ["BertModel"]
    assert family_of(config) is Family.EMBEDDING
    # The same config with a head is no embedder.
    config.architectures = ["BertForSequenceClassification"]
    assert family_of(config) is Family.CLASSIFIER


def test_load_model_for_embed(loaded: LoadedModel, bert_dir: Path) -> None:
    assert loaded.family is Family.EMBEDDING
    assert type(loaded.model).__name__ == "BertModel"
    assert not loaded.model.training
    assert loaded.source == str(bert_dir.resolve())
    assert loaded.extra["architecture"] == "BertModel"


# --- the Embedder -------------------------------------------------------------------------


def test_encode_gives_unit_vectors_in_order(embedder: Embedder, loaded: LoadedModel) -> None:
    import torch

    hidden = int(loaded.model.config.hidden_size)
    vectors = embedder.encode(SENTENCES)
    assert tuple(vectors.shape) == (len(SENTENCES), hidden)
    assert vectors.dtype == torch.float32
    assert torch.allclose(vectors.norm(dim=1), torch.ones(len(SENTENCES)), atol=1e-5)
    # Rows follow the input order (encode sorts by length internally).
    again = embedder.encode(list(reversed(SENTENCES)))
    assert torch.allclose(again, vectors.flip(0), atol=1e-5)
    assert embedder.pooling == "mean"


def test_padding_and_batching_never_change_a_vector(embedder: Embedder) -> None:
    import torch

    alone = torch.cat([embedder.encode([s]) for s in SENTENCES])
    together = embedder.encode(SENTENCES)
    assert torch.allclose(alone, together, atol=1e-5)
    # Different texts give different vectors (the pooling did not collapse to padding).
    assert not torch.allclose(together[0], together[3], atol=1e-3)


def test_many_small_batches_match_one_batch(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    texts = [f"{s} {i}" for i in range(7) for s in SENTENCES[:2]] + SENTENCES
    one = embedder.encode(texts)
    # A token budget this small puts one or two sentences in each forward pass.
    monkeypatch.setattr(embedding, "_BATCH_TOKENS", 24)
    many = embedder.encode(texts)
    assert torch.allclose(one, many, atol=1e-5)


def test_empty_input(embedder: Embedder, loaded: LoadedModel) -> None:
    vectors = embedder.encode([])
    assert tuple(vectors.shape) == (0, int(loaded.model.config.hidden_size))


def test_long_text_is_cut_at_the_token_limit(embedder: Embedder) -> None:
    import torch

    assert 8 <= embedder.max_tokens <= tiny_models.MAX_POSITIONS
    long = " ".join(SENTENCES * 200)
    (vector,) = embedder.encode([long])
    assert torch.isfinite(vector).all()
    assert float(vector.norm()) == pytest.approx(1.0, abs=1e-5)


def test_max_seq_length_from_the_folder(tmp_path: Path, bert_dir: Path) -> None:
    folder = shutil.copytree(bert_dir, tmp_path / "short")
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 16}', "utf-8")
    short = Embedder(load_model(ModelChoice(str(folder), device="cpu"), "embed", env={}))
    assert short.max_tokens == 16


def test_cls_pooling_is_honoured(tmp_path: Path, embedder: Embedder) -> None:
    import torch

    folder = tiny_models.make_bert_embedder(tmp_path / "cls", pooling="cls")
    loaded = load_model(ModelChoice(str(folder), device="cpu"), "embed", env={})
    cls = Embedder(loaded)
    assert cls.pooling == "cls"
    text = SENTENCES[1]
    encoded = loaded.tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        hidden = loaded.model(**encoded).last_hidden_state
    expected = torch.nn.functional.normalize(hidden[:, 0], dim=-1)
    got = cls.encode([text])
    assert torch.allclose(got, expected, atol=1e-5)
    # Same weights (same seed), other pooling: the mean-pooled vector differs.
    assert not torch.allclose(got, embedder.encode([text]), atol=1e-3)


def test_without_a_pooling_config_it_means(tmp_path: Path, bert_dir: Path) -> None:
    folder = shutil.copytree(bert_dir, tmp_path / "no-pooling")
    shutil.rmtree(folder / "1_Pooling")
    assert (
        Embedder(load_model(ModelChoice(str(folder), device="cpu"), "embed", env={})).pooling
        == "mean"
    )


@pytest.mark.parametrize("name", ["llama", "distilbert_classifier"])
def test_embedder_refuses_other_families(tiny_model_dirs: dict[str, Path], name: str) -> None:
    other = load_model(ModelChoice(str(tiny_model_dirs[name]), device="cpu"), "embed", env={})
    with pytest.raises(UsageError, match="not a sentence embedder"):
        Embedder(other)


# --- the minilm built-in, from a zip ------------------------------------------------------

MINILM = registry.SPECS["minilm"]


def zip_folder(folder: Path, archive: Path, extra: Mapping[str, bytes] = {}) -> Path:
    """``folder``'s files at the root of a zip, as the minilm wheel's model.zip holds them."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                zf.write(path, path.relative_to(folder).as_posix())
        for name, data in extra.items():
            zf.writestr(name, data)
    return archive


def fetch_from(archive: Path) -> builtin.Fetcher:
    """A fetcher that hands over ``archive`` instead of pip-downloading the wheel."""

    def fetch(
        spec: ModelSpec, work: Path, env: Mapping[str, str], notice: Notice | None = None
    ) -> Fetched:
        assert spec.builtin is not None
        copy = work / spec.builtin.gguf_name
        shutil.copyfile(archive, copy)
        return Fetched(copy, (), "test")

    return fetch


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    return {"LLMCLI_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}


def test_minilm_spec() -> None:
    assert MINILM.family is Family.EMBEDDING
    assert MINILM.tasks == ("embed",)
    assert MINILM.builtin is not None and MINILM.builtin.archive == "zip"
    assert registry.resolve(None, "embed", {}).target == "minilm"


def test_minilm_prepared_from_a_zip_loads_as_an_embedder(
    bert_dir: Path, tmp_path: Path, home_env: dict[str, str]
) -> None:
    import torch

    archive = zip_folder(bert_dir, tmp_path / "model.zip")
    notices: list[str] = []
    path = builtin.prepare_spec(MINILM, home_env, notices.append, fetch=fetch_from(archive))
    assert path == builtin.target_dir(MINILM, home_env)
    assert (path / "config.json").is_file() and (path / "1_Pooling" / "config.json").is_file()
    marker = cache.read_marker(path)
    assert marker is not None and marker["name"] == "minilm"
    assert any("unpacking" in n for n in notices)

    loaded = load_model(ModelChoice(str(path), device="cpu"), "embed", env=home_env)
    assert loaded.family is Family.EMBEDDING
    # By name, the prepared copy is used (no fetch: it is complete).
    by_name = load_model(ModelChoice("minilm", device="cpu"), "embed", env=home_env)
    assert by_name.family is Family.EMBEDDING
    assert by_name.extra["builtin"] == "minilm" and by_name.extra["languages"] == ("en",)
    vectors = Embedder(by_name).encode(SENTENCES[:2])
    assert torch.allclose(vectors, Embedder(loaded).encode(SENTENCES[:2]), atol=1e-5)


@pytest.mark.parametrize("evil", ["../evil.txt", "sub/../../evil.txt", "../../evil.txt"])
def test_a_zip_member_outside_the_folder_is_refused(
    bert_dir: Path, tmp_path: Path, home_env: dict[str, str], evil: str
) -> None:
    archive = zip_folder(bert_dir, tmp_path / "model.zip", {evil: b"gotcha"})
    before = {p for p in tmp_path.rglob("*") if "evil" in p.name}
    with pytest.raises(ModelUnavailableError, match="outside its folder"):
        builtin.prepare_spec(MINILM, home_env, fetch=fetch_from(archive))
    assert {p for p in tmp_path.rglob("*") if "evil" in p.name} == before == set()
    target = builtin.target_dir(MINILM, home_env)
    assert not target.exists()
    # Nothing half-unpacked is left beside the target either (the lock file may stay).
    assert [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_a_zip_without_config_is_refused(
    bert_dir: Path, tmp_path: Path, home_env: dict[str, str]
) -> None:
    stripped = shutil.copytree(bert_dir, tmp_path / "stripped")
    (stripped / "config.json").unlink()
    archive = zip_folder(stripped, tmp_path / "model.zip")
    with pytest.raises(ModelUnavailableError, match=r"config\.json"):
        builtin.prepare_spec(MINILM, home_env, fetch=fetch_from(archive))
    assert not builtin.target_dir(MINILM, home_env).exists()


def test_a_zip_in_a_subfolder_is_refused(
    bert_dir: Path, tmp_path: Path, home_env: dict[str, str]
) -> None:
    # The folder one level down: config.json is not where a model folder has it.
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(bert_dir.rglob("*")):
            if path.is_file():
                zf.write(path, "all-MiniLM-L6-v2/" + path.relative_to(bert_dir).as_posix())
    with pytest.raises(ModelUnavailableError):
        builtin.prepare_spec(MINILM, home_env, fetch=fetch_from(archive))


def test_not_a_zip_is_refused(tmp_path: Path, home_env: dict[str, str]) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(b"PK\x03\x04 but not really a zip" + bytes(64))
    with pytest.raises(ModelUnavailableError, match="not a zip"):
        builtin.prepare_spec(MINILM, home_env, fetch=fetch_from(archive))


def test_models_lists_minilm_for_embed(home_env: dict[str, str]) -> None:
    result = cli("models", "--json", variables=home_env)
    assert result.code == 0, result.stderr
    rows = {r["name"]: r for r in (json.loads(line) for line in result.stdout.splitlines())}
    assert rows["minilm"]["tasks"] == ["embed"]
    assert rows["minilm"]["present"] is False
    plain = cli("models", variables=home_env)
    assert any(line.split("\t")[:2] == ["minilm", "embed"] for line in plain.stdout.splitlines())
