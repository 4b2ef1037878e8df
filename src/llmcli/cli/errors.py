"""Turning core exceptions into one line on stderr and a documented exit code."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from llmcli.environment import Environment
from llmcli.errors import ItemsFailed, LlmcliError
from llmcli.exit_status import ExitStatus

P = ParamSpec("P")
R = TypeVar("R")


def current_environment(
    ctx: typer.Context | object | None, quiet: bool = False, debug: bool = False
) -> Environment:
    """The Environment passed as the context object (tests), or the real process one."""
    obj = getattr(ctx, "obj", None)
    env = obj if isinstance(obj, Environment) else None
    if env is None:
        env = Environment()
        if ctx is not None:
            ctx.obj = env  # type: ignore[attr-defined]
    env.quiet = env.quiet or quiet
    env.debug = env.debug or debug or bool(env.variables.get("LLMCLI_DEBUG"))
    return env


def report_error(env: Environment, message: str) -> None:
    """The single line an error gets."""
    print(f"llmcli: error: {message}", file=env.stderr)


def _quiet_broken_pipe() -> None:
    # The reader went away (``| head``): stop writing, and keep Python from
    # complaining about the closed stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: typed errors, Ctrl-C and crashes become exit codes, not tracebacks.

    The command must take ``ctx: typer.Context`` (as a keyword) so the wrapper can find
    the Environment.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = kwargs.get("ctx")
        env = current_environment(
            # Typer hands over its click Context, a base class of typer.Context.
            ctx if hasattr(ctx, "obj") else None,
            quiet=bool(kwargs.get("quiet", False)),
            debug=bool(kwargs.get("debug", False)),
        )
        try:
            return func(*args, **kwargs)
        except ItemsFailed as exc:
            # The run finished: a summary line, not an error, even with --debug.
            print(f"llmcli: {exc.message}", file=env.stderr)
            raise typer.Exit(int(exc.exit_status)) from None
        except LlmcliError as exc:
            if env.debug:
                raise
            report_error(env, str(exc))
            raise typer.Exit(int(exc.exit_status)) from None
        except KeyboardInterrupt as exc:
            report_error(env, str(exc) or "interrupted")
            raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise typer.Exit(int(ExitStatus.OK)) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if env.debug:
                raise
            detail = str(exc).splitlines()[0] if str(exc) else ""
            report_error(
                env,
                f"unexpected {type(exc).__name__}: {detail} (rerun with --debug for a traceback)",
            )
            raise typer.Exit(int(ExitStatus.ERROR)) from None

    return wrapper
