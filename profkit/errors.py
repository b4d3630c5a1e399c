"""Errors a user can cause, each with the exit code the CLI returns for it."""

from __future__ import annotations

EXIT_OK = 0
EXIT_MODE_FAILED = 1
EXIT_USAGE = 2
#: 128 + the signal, as shells report it: Ctrl-C (SIGINT) and SIGTERM.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class ProfkitError(Exception):
    """A problem the user can fix; the CLI prints it as one line, no traceback."""

    exit_code = EXIT_USAGE


class UsageError(ProfkitError):
    """Bad input to a command or an API call: an unknown option, a number, a mode name."""


class WorkloadError(ProfkitError):
    """A workload that cannot be loaded or used: a bad target, task or items."""


class RunDirError(ProfkitError):
    """An output folder that exists, cannot be written, or is not a run."""


class StoreError(ProfkitError):
    """A saved run, profile or line file that cannot be read."""


class ModeFailed(ProfkitError):
    """A mode that could not finish: the task raised, a worker died, or it timed out.

    profkit.profile() records it in the Run (``run.failed_modes``) and goes on with the
    other modes; it does not raise it.
    """

    exit_code = EXIT_MODE_FAILED


class ProfkitWarning(UserWarning):
    """A problem profkit met and survived (a stale claim taken over, a report not written); the
    CLI prints it as 'profkit: warning: ...', and a warning of the user's code as Python does."""
