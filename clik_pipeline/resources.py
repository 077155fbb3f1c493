"""The analytics database as a Dagster resource, used under the clik_pipeline role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource
from pydantic import Field

from clik.database import database_url, describe
from clik.errors import ClikError
from clik.settings import ClikSettings
from clik_pipeline.queries import shared_queries


class ClikDatabase(ConfigurableResource):
    """PostgreSQL holding the raw and daily tables.

    The URL is resolved when a run or tick uses the resource, never when the definitions load:
    `database_url` when configured, else CLIK_DATABASE_URL, else the embedded server (started if
    needed), exactly as the `clik` command line finds it. (A Dagster `EnvVar` cannot be
    optional: an unset variable fails the run's config before our fallback could apply.)
    """

    database_url: str | None = Field(
        default=None,
        description="URL of the schema owner; unset: CLIK_DATABASE_URL, else the embedded server",
    )

    def url(self) -> str:
        return self.database_url or database_url(ClikSettings(), start=True)

    @contextmanager
    def connect(self, component: str = "pipeline") -> Iterator[psycopg.Connection]:
        """An autocommit connection working with the rights of `component` ("pipeline", or
        "legacy_migrator" for the legacy migration); open transactions with
        `conn.transaction()`.

        With the component's own login (CLIK_PIPELINE_DATABASE_URL, ...) it is that login's,
        nothing else; else the schema owner's connection switches to role clik_pipeline for
        the session (the legacy migration switches per transaction itself)."""
        login = None if self.database_url else getattr(ClikSettings(), f"{component}_database_url")
        with psycopg.connect(
            login or self.url(),
            autocommit=True,
            application_name=f"clik_{component}",
            connect_timeout=10,
            prepare_threshold=None,  # no prepared statements: PgBouncer's transaction pooling
        ) as conn:
            if login is None and component == "pipeline":
                try:
                    shared_queries.run(conn, "set_role_pipeline")
                except psycopg.errors.InvalidParameterValue as error:
                    raise ClikError(
                        f"the database at {describe(conn.info.dsn)} has no role clik_pipeline: "
                        "it is not migrated (run `clik db migrate`)"
                    ) from error
            yield conn
