"""Dashboard owners and their API tokens, shared by `clik owner ...` and the owner API.

A token is `clik_<owner id, 32 hex digits>_<secret>`, the secret being 32 random bytes
(base64url). Only a SHA-256 hash of the whole token is stored. The owner id in the token says
which stored hash to compare with, so verifying a token is one primary-key lookup plus a
constant-time comparison of hashes (`hmac.compare_digest`), and nothing in the lookup depends on
the secret. A fast hash is the right one here: the secret has 256 bits of entropy, so a slow
password hash (bcrypt, argon2) would add latency to every API request without making an offline
guess any less hopeless.

Owner management runs as the schema owner under the `clik_owner_admin` role (sql/0030).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from clik.errors import ClikError
from clik.queries import query

TOKEN_PREFIX = "clik_"
SECRET_BYTES = 32
# clik_ + 32 hex digits + _ + 43 base64url characters (32 bytes, unpadded).
TOKEN_PATTERN = re.compile(r"^clik_(?P<owner>[0-9a-f]{32})_(?P<secret>[A-Za-z0-9_-]{43})$")
MAX_NAME_LENGTH = 200
MAX_USER_CODE_LENGTH = 64

AS_ADMIN = query("set_local_role_owner_admin.sql")
INSERT_OWNER = query("insert_owner.sql")
USER_CODE_HOLDERS = query("select_user_code_holders.sql")
INSERT_USER_CODES = query("insert_user_codes.sql")
SELECT_OWNERS = query("select_owners.sql")
LOCK_OWNER = query("lock_owner.sql")
REVOKE_OWNER = query("revoke_owner.sql")
DELETE_USER_CODES = query("delete_user_codes.sql")


@dataclass(frozen=True)
class Owner:
    owner_id: uuid.UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None
    user_codes: list[str]


def new_token(owner_id: uuid.UUID) -> str:
    """A fresh token for `owner_id`."""
    return f"{TOKEN_PREFIX}{owner_id.hex}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_owner(token: str) -> uuid.UUID | None:
    """The owner id a well-formed token names, or None for anything else."""
    match = TOKEN_PATTERN.fullmatch(token)
    return uuid.UUID(hex=match["owner"]) if match else None


def token_matches(token: str, stored_hash: str | None) -> bool:
    """True when `token` hashes to `stored_hash`; the comparison takes the same time wherever
    the hashes differ."""
    if stored_hash is None:
        # Still compare, so an unknown owner costs the same as a wrong secret.
        hmac.compare_digest(hash_token(token), "0" * 64)
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def validate_user_codes(user_codes: Sequence[str]) -> list[str]:
    """The distinct user codes in order; refuses empty or over-long ones."""
    if not user_codes:
        raise ClikError("give at least one --user-code")
    distinct: list[str] = []
    for code in user_codes:
        if not 1 <= len(code) <= MAX_USER_CODE_LENGTH:
            raise ClikError(f"user code {code!r} must be 1 to {MAX_USER_CODE_LENGTH} characters")
        if code not in distinct:
            distinct.append(code)
    return distinct


def add_owner(
    conn: psycopg.Connection, name: str, user_codes: Sequence[str], *, share: bool = False
) -> tuple[Owner, str]:
    """Creates an owner of `user_codes`; returns it and its token (the only time the token
    exists outside the caller's hands). A user code another owner holds already is refused
    unless `share` says that both are to read it (e.g. an agency and its client)."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH or name != name.strip():
        raise ClikError(
            f"owner name must be 1 to {MAX_NAME_LENGTH} characters without surrounding spaces"
        )
    codes = validate_user_codes(user_codes)
    owner_id = uuid.uuid4()
    token = new_token(owner_id)
    with _as_admin(conn):
        created = conn.execute(
            INSERT_OWNER, {"owner_id": owner_id, "name": name, "token_hash": hash_token(token)}
        ).fetchone()
        if created is None:
            raise ClikError(f"an owner named {name!r} already exists")
        held = conn.execute(USER_CODE_HOLDERS, {"user_codes": codes}).fetchall()
        if held and not share:
            code, holder = held[0]
            raise ClikError(
                f"user code {code!r} already belongs to owner {holder!r}; "
                "pass --share to let both read it"
            )
        conn.execute(INSERT_USER_CODES, {"owner_id": owner_id, "user_codes": codes})
    return Owner(owner_id, name, created[0], None, codes), token


def list_owners(conn: psycopg.Connection) -> list[Owner]:
    """Every owner, oldest first, with its user codes."""
    with _as_admin(conn):
        cursor = conn.cursor(row_factory=class_row(Owner))
        return cursor.execute(SELECT_OWNERS).fetchall()


def revoke_owner(conn: psycopg.Connection, name_or_id: str) -> Owner:
    """Revokes an owner's token at once and removes its user codes, so row-level security
    alone would already show it nothing. Revoking twice is an error that says so."""
    try:
        owner_id: uuid.UUID | None = uuid.UUID(name_or_id)
    except ValueError:
        owner_id = None
    with _as_admin(conn):
        row = conn.execute(LOCK_OWNER, {"name": name_or_id, "owner_id": owner_id}).fetchone()
        if row is None:
            raise ClikError(f"no owner named {name_or_id!r}")
        if row[3] is not None:
            raise ClikError(f"owner {row[1]!r} was already revoked at {row[3]:%Y-%m-%d %H:%M:%S%z}")
        revoked_at = conn.execute(REVOKE_OWNER, {"owner_id": row[0]}).fetchone()
        codes = conn.execute(DELETE_USER_CODES, {"owner_id": row[0]}).fetchall()
    return Owner(
        row[0], row[1], row[2], revoked_at[0] if revoked_at else None, sorted(c for (c,) in codes)
    )


@contextmanager
def _as_admin(conn: psycopg.Connection) -> Iterator[None]:
    """A transaction under clik_owner_admin (rolled back on error)."""
    with conn.transaction():
        conn.execute(AS_ADMIN)
        yield
