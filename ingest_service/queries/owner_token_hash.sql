-- The stored token hash of an active owner (NULL: unknown or revoked), through the
-- SECURITY DEFINER function of sql/0030: clik_reader has no access to analytics_owners.
SELECT owner_token_hash(%(owner_id)s)
