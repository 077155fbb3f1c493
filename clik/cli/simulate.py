"""`clik simulate`."""

from __future__ import annotations

import io
import socket
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import click

from clik.errors import ClikError

DEFAULT_MAX_AGE_HOURS = 168  # the ingest service's default CLIK_MAX_EVENT_AGE_HOURS


@click.command()
@click.option(
    "--url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The ingest service (its base URL, or the full ingest endpoint).",
)
@click.option(
    "--visitors",
    type=click.IntRange(min=1),
    required=True,
    help="Distinct visitors; each makes one session or more (about 1.35).",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="Length of the simulated period, in days.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="First day (UTC) of the period. Default: the period ends now. The service "
    "rejects events older than its CLIK_MAX_EVENT_AGE_HOURS (168 by default), "
    "so an older start needs a service configured for it.",
)
@click.option(
    "--user-codes",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many cards (user codes sim-01, sim-02, ...) share the traffic.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="The same seed gives the same traffic (and, with --start, the same ids).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=16,
    show_default=True,
    help="Browsers sending at the same time.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show a progress bar on stderr.",
)
def simulate(
    url: str,
    visitors: int,
    days: float,
    start: datetime | None,
    user_codes: int,
    seed: int,
    concurrency: int,
    progress: bool,
) -> None:
    """Send realistic traffic (sessions, page views, clicks) through the ingest API, exactly
    as the browser tracker sends it, then print what was sent and what the server answered.

    The traffic: visitors spread over the days on a daily curve, several cards with share
    codes and contacts, about 4.4 page views and 2.2 clicks per session, a few sessions over
    midnight, about 4% crawlers (which the service rejects) and about 2% of batches sent twice
    (which come back as duplicates). Stops at the first rejection that is not a crawler's.
    """
    from clik.simulator import Simulation
    from clik.traffic import TrafficParams, window

    now = datetime.now(UTC)
    first, end = window(days, start, now)
    if end > now:
        raise ClikError(
            f"--start {first:%Y-%m-%d} with --days {days:g} ends {end:%Y-%m-%d %H:%M} UTC, in "
            "the future: the service rejects events more than 10 minutes ahead"
        )
    hours = (now - first) / timedelta(hours=1)
    if hours > DEFAULT_MAX_AGE_HOURS:
        click.echo(
            f"note: the oldest events are {hours:,.0f} hours old; the service rejects events "
            f"older than CLIK_MAX_EVENT_AGE_HOURS ({DEFAULT_MAX_AGE_HOURS} by default), so run "
            f"it with CLIK_MAX_EVENT_AGE_HOURS={int(hours) + 24} or more",
            err=True,
        )

    params = TrafficParams(visitors, first, end, user_codes=user_codes, seed=seed)
    simulation = Simulation(url, params, concurrency=concurrency)
    _check_reachable(simulation.client.url)
    click.echo(
        f"simulating {len(simulation.starts):,} sessions of {visitors:,} visitors on "
        f"{user_codes} cards, {first:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, to "
        f"{simulation.client.url}",
        err=True,
    )
    bar_file = sys.stderr if progress else io.StringIO()
    with click.progressbar(
        length=len(simulation.starts), label="sessions", file=bar_file, show_pos=True
    ) as bar:
        summary = simulation.run(on_session=lambda: bar.update(1))
    for line in summary.lines():
        click.echo(line)
    if summary.unexpected:
        stopped = " (stopped early)" if simulation.stopped_early else ""
        raise ClikError(f"the server refused events{stopped}: " + "; ".join(summary.unexpected))


def _check_reachable(url: str) -> None:
    """Fails in one line when nothing listens at the service's address (rather than after a
    minute of retries of the first batch)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as error:
        raise ClikError(
            f"cannot reach the ingest service at {parts.hostname}:{port} ({error.strerror or error}):"
            " start it with `clik serve` or `clik dev`, or pass --url"
        ) from None
