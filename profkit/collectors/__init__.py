"""Collectors: measurements taken where the work runs, returned as plain payloads.

``worker`` runs inside pool workers (and inline for sequential), memory_profiler's
line profiler included; ``memory`` samples RSS with memory_profiler from a process
of its own and writes mprof ``.dat`` files; ``merge`` turns payloads into pstats,
LineStats and per-line memory rows. Only this package and :mod:`profkit.frames`
know pstats, line_profiler or memory_profiler internals.
"""

COLLECTORS = ("timing", "tasks", "cprofile", "lines", "memory")
