"""The Typer application and the process entry point."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from llmcli import __version__
from llmcli.cli.evaluate import eval_command
from llmcli.cli.generate import generate_command
from llmcli.cli.models import models_app
from llmcli.cli.tasks import ask_command, sentiment_command, summarize_command, translate_command
from llmcli.environment import Environment
from llmcli.exit_status import ExitStatus

app = typer.Typer(
    name="llmcli",
    help="Language models and evaluation metrics in the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        env = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
        print(f"llmcli {__version__}", file=env.stdout)
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """llmcli: summarize, translate, ask, sentiment, generate and eval from the shell."""


app.command("summarize")(summarize_command)
app.command("translate")(translate_command)
app.command("ask")(ask_command)
app.command("sentiment")(sentiment_command)
app.command("generate")(generate_command)
app.command("eval")(eval_command)
app.add_typer(models_app, name="models")


# Building click's command tree from the Typer app inspects every signature: tens of
# milliseconds, more than a small ``eval`` takes. Build it once per process.
_click_command = functools.cache(lambda: typer.main.get_command(app))


def run(argv: Sequence[str], env: Environment | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code (never raises for user errors)."""
    env = env or Environment()
    command = _click_command()
    try:
        result = command.main(args=list(argv), prog_name="llmcli", standalone_mode=False, obj=env)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help(), file=env.stdout)
            return int(ExitStatus.USAGE)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"llmcli: error: {exc.format_message()}{hint}", file=env.stderr)
        code = getattr(exc, "exit_code", ExitStatus.USAGE)
        return int(code) if code else int(ExitStatus.USAGE)
    except (typer.Abort, KeyboardInterrupt):
        print("llmcli: error: interrupted", file=env.stderr)
        return int(ExitStatus.INTERRUPTED)
    # With standalone_mode off, click returns typer.Exit's code instead of raising it.
    return result if isinstance(result, int) else int(ExitStatus.OK)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
