"""`clik serve`: the ingest service under uvicorn."""

from __future__ import annotations

import click

from clik.cli.ports import check_port_free
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
    check_port_free(host, port, "choose another with --port")

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
