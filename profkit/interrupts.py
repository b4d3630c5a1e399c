"""Ctrl-C and SIGTERM as a recorded stop, not only an exception that may be lost.

CPython raises a signal's exception at the next bytecode the main thread runs. When that
bytecode belongs to a ``__del__``, a weakref or ``gc`` callback or an at-fork hook, the
interpreter prints the exception as "unraisable" and drops it: the run would go on and
exit 0. So the handler records the stop before it raises; a dropped ``KeyboardInterrupt``
is kept quiet and the signal sent again a moment later (:func:`install`), and the engine
raises a stop nobody took at its next step (:func:`check`).

Exit codes follow the shell's convention, 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from profkit.errors import EXIT_INTERRUPTED

#: The signal of the last stop (SIGINT or SIGTERM), or None.
_signal: int | None = None
#: True from the stop until the engine has taken it (stopped the run).
_pending = False
_previous_hook: Callable[[sys.UnraisableHookArgs], object] | None = None
#: How long the re-sent signal waits, so that it lands once the dropping context has returned.
RESEND_AFTER_S = 0.005


def record(signum: int) -> None:
    """Note a stop by ``signum``; the first signal names the exit code."""
    global _signal, _pending
    if not _pending:
        _signal = signum
    _pending = True


def pending() -> bool:
    """True if a stop was recorded that the engine has not acted on yet."""
    return _pending


def check() -> None:
    """Raise KeyboardInterrupt if a stop is pending (its exception may have been dropped)."""
    if _pending:
        raise KeyboardInterrupt


def taken() -> None:
    """The run has stopped for the pending stop: later steps need not raise it again."""
    global _pending
    _pending = False


def reset() -> None:
    """Forget every stop (a new command starts)."""
    global _signal, _pending
    _signal, _pending = None, False


def exit_code() -> int:
    """128 + the stopping signal: 130 for Ctrl-C (and when none was seen), 143 for SIGTERM."""
    return 128 + _signal if _signal is not None else EXIT_INTERRUPTED


def send_again(signum: int) -> None:
    """Send ``signum`` to this process again in a moment, from a thread of its own."""
    def send() -> None:
        time.sleep(RESEND_AFTER_S)
        os.kill(os.getpid(), signum)

    threading.Thread(target=send, name="profkit-resend-signal", daemon=True).start()


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _pending and _signal is not None:
        send_again(_signal)  # dropped inside a __del__, a callback or a fork hook: try again
        return
    (_previous_hook or sys.__unraisablehook__)(unraisable)


def install() -> None:
    """Route dropped KeyboardInterrupts to :func:`send_again` (once per process)."""
    global _previous_hook
    if sys.unraisablehook is not _unraisable:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable


def uninstall() -> None:
    global _previous_hook
    if sys.unraisablehook is _unraisable:
        sys.unraisablehook = _previous_hook or sys.__unraisablehook__
        _previous_hook = None
