"""Errors a user can cause, each with the exit code the CLI returns for it."""

from __future__ import annotations

EXIT_OK = 0
EXIT_MODE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ProfkitError(Exception):
    """A problem the user can fix; the CLI prints it as one line, no traceback."""

    exit_code = EXIT_USAGE


class UsageError(ProfkitError):
    """Bad command-line input: a flag, a number, a mode name."""


class WorkloadError(ProfkitError):
    """A workload target that cannot be loaded or used."""


class RunDirError(ProfkitError):
    """An output folder that exists, cannot be written, or is not a run."""


class StoreError(ProfkitError):
    """A saved run, profile or line file that cannot be read."""


class ModeFailed(ProfkitError):
    """A mode that could not finish: the task raised, a worker died, or it timed out."""

    exit_code = EXIT_MODE_FAILED
