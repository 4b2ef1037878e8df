"""``llmcli models``: list known models and aliases; ``llmcli models pull NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from llmcli.cli.errors import current_environment, handles_errors
from llmcli.cli.options import Debug, JsonOutput, Quiet

models_app = typer.Typer(
    help="Known models and aliases per task: list them, or get one ready ahead of time.",
    no_args_is_help=False,
    add_completion=False,
)


@models_app.callback(invoke_without_command=True)
@handles_errors
def list_command(
    ctx: typer.Context,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Each known model: tasks, defaults, whether it is here, size and license."""
    if ctx.invoked_subcommand is not None:
        return
    from llmcli.models.cache import describe_size
    from llmcli.models.catalog import list_models
    from llmcli.output.writer import to_json

    env = current_environment(ctx)
    rows = list_models(env.variables)
    if json_output:
        for row in rows:
            print(to_json(row.to_json()), file=env.stdout)
        return
    if env.stdout_isatty:
        from rich.table import Table

        table = Table(title="llmcli models")
        for column in ("name", "tasks", "default for", "source", "here", "size", "license"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.spec.name,
                ", ".join(row.spec.tasks),
                ", ".join(row.default_for),
                row.spec.hub_id or "built-in (PyPI)",
                describe_size(row.disk_size) if row.present else "no",
                row.spec.size,
                row.spec.license,
            )
        env.stdout_console().print(table)
        return
    for row in rows:
        cells = [
            row.spec.name,
            ",".join(row.spec.tasks),
            ",".join(row.default_for) or "-",
            row.spec.hub_id or "builtin",
            "present" if row.present else "absent",
            row.spec.size,
            row.spec.license,
        ]
        print("\t".join(cells), file=env.stdout)


@models_app.command("pull")
@handles_errors
def pull_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Alias or Hugging Face model id.")],
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild a built-in model even if it is ready.")
    ] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Get a model ready now: prepare a built-in one, or download a hub model."""
    from llmcli.models import builtin
    from llmcli.models.catalog import pull
    from llmcli.models.registry import SPECS, SourceKind

    env = current_environment(ctx)

    def notice(message: str) -> None:
        if not env.quiet:
            print(f"llmcli: {message}", file=env.stderr)

    spec = SPECS.get(name.lower())
    if force and spec is not None and spec.kind is SourceKind.BUILTIN:
        path = builtin.pull(spec.name, env.variables, notice, force=True)
    else:
        path = pull(name, env.variables, notice)
    print(str(path), file=env.stdout)
