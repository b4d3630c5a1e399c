"""Collectors: measurements taken where the work runs, returned as plain payloads.

``worker`` runs inside pool workers (and inline for sequential); ``memory``
samples RSS from the parent; ``merge`` turns payloads into pstats and LineStats.
Only this package and :mod:`profkit.frames` know pstats or line_profiler internals.
"""

COLLECTORS = ("timing", "tasks", "cprofile", "lines", "memory")
