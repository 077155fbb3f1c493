-- Dashboard owners: who manages them, and how the owner API checks a token without reading
-- analytics_owners.
--
--   clik_owner_admin  creates, lists and revokes owners (`clik owner ...` works under it).
--                     The schema owner is made a member, like the component roles (0001), so
--                     a schema owner that is neither superuser nor BYPASSRLS still passes the
--                     forced row-level security of these two tables.
--
-- A token is `clik_<owner id in hex>_<secret>` (clik/owners.py). The API reads the owner id from
-- it, asks owner_token_hash() for that owner's stored hash, and compares hashes in constant time
-- in Python. clik_reader gets EXECUTE on that one function and no privilege on analytics_owners:
-- it can learn nothing about owners except the hash of an active owner whose id it already
-- holds, and a SHA-256 of a 256-bit random secret reveals nothing usable.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clik_owner_admin') THEN
        BEGIN
            CREATE ROLE clik_owner_admin NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'clik_owner_admin', 'MEMBER') THEN
        GRANT clik_owner_admin TO CURRENT_USER;
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_owners, user_code_owners TO clik_owner_admin;
CREATE POLICY owner_admin_manages_owners ON analytics_owners
    FOR ALL TO clik_owner_admin USING (true) WITH CHECK (true);
CREATE POLICY owner_admin_manages_ownership ON user_code_owners
    FOR ALL TO clik_owner_admin USING (true) WITH CHECK (true);


-- The stored token hash of an active (not revoked) owner; NULL for unknown or revoked owners.
CREATE FUNCTION owner_token_hash(owner uuid)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT token_hash FROM analytics_owners WHERE owner_id = owner AND revoked_at IS NULL
$$;

COMMENT ON FUNCTION owner_token_hash(uuid) IS
    'Token hash of an active owner (NULL if unknown or revoked), for the owner API''s constant-time check.';

REVOKE EXECUTE ON FUNCTION owner_token_hash(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION owner_token_hash(uuid) TO clik_reader;
