"""Settings shared by every component, read from CLIK_* environment variables."""

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClikSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIK_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL of the role that owns the schema"
    )
    # Each component's own login (`clik db logins`); unset: CLIK_DATABASE_URL, with the
    # component's role taken for each transaction.
    ingest_database_url: str | None = Field(default=None, description="the ingest service's login")
    pipeline_database_url: str | None = Field(default=None, description="the pipeline's login")
    reader_database_url: str | None = Field(default=None, description="the owner API's login")
    legacy_migrator_database_url: str | None = Field(
        default=None, description="the legacy migration job's login"
    )
    read_database_url: str | None = Field(
        default=None, description="where the owner API reads (a streaming replica); unset: primary"
    )
    home: Path = Field(default=Path(".clik"), description="local state directory")
    partitions_start: date = Field(default=date(2025, 1, 1), description="first daily partition")
    retention_days: int = Field(default=90, ge=1, description="days of raw events kept")
    today_refresh_minutes: int = Field(
        default=15, ge=1, le=1440, description="how stale today's provisional daily rows may get"
    )

    @property
    def pgdata(self) -> Path:
        return self.home.resolve() / "pgdata"
