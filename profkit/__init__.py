"""profkit: where does the time go, and does parallelism pay off?

Public API::

    import profkit
    run = profkit.profile("primes", modes="sequential,processes", out="reports/primes")
    run = profkit.profile(my_function, items=[1, 2, 3])   # any function, closures too
    run.timings            # pandas DataFrame
    again = profkit.load("reports/primes")

Every mistake in a call raises a :class:`ProfkitError` subclass with one line
that names the fix.
"""

import sys as _sys


def _running_as_main_module() -> bool:
    """True for ``python -m profkit`` (or ``-m profkit.x``), read from the interpreter's own argv."""
    args = iter(getattr(_sys, "orig_argv", [])[1:])
    for arg in args:
        if arg == "-m":
            module = next(args, "")
        elif arg.startswith("-m"):
            module = arg[2:]
        elif arg in ("-X", "-W", "--check-hash-based-pycs"):
            next(args, None)
            continue
        elif arg.startswith("-") and arg != "-" and not arg.startswith("-c"):
            continue
        else:
            return False
        return module == "profkit" or module.startswith("profkit.")
    return False


# ``python -m profkit`` puts the working folder first on sys.path, and a run folder from
# someone else may hold a json.py or pstats.py: drop it before anything else is imported.
# (The CLI puts back only the folder of the user's own target, for profile, ab and list.)
if _running_as_main_module() and not (getattr(_sys.flags, "safe_path", False) or _sys.flags.isolated):
    del _sys.path[0]

from typing import TYPE_CHECKING  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Workload", "workload", "profile", "ab", "load", "Run", "ProfkitError", "UsageError",
           "WorkloadError", "RunDirError", "StoreError", "ModeFailed", "__version__"]

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from profkit.errors import (
        ModeFailed,
        ProfkitError,
        RunDirError,
        StoreError,
        UsageError,
        WorkloadError,
    )
    from profkit.pipeline import ab, profile
    from profkit.run import Run, load
    from profkit.workloads.model import Workload, workload

_LAZY = {
    "Workload": "profkit.workloads.model",
    "workload": "profkit.workloads.model",
    "profile": "profkit.pipeline",
    "ab": "profkit.pipeline",
    "load": "profkit.run",
    "Run": "profkit.run",
    **{name: "profkit.errors" for name in ("ProfkitError", "UsageError", "WorkloadError",
                                           "RunDirError", "StoreError", "ModeFailed")},
}


def load_ipython_extension(ipython: "InteractiveShell") -> None:
    """``%load_ext profkit``: register the ``%profkit`` and ``%%profkit`` magics."""
    from profkit.magic import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> object:
    """Import the public names on first use, so ``profkit --help`` stays fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'profkit' has no attribute {name!r}")
