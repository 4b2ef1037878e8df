"""Typed errors raised by the core; only the CLI layer turns them into exit codes."""

from __future__ import annotations

from llmcli.exit_status import ExitStatus


class LlmcliError(Exception):
    """Base of every error the CLI reports as one line on stderr."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(LlmcliError):
    """A bad option or a combination of options that cannot work."""

    exit_status = ExitStatus.USAGE


class InputError(LlmcliError):
    """Unreadable, undecodable, empty or malformed input."""

    exit_status = ExitStatus.USAGE


class ModelUnavailableError(LlmcliError):
    """A model or optional component that is not installed or cannot be fetched offline."""

    exit_status = ExitStatus.MODEL_UNAVAILABLE


class OutputError(LlmcliError):
    """The result could not be written (full disk, missing directory, no permission)."""

    exit_status = ExitStatus.ERROR
