"""``python -m profkit``."""

from profkit.cli import entry

entry()
