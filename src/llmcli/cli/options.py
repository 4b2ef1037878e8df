"""Option types shared by every subcommand (the CLI contract)."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print JSON (JSON Lines for per-item commands) on stdout.")
]
OutputFile = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write results to FILE instead of stdout: a file atomically (temp file + "
        "rename, through a symlink to its target), a device or pipe directly. Never one "
        "of the inputs.",
        metavar="FILE",
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars, tables on stderr or warnings.")
]
Debug = Annotated[bool, typer.Option("--debug", help="Show a full traceback on errors.")]
Encoding = Annotated[
    str, typer.Option("--encoding", help="Encoding of input files.", metavar="CODEC")
]
DecodeErrors = Annotated[
    str,
    typer.Option(
        "--errors",
        help="On undecodable bytes: strict (fail, naming the byte offset), replace or ignore.",
        metavar="strict|replace|ignore",
    ),
]

MaxItemSize = Annotated[
    str,
    typer.Option(
        "--max-item-size",
        help="Longest line read (a whole file, when files are read whole), e.g. 512K, 32M, "
        "1G: a longer one is an error, not memory that grows with it.",
        metavar="SIZE",
    ),
]
