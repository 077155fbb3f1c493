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
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection working as role clik_pipeline; open transactions with
        `conn.transaction()`."""
        with psycopg.connect(
            self.url(), autocommit=True, application_name="clik_pipeline", connect_timeout=10
        ) as conn:
            try:
                conn.execute("SET ROLE clik_pipeline")
            except psycopg.errors.InvalidParameterValue as error:
                raise ClikError(
                    f"the database at {describe(conn.info.dsn)} has no role clik_pipeline: "
                    "it is not migrated (run `clik db migrate`)"
                ) from error
            yield conn
