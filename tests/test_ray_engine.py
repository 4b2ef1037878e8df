"""``--engine ray``: the same commands on a local Ray with 2 CPUs, against the local engine.

One Ray instance serves the whole module (starting one costs seconds); each command
starts its own pool of model-holding actors on it, as a real run does. The models are
the tiny random-weight ones of tests/tiny_models.py, loaded by the actors from disk.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eval_support import CliResult, assert_error, cli

RAY_CPUS = 2


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """A local Ray with 2 CPUs, as CI has; the engine joins it instead of starting one."""
    import ray

    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def offline(tmp_path: Path, tiny_model_dirs: dict[str, Path]) -> dict[str, str]:
    return {
        "HF_HUB_OFFLINE": "1",
        "LLMCLI_HOME": str(tmp_path / "home"),
        # A tiny local sentence embedder: the built-in one would be fetched from PyPI.
        "LLMCLI_MODEL_EMBED": str(tiny_model_dirs["bert_embedder"]),
    }


def records(result: CliResult) -> list[dict[str, Any]]:
    assert result.code in (0, 4), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def without_run(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "run"} for row in rows]


def same_producer(local: dict[str, Any], ray: dict[str, Any]) -> None:
    """The run records agree on the task, model and settings; Ray's says it was Ray."""
    assert ray["engine"] == "ray" and "engine" not in local
    for key in ("llmcli", "task", "model", "source", "family", "dtype", "backend", "settings"):
        assert ray[key] == local[key], key


def reviews(n: int, seed: int) -> str:
    words = ["good", "dull", "fine", "awful", "moving", "long", "bright", "odd"]
    lines = []
    for i in range(n):
        if i % 5 == 4:
            lines.append("")  # blank lines stay aligned
        else:
            picked = [words[(i * seed + k) % len(words)] for k in range(1 + i % 7)]
            lines.append(f"Review {i}: the film was {' and '.join(picked)}.")
    return "".join(line + "\n" for line in lines)


def test_lines_over_files_and_a_folder_match_the_local_engine(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "more"
    (folder / "sub").mkdir(parents=True)
    first = tmp_path / "a.txt"
    first.write_text(reviews(23, 3), "utf-8")
    (folder / "b.txt").write_text(reviews(9, 5), "utf-8")
    (folder / "sub" / "c.txt").write_text(reviews(14, 7), "utf-8")
    (folder / ".hidden.txt").write_text("not read\n", "utf-8")
    model = tiny_model_dirs["distilbert_classifier"]
    args = ["sentiment", "--lines", "--model", model, "--threads", "1", first, folder]

    local = cli(*args, "--json", variables=offline)
    ray = cli(*args, "--json", "--engine", "ray", "--workers", "2", variables=offline)

    local_rows, ray_rows = records(local), records(ray)
    assert len(local_rows) == 23 + 9 + 14
    assert [r["source"] for r in ray_rows][-14:] == [str(folder / "sub" / "c.txt")] * 14
    assert without_run(ray_rows) == without_run(local_rows)
    assert [r["index"] for r in ray_rows] == list(range(len(ray_rows)))
    assert sum("skipped" in r for r in ray_rows) == 4 + 1 + 2
    same_producer(local_rows[0]["run"], ray_rows[0]["run"])
    assert ray.stderr == ""

    plain = cli(*args, "--engine", "ray", variables=offline)
    assert plain.code == 0, plain.stderr
    assert plain.stdout == cli(*args, variables=offline).stdout


def test_jsonl_generation_keeps_fields_and_order_and_writes_the_output_file(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "docs.jsonl"
    rows = [
        {"id": f"doc-{i}", "meta": {"n": i, "tags": ["x"] * (i % 3)}, "text": reviews(3 + i % 4, i)}
        for i in range(12)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    model = tiny_model_dirs["bart"]
    args = ["summarize", "--jsonl", "--json", "--model", model, "--threads", "1", source]
    args += ["--max-length", "8"]

    local = records(cli(*args, variables=offline))
    out = tmp_path / "summaries.jsonl"
    ray = cli(*args, "--engine", "ray", "-o", out, variables=offline)
    assert ray.code == 0, ray.stderr
    assert ray.stdout == ""
    ray_rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]

    assert without_run(ray_rows) == without_run(local)
    assert [(r["id"], r["meta"]) for r in ray_rows] == [(r["id"], r["meta"]) for r in rows]
    assert all(isinstance(r["summary"], str) for r in ray_rows)
    assert not list(tmp_path.glob("*.llmcli-*"))  # journal files gone after success


def test_generate_prompts_per_line_match_the_local_engine(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    stdin = b"A poem about rain.\n\nOnce upon a time\nAn email to Sam.\n"
    model = tiny_model_dirs["llama"]
    args = ["generate", "--lines", "--json", "--greedy", "--max-new-tokens", "4"]
    args += ["--model", model, "--threads", "1"]
    local = records(cli(*args, stdin=stdin, variables=offline))
    ray = records(cli(*args, "--engine", "ray", stdin=stdin, variables=offline))
    assert len(local) == 4 and "skipped" in local[1]
    assert without_run(ray) == without_run(local)
    same_producer(local[0]["run"], ray[0]["run"])


def test_stdin_is_read_by_the_driver(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    text = reviews(11, 2).encode()
    model = tiny_model_dirs["distilbert_classifier"]
    args = ["sentiment", "--lines", "--json", "--model", model, "--threads", "1"]
    local = records(cli(*args, stdin=text, variables=offline))
    ray = records(cli(*args, "--engine", "ray", stdin=text, variables=offline))
    assert without_run(ray) == without_run(local)
    assert {r["source"] for r in ray} == {"<stdin>"}


def _questions(tmp_path: Path) -> Path:
    context = "The treaty was signed by Alice Martin in 1921 in Geneva."
    rows = [
        {"id": i, "question": "Who signed it?", "context": f"{context} Copy {i}."} for i in range(6)
    ]
    rows[2]["question"] = " ".join(["why"] * 2000)  # no room left for the context
    source = tmp_path / "qa.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return source


def test_a_failed_item_is_recorded_and_a_dead_worker_is_retried(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    source = _questions(tmp_path)
    marker = tmp_path / "crashed"
    args = ["ask", "--jsonl", "--json", "--keep-going", "--model", tiny_model_dirs["distilbert_qa"]]
    args += ["--threads", "1", source]

    local = cli(*args, variables=offline)
    ray = cli(*args, "--engine", "ray", variables={**offline, "LLMCLI_RAY_CRASH_ONCE": str(marker)})

    assert marker.exists()  # a worker process died mid-batch, and Ray retried the batch
    assert ray.code == local.code == 4, ray.stderr
    assert without_run(records(ray)) == without_run(records(local))
    failed = records(ray)[2]
    assert failed["error"]["type"] == "UsageError"
    assert failed["error"]["message"].startswith(f"{source}:3: the question is too long")
    assert ray.stderr == local.stderr


def test_without_keep_going_the_first_error_ends_the_job_as_locally(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    source = _questions(tmp_path)
    args = ["ask", "--jsonl", "--model", tiny_model_dirs["distilbert_qa"], source]
    local = cli(*args, variables=offline)
    ray = cli(*args, "--engine", "ray", variables=offline)
    message = assert_error(local, 2, "the question is too long")
    assert ray.code == 2 and ray.stderr.splitlines()[-1] == message


def test_a_model_that_fails_to_load_on_the_workers_exits_3(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"', "utf-8")
    lines = tmp_path / "in.txt"
    lines.write_text("fine\n", "utf-8")
    args = ["sentiment", "--lines", "--model", broken, lines]
    local = cli(*args, variables=offline)
    ray = cli(*args, "--engine", "ray", variables=offline)
    message = assert_error(local, 3, "config.json is unreadable")
    assert_error(ray, 3, message.removeprefix("llmcli: error: "))


def test_an_unreadable_file_ends_the_job_as_locally(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str], tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(reviews(6, 1), "utf-8")
    bad.write_bytes(b"a fine line\nthen \x00 binary\n")
    model = tiny_model_dirs["distilbert_classifier"]
    args = ["sentiment", "--lines", "--model", model, good, bad]
    local = cli(*args, variables=offline)
    ray = cli(*args, "--engine", "ray", variables=offline)
    assert local.code == ray.code == 2
    assert ray.stderr == local.stderr
    assert ray.stderr.endswith(
        f"llmcli: error: {bad}: binary data (NUL byte) at byte 17, line 2 "
        "(llmcli reads text files only)\n"
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--workers", "2"], "--workers need --engine ray"),
        (["--ray-address", "auto"], "--ray-address need --engine ray"),
        (["--engine", "spark"], "invalid engine 'spark'"),
        (["--engine", "ray", "--resume", "-o", "OUT"], "--resume works with the local engine"),
        (["--engine", "ray", "--workers", "3"], "need 3 CPUs"),
        (["--engine", "ray", "--workers", "1", "--threads", "4"], "need 4 CPUs"),
    ],
)
def test_engine_usage_errors(
    tiny_model_dirs: dict[str, Path],
    offline: dict[str, str],
    tmp_path: Path,
    extra: list[str],
    fragment: str,
) -> None:
    lines = tmp_path / "in.txt"
    lines.write_text("fine\n", "utf-8")
    extra = [str(tmp_path / "out.txt") if a == "OUT" else a for a in extra]
    model = tiny_model_dirs["distilbert_classifier"]
    result = cli("sentiment", "--lines", "--model", model, *extra, lines, variables=offline)
    assert_error(result, 2, fragment)


def test_without_ray_installed_exits_3_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, offline: dict[str, str], tmp_path: Path
) -> None:
    lines = tmp_path / "in.txt"
    lines.write_text("fine\n", "utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    result = cli("sentiment", "--lines", "--engine", "ray", lines, variables=offline)
    assert_error(result, 3, "--engine ray needs Ray Data", "pip install 'llmcli[ray]'")
