"""Checking a port before anything starts, so a taken one is one line, not a traceback."""

from __future__ import annotations

import errno
import socket

from clik.errors import ClikError


def check_port_free(host: str, port: int, advice: str) -> None:
    """Raise a ClikError ending in `advice` when nothing may listen on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ClikError(f"port {port} is in use on {host}: {advice}") from None
            raise ClikError(f"cannot listen on {host}:{port}: {error.strerror}") from None
