"""A Ctrl-C or SIGTERM is never lost, wherever the interpreter handles it, and names its exit code.

CPython drops an exception raised inside a ``__del__``, a ``gc`` callback or an at-fork
hook. Each program below makes the signal's handler run in exactly such a place (``os.kill``
to itself runs the handler before it returns), under profkit's CLI handlers, in a
process of its own; without profkit's record of the stop, each printed "lost".
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from profkit import interrupts
from tests.fixtures.cli import cli_env

PROLOGUE = textwrap.dedent("""
    import gc, os, signal, sys, time
    from profkit import cli, interrupts
    cli._install_stop_handlers()
    SIG = getattr(signal, sys.argv[1])
    def wait_for_the_stop():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        print("lost")
""")

IN_DEL = textwrap.dedent("""
    class Sends:
        def __del__(self):
            os.kill(os.getpid(), SIG)
    try:
        Sends()
        wait_for_the_stop()
    except KeyboardInterrupt:
        print("interrupted", interrupts.exit_code())
""")

IN_GC_CALLBACK = textwrap.dedent("""
    sent = []
    def callback(phase, info):
        if phase == "start" and not sent:
            sent.append(1)
            os.kill(os.getpid(), SIG)
    gc.callbacks.append(callback)
    try:
        gc.collect()
        wait_for_the_stop()
    except KeyboardInterrupt:
        print("interrupted", interrupts.exit_code())
""")

# The program's own before-hook runs after profkit's (hooks run in reverse order) and sends
# the signal while fork() is under way; its after-hook, registered later, runs last.
IN_FORK_HOOK = textwrap.dedent("""
    sent = []
    def send_during_fork():
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), SIG)
    os.register_at_fork(after_in_parent=send_during_fork)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        wait_for_the_stop()
    except KeyboardInterrupt:
        print("interrupted", interrupts.exit_code())
""")


@pytest.mark.parametrize("where", [IN_DEL, IN_GC_CALLBACK, IN_FORK_HOOK],
                         ids=["__del__", "gc callback", "at-fork hook"])
@pytest.mark.parametrize("sig, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stop_handled_where_exceptions_are_dropped_still_stops(where, sig, code):
    done = subprocess.run([sys.executable, "-c", PROLOGUE + where, sig], capture_output=True,
                          text=True, timeout=60, env=cli_env())
    assert done.stdout.strip() == f"interrupted {code}", (done.stdout, done.stderr)
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_exit_codes_follow_the_signal():
    try:
        interrupts.reset()
        assert interrupts.exit_code() == 130  # a KeyboardInterrupt with no signal seen: Ctrl-C
        interrupts.record(signal.SIGTERM)
        interrupts.record(signal.SIGINT)  # a second stop does not change the first one's code
        assert interrupts.exit_code() == 143 and interrupts.pending()
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
        interrupts.taken()
        interrupts.check()  # taken: the steps after the stop do not raise it again
        assert interrupts.exit_code() == 143
    finally:
        interrupts.reset()
