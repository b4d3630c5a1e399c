"""profkit's SIGTERM handling around fork(): a stop that arrives mid-fork is not lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A SIGTERM sent while os.fork() runs its hooks: profkit's before-hook holds it (it runs
# first), the program's own before-hook sends it, and profkit's after-hook releases it.
SIGTERM_DURING_FORK = textwrap.dedent("""
    import os, signal, time
    sent = []
    def send_during_fork():
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)
    os.register_at_fork(before=send_during_fork)
    from profkit import cli
    signal.signal(signal.SIGTERM, cli._terminate)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        print("lost")
    except KeyboardInterrupt:
        print("interrupted")
""")


def test_sigterm_held_during_fork_still_interrupts_the_parent() -> None:
    done = subprocess.run([sys.executable, "-c", SIGTERM_DURING_FORK], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "interrupted", done.stderr
    assert "Exception ignored" not in done.stderr
