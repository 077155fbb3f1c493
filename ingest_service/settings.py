"""Settings of the ingest service, read from CLIK_* environment variables (docs/contract.md section 2)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from clik.settings import ClikSettings

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class IngestSettings(ClikSettings):
    max_body_bytes: int = Field(default=1_048_576, ge=1, description="largest accepted body")
    max_events: int = Field(default=1000, ge=1, description="most events in one batch")
    max_event_age_hours: float = Field(default=168, gt=0, description="older events are rejected")
    max_json_depth: int = Field(
        default=16, ge=4, description="deepest JSON nesting accepted (a valid batch needs 4)"
    )
    ip_mode: Literal["full", "truncate", "hash", "none"] = Field(
        default="truncate", description="how the client IP is stored"
    )
    ip_hash_secret: SecretStr | None = Field(
        default=None,
        description="key of the daily IP hash (ip_mode=hash); every instance must share it. "
        "Unset: a random key kept in $CLIK_HOME/ip-hash-secret",
    )
    rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="requests a minute accepted from one client address by each worker "
        "process; more are answered 429 (0: no limit). Set CLIK_TRUSTED_PROXIES first when "
        "the service is behind a proxy, or all visitors share the proxy's address",
    )
    trusted_proxies: Annotated[list[IpNetwork], NoDecode] = Field(
        default_factory=list, description="CIDRs whose X-Forwarded-For is believed"
    )

    # Group commit (docs/contract.md 3a), per worker process.
    ingest_group_max_events: int = Field(
        default=1000, ge=1, description="most events written in one group-commit transaction"
    )
    ingest_group_wait_ms: float = Field(
        default=0, ge=0, description="extra wait to gather a larger group (0: none)"
    )
    ingest_queue_max_events: int = Field(
        default=20_000, ge=1, description="events waiting to be written before a 503"
    )
    ingest_writers: int = Field(
        default=1,
        ge=1,
        description="group-commit transactions in flight at once (each holds a connection)",
    )

    # The database connection pool (one per worker process).
    ingest_role: str | None = Field(
        default="clik_ingest", description="role the service's connections SET ROLE to"
    )
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=16, ge=1)
    db_connect_timeout_s: int = Field(default=3, ge=1, description="libpq connect_timeout")
    db_pool_timeout_s: float = Field(
        default=2.0, gt=0, description="longest wait for a free connection before a 503"
    )
    db_statement_timeout_ms: int = Field(default=3000, ge=1)
    db_reconnect_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="how long a failing connection attempt retries (with backoff) before the "
        "pool lets the next request start a fresh one: bounds recovery after an outage",
    )
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After of a 503")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        """Accepts a comma- or space-separated string of CIDRs (single addresses too)."""
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, list):
            return [ipaddress.ip_network(part, strict=False) for part in value]
        return value

    def ip_hash_key(self) -> bytes:
        """The key of the IP hash: CLIK_IP_HASH_SECRET, else a random one kept in CLIK_HOME
        (created on first use) so that every worker and restart hashes alike."""
        if self.ip_hash_secret is not None:
            return self.ip_hash_secret.get_secret_value().encode()
        path = self.home.resolve() / "ip-hash-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".ip-hash-secret.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_hex(32), encoding="ascii")
            draft.chmod(0o600)
            try:
                os.link(draft, path)  # atomic and exclusive: the first worker's key wins
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text(encoding="ascii").strip().encode()
