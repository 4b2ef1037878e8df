"""The one set of process exit codes, shared by every subcommand."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes documented in the README."""

    OK = 0
    ERROR = 1  # runtime failure: a bug, a full disk, a model that crashed
    USAGE = 2  # bad option, bad input file, mismatched inputs
    MODEL_UNAVAILABLE = 3  # model or optional component not installed / not found offline
    ITEMS_FAILED = 4  # --keep-going: finished, but some items failed (their records say why)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
