"""Dask scheduler addresses, checked as plain strings before any mode runs.

Nothing here imports ``distributed``, so the CLI can check ``--scheduler``
quickly even where Dask is not installed.
"""

from __future__ import annotations

from profkit.errors import UsageError

MISSING_DASK = "the dask mode needs dask.distributed: pip install 'profkit[dask]'"

#: Dask's own default scheduler port, used when an address gives none.
DEFAULT_PORT = 8786


def check_available() -> None:
    """Raise :class:`UsageError` if ``distributed`` cannot be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise UsageError(MISSING_DASK) from exc


def normalize_address(text: str) -> str:
    """``HOST:PORT``, ``tcp://HOST`` or ``tcp://HOST:PORT`` -> ``tcp://HOST:PORT``.

    Pure string work (no import of distributed), so a CLI can check the flag
    before any mode runs. Other protocols (``tls://``, ``ucx://``...) pass
    through unchanged.
    """
    address = text.strip()
    scheme, sep, location = address.partition("://")
    if not sep:
        scheme, location = "tcp", address
    scheme = scheme.lower()
    if scheme != "tcp":
        if not location:
            raise UsageError(f"invalid scheduler address {text!r}: use tcp://HOST:PORT")
        return f"{scheme}://{location}"
    location = location.rstrip("/")
    if location.startswith("["):  # [IPv6]:port
        host, _, rest = location[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        host_part = f"[{host}]"
    elif location.count(":") > 1:
        raise UsageError(f"invalid scheduler address {text!r}: write an IPv6 host in brackets, "
                         "tcp://[::1]:8786")
    else:
        host, _, port_text = location.rpartition(":") if ":" in location else (location, "", "")
        host_part = host
    if not host or "/" in location or any(c.isspace() for c in location):
        raise UsageError(f"invalid scheduler address {text!r}: use tcp://HOST:PORT")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"invalid port in scheduler address {text!r}: use tcp://HOST:PORT")
        port = int(port_text)
    else:
        port = DEFAULT_PORT
    return f"tcp://{host_part}:{port}"


# -- worker side (module level, so dask pickles them by reference) --
