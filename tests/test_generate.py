"""``llmcli generate`` on tiny random-weight models: prompts, streaming, decoding options.

Random weights make arbitrary text, so the checks are about where text comes from and
what reaches stdout: streamed bytes equal the JSON text, seeds reproduce, stop strings
cut, long prompts are refused, and nothing is loaded before bad options are refused.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import pytest

from eval_support import assert_error, cli
from llmcli.cli.app import run
from llmcli.environment import Environment
from llmcli.models.base import ModelChoice
from llmcli.models.loading import load_model
from llmcli.tasks.base import TaskContext, TaskInput
from llmcli.tasks.generate import GenerateSettings, GenerateTask, TextStream, cut_at_stop

PROMPT = "Write a short story about a lighthouse keeper and a storm."
#: Seeded sampling: the tiny chat model's greedy choice is a special token (no text).
SEEDED = ("--seed", "3")


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    return {"HF_HUB_OFFLINE": "1", "LLMCLI_HOME": str(tmp_path / "home")}


class Pieces(io.StringIO):
    """A stdout that remembers every write, to see text arrive in pieces."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def tty_env(variables: dict[str, str], stdout: io.StringIO | None = None) -> Environment:
    """A terminal on stdin (nothing piped), stdout captured."""
    return Environment(
        stdin=io.BytesIO(b""),
        stdout=stdout or io.StringIO(),
        stderr=io.StringIO(),
        stdin_isatty=True,
        stdout_isatty=False,
        stderr_isatty=False,
        variables=variables,
    )


def generate(model: Path, *args: str, stdin: bytes = b"", variables: dict[str, str]) -> Any:
    """``llmcli generate ARGS --model MODEL`` with ``stdin`` piped in."""
    return cli("generate", *args, "--model", model, stdin=stdin, variables=variables)


def record(stdout: str) -> dict[str, Any]:
    (line,) = stdout.splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_streamed_text_is_the_json_text(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = str(tiny_model_dirs["llama"])
    pieces = Pieces()
    env = tty_env(offline, pieces)
    args = ["generate", PROMPT, *SEEDED, "--max-new-tokens", "24", "--model", model]
    code = run(args, env)
    assert code == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
    streamed = pieces.getvalue()
    assert len([w for w in pieces.writes if w]) > 2  # it arrived in pieces, not at the end
    env = tty_env(offline)
    assert run([*args, "--json"], env) == 0
    got = record(env.stdout.getvalue())  # type: ignore[attr-defined]
    assert streamed == got["text"] + "\n"
    assert got["text"]
    assert got["finish_reason"] in ("stop", "length")
    assert got["prompt_tokens"] > len(PROMPT.split()) and 0 < got["new_tokens"] <= 24
    assert got["source"] == "<prompt>"
    assert got["run"]["task"] == "generate" and got["run"]["settings"]["prompt_format"] == "chat"


def test_prompt_from_argument_stdin_or_both(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = tiny_model_dirs["llama"]
    base = (*SEEDED, "--max-new-tokens", "6", "--json")
    env = tty_env(offline)
    assert run(["generate", PROMPT, *base, "--model", str(model)], env) == 0
    alone = record(env.stdout.getvalue())  # type: ignore[attr-defined]
    piped = generate(model, *base, stdin=PROMPT.encode(), variables=offline)
    assert piped.code == 0, piped.stderr
    from_stdin = record(piped.stdout)
    # The same prompt either way: the same tokens in, the same text out.
    assert from_stdin["prompt_tokens"] == alone["prompt_tokens"]
    assert from_stdin["text"] == alone["text"]
    # A script's empty stdin (/dev/null) leaves the prompt alone; no prompt at all stays an error.
    empty = generate(model, PROMPT, *base, stdin=b"", variables=offline)
    assert empty.code == 0, empty.stderr
    assert record(empty.stdout)["prompt_tokens"] == alone["prompt_tokens"]
    assert_error(generate(model, *base, stdin=b"", variables=offline), 2, "empty input")
    both = generate(model, "Continue this:", *base, stdin=PROMPT.encode(), variables=offline)
    assert both.code == 0, both.stderr
    assert record(both.stdout)["prompt_tokens"] > alone["prompt_tokens"]


def test_seed_reproduces_a_sampled_text(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = tiny_model_dirs["llama"]
    args = ("--seed", "7", "--max-new-tokens", "12", "--json")
    first = generate(model, *args, stdin=PROMPT.encode(), variables=offline)
    again = generate(model, *args, stdin=PROMPT.encode(), variables=offline)
    assert first.code == again.code == 0, first.stderr
    a, b = record(first.stdout), record(again.stdout)
    assert a["text"] == b["text"]
    assert a["run"]["settings"]["do_sample"] is True and a["run"]["settings"]["seed"] == 7
    # Without --seed, one is chosen and recorded, so the run can be repeated.
    other = generate(model, "--max-new-tokens", "4", "--json", stdin=b"Hi", variables=offline)
    assert isinstance(record(other.stdout)["run"]["settings"]["seed"], int)


def test_stop_cuts_at_the_first_stop_string(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = tiny_model_dirs["llama"]
    args = (*SEEDED, "--max-new-tokens", "32", "--json")
    full = record(generate(model, *args, stdin=PROMPT.encode(), variables=offline).stdout)
    words = full["text"].split()
    assert len(words) >= 4, full["text"]
    stop = words[len(words) // 2]
    cut = generate(model, *args, "--stop", stop, stdin=PROMPT.encode(), variables=offline)
    got = record(cut.stdout)
    assert got["text"] == full["text"][: full["text"].index(stop)].strip()
    assert got["finish_reason"] == "stop"
    # Streamed, the stop string (or the start of one) never reaches stdout.
    plain = generate(
        model,
        *SEEDED,
        "--max-new-tokens",
        "32",
        "--stop",
        stop,
        stdin=PROMPT.encode(),
        variables=offline,
    )
    assert plain.stdout == got["text"] + "\n"


def test_several_samples_per_prompt(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    result = generate(
        tiny_model_dirs["llama"],
        "-n",
        "3",
        "--seed",
        "1",
        "--max-new-tokens",
        "8",
        "--json",
        stdin=PROMPT.encode(),
        variables=offline,
    )
    got = record(result.stdout)
    assert len(got["samples"]) == 3
    assert got["text"] == got["samples"][0]["text"]
    assert all(s["finish_reason"] in ("stop", "length") for s in got["samples"])
    plain = generate(
        tiny_model_dirs["llama"],
        "-n",
        "3",
        "--seed",
        "1",
        "--max-new-tokens",
        "8",
        stdin=PROMPT.encode(),
        variables=offline,
    )
    assert plain.stdout == "\n---\n".join(s["text"] for s in got["samples"]) + "\n"


def test_lines_are_batched_and_stay_aligned(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    stdin = b"A poem about rain.\n\nAn email to a friend.\nOnce upon a time\n"
    result = generate(
        tiny_model_dirs["llama"],
        "--lines",
        "--greedy",
        "--max-new-tokens",
        "5",
        stdin=stdin,
        variables=offline,
    )
    assert result.code == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 5 and lines[1] == "" and lines[-1] == ""


def test_seq2seq_models_generate_too(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    result = generate(
        tiny_model_dirs["t5"],
        "--greedy",
        "--max-new-tokens",
        "5",
        "--json",
        stdin=PROMPT.encode(),
        variables=offline,
    )
    assert result.code == 0, result.stderr
    got = record(result.stdout)
    assert got["run"]["family"] == "seq2seq" and got["run"]["settings"]["prompt_format"] == "plain"


def test_a_prompt_too_long_is_refused_unless_truncated(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = tiny_model_dirs["llama"]
    long = " ".join(["the keeper climbed the stairs again"] * 80).encode()
    refused = generate(model, "--max-new-tokens", "8", stdin=long, variables=offline)
    line = assert_error(refused, 2, "the prompt is", "tokens; the model takes at most")
    assert "--truncate left" in line
    kept = generate(
        model,
        "--max-new-tokens",
        "8",
        "--truncate",
        "left",
        "--json",
        stdin=long,
        variables=offline,
    )
    assert kept.code == 0, kept.stderr
    got = record(kept.stdout)
    assert got["truncated"] is True and got["prompt_tokens"] <= 256 - 8


def test_no_prompt_at_all_is_a_usage_error(offline: dict[str, str]) -> None:
    env = tty_env(offline)
    assert run(["generate", "--model", "/no/such/model"], env) == 2
    assert "generate needs a prompt" in env.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--temperature", "0", "temperature must be positive"),
        ("--top-p", "1.5", "top_p must be in (0, 1]"),
        ("--truncate", "middle", "invalid --truncate"),
    ],
)
def test_bad_decoding_options_exit_2_before_loading(
    offline: dict[str, str], option: str, value: str, fragment: str
) -> None:
    # The model does not exist: had it been looked for, the exit would be 3.
    result = cli("generate", "Hi", option, value, "--model", "/no/such/model", variables=offline)
    assert_error(result, 2, fragment)


def test_ctrl_c_while_streaming_exits_130_and_keeps_what_was_written(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    class Interrupting(Pieces):
        def write(self, text: str) -> int:
            if len([w for w in self.writes if w]) >= 2:
                raise KeyboardInterrupt
            return super().write(text)

    out = Interrupting()
    env = tty_env(offline, out)
    model = str(tiny_model_dirs["llama"])
    code = run(["generate", PROMPT, *SEEDED, "--max-new-tokens", "24", "--model", model], env)
    assert code == 130
    assert out.getvalue() and out.getvalue().encode("utf-8")  # what got out is whole text
    assert "interrupted" in env.stderr.getvalue()  # type: ignore[attr-defined]


def test_text_stream_never_writes_what_the_text_will_not_keep() -> None:
    class Chars:
        """A tokenizer whose tokens are characters (and one byte-split character)."""

        def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
            text = "".join(chr(i) for i in ids if i != 0)
            return text.replace("\x01", "\ufffd")

    written: list[str] = []
    stream = TextStream(Chars(), ["END"], written.append)
    for ch in "  Hello wor\x01":
        stream.add([ord(ch)])
    assert "".join(written) == "Hello wor"  # no leading blanks, no half character
    for ch in "ld EN":
        stream.add([ord(ch)])
    # " EN" waits (it may become "END"); what comes before it cannot change.
    assert "".join(written) == "Hello wor\ufffdld"
    stream.add([ord("D")])
    stream.add([ord("x")])  # after the stop string: ignored
    text, stopped = cut_at_stop("Hello wor\ufffdld END", ["END"])
    assert stopped and stream.stopped
    stream.finish(text.strip())
    assert "".join(written) == text.strip()


def test_the_task_streams_through_its_context(tmp_path: Path) -> None:
    import tiny_models

    # A plain (no chat template) model: greedy decoding gives it visible text.
    folder = tiny_models.make_llama(tmp_path / "plain", chat_template=False)
    loaded = load_model(ModelChoice(str(folder), device="cpu"), "generate")
    pieces: list[str] = []
    task = GenerateTask(
        loaded,
        GenerateSettings(do_sample=False, max_new_tokens=16),
        TaskContext(stream=pieces.append),
    )
    (result,) = task.run([TaskInput(text=PROMPT)])
    assert len(pieces) > 1 and "".join(pieces) == result.text and result.text
    assert result.fields["prompt_tokens"] > 1
    # Two prompts at once are batched, not streamed.
    pieces.clear()
    both = task.run([TaskInput(text=PROMPT), TaskInput(text="Another prompt.")])
    assert pieces == [] and len(both) == 2
    assert both[0].text == result.text  # batching changes nothing for greedy decoding


def test_no_progress_bar_tears_through_streamed_text(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    env = Environment(
        stdin=io.BytesIO(b""),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin_isatty=True,
        stdout_isatty=True,
        stderr_isatty=True,  # a terminal: a bar would be drawn there
        variables=offline,
    )
    model = str(tiny_model_dirs["llama"])
    args = ["generate", PROMPT, *SEEDED, "--max-new-tokens", "48", "--model", model]
    assert run(args, env) == 0
    assert env.stderr.getvalue() == ""  # type: ignore[attr-defined]
    assert env.stdout.getvalue().endswith("\n")  # type: ignore[attr-defined]


@pytest.mark.skipif(importlib.util.find_spec("ctranslate2") is None, reason="needs the fast extra")
def test_ctranslate2_generates_the_torch_text(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    model = tiny_model_dirs["t5"]
    args = ("--greedy", "--max-new-tokens", "6", "--json")
    torch_run = generate(model, *args, stdin=PROMPT.encode(), variables=offline)
    fast = generate(
        model,
        *args,
        "--backend",
        "ctranslate2",
        "--compute-type",
        "float32",
        stdin=PROMPT.encode(),
        variables=offline,
    )
    assert fast.code == 0, fast.stderr
    assert record(fast.stdout)["text"] == record(torch_run.stdout)["text"]
    assert record(fast.stdout)["run"]["backend"] == "ctranslate2"
    # Plain output: the whole text, once (CTranslate2 hands it over in one piece).
    plain = generate(
        model,
        "--greedy",
        "--max-new-tokens",
        "6",
        "--backend",
        "ctranslate2",
        "--compute-type",
        "float32",
        stdin=PROMPT.encode(),
        variables=offline,
    )
    assert plain.stdout == record(fast.stdout)["text"] + "\n"


def test_system_turn_and_beams(tiny_model_dirs: dict[str, Path], offline: dict[str, str]) -> None:
    model = tiny_model_dirs["llama"]
    base = ("--greedy", "--max-new-tokens", "4", "--json")
    plain = record(generate(model, *base, stdin=b"Hello there.", variables=offline).stdout)
    # Longer than the default system turn SmolLM2's template adds when none is given.
    text = "You are a careful assistant who answers every question in one short, plain sentence."
    system = ("--system", text)
    with_system = generate(model, *base, *system, stdin=b"Hello there.", variables=offline)
    got = record(with_system.stdout)
    assert got["prompt_tokens"] > plain["prompt_tokens"]
    assert got["run"]["settings"]["system"] == text
    beams = generate(model, "--num-beams", "2", "--max-new-tokens", "4", "--json",
                     stdin=b"Hello there.", variables=offline)  # fmt: skip
    assert beams.code == 0, beams.stderr
    settings = record(beams.stdout)["run"]["settings"]
    assert settings["num_beams"] == 2 and settings["do_sample"] is False


def test_truncation_never_cuts_into_the_prompt_format(
    tiny_model_dirs: dict[str, Path], offline: dict[str, str]
) -> None:
    # 250 of the tiny model's 256 positions are for new tokens: not even the chat turn fits.
    args = ("--max-new-tokens", "250", "--truncate", "left")
    result = generate(tiny_model_dirs["llama"], *args, stdin=PROMPT.encode(), variables=offline)
    assert_error(result, 2, "the prompt format alone takes", "at most 6")
