"""`clik serve`: the ingest service under uvicorn."""

from __future__ import annotations

import errno
import socket

import click

from clik.errors import ClikError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="worker processes (each has its own connection pool)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run the ingest service (POST /api/analytics/ingest, /tracker.js, /docs)."""
    from pydantic import ValidationError

    from clik.database import check_reachable, database_url
    from ingest_service.settings import IngestSettings

    # Fail here, in one line, rather than in every worker's startup.
    try:
        settings = IngestSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "CLIK_" + "_".join(str(part) for part in first["loc"][:1]).upper()
        raise ClikError(f"invalid setting {name}: {first['msg']}") from None
    url = database_url(settings)
    check_reachable(url)
    _check_port_free(host, port)

    import uvicorn

    click.echo(f"ingest service on http://{host}:{port} ({workers} worker(s))", err=True)
    uvicorn.run(
        "ingest_service.app:app",
        host=host,
        port=port,
        workers=workers,
        # The app reads X-Forwarded-For itself, only from CLIK_TRUSTED_PROXIES; uvicorn's own
        # handling would believe 127.0.0.1 by default.
        proxy_headers=False,
        server_header=False,
        access_log=False,  # one line per batch would cost more than the batch
        log_level="info",
    )


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ClikError(
                    f"port {port} is in use on {host}: choose another with --port"
                ) from None
            raise ClikError(f"cannot listen on {host}:{port}: {error.strerror}") from None
