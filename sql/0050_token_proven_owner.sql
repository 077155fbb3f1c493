-- The owner's identity inside PostgreSQL is proven by the token (docs/contract.md 8).
--
-- Until now clik_reader's policies trusted `clik.owner_id`, a setting any session may set:
-- SQL running as clik_reader could name any owner and read that owner's rows, and the owner
-- API's token check happened in Python only. Now the owner API hands PostgreSQL the token
-- itself for the transaction (`set_config('clik.owner_token', <token>, true)`), and
-- clik_current_owner(), which every clik_reader policy calls, derives the owner from it: the
-- active owner whose stored hash is the SHA-256 of that token. Setting `clik.owner_id` (or a
-- stolen hash) by hand now gives nothing. The function is SECURITY DEFINER so that it can read
-- analytics_owners, which clik_reader cannot; it returns only the id of the owner whose token
-- the caller already holds.
--
-- owner_token_hash() (0030) handed clik_reader the stored hash of any active owner whose id it
-- knew; with the hash check inside the policies nothing needs it any more, so it goes.

CREATE OR REPLACE FUNCTION clik_current_owner()
RETURNS uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT owner_id
    FROM analytics_owners
    WHERE token_hash = encode(sha256(convert_to(current_setting('clik.owner_token', true),
                                                'UTF8')), 'hex')
      AND revoked_at IS NULL
$$;

COMMENT ON FUNCTION clik_current_owner() IS
    'The active owner whose token was set for this transaction (clik.owner_token); NULL: nobody.';

REVOKE EXECUTE ON FUNCTION clik_current_owner() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clik_current_owner() TO clik_reader;

DROP FUNCTION owner_token_hash(uuid);

-- The policies call it once per statement, as an InitPlan: `(SELECT clik_current_owner())`.
DO $$
DECLARE
    daily regclass;
BEGIN
    FOREACH daily IN ARRAY ARRAY[
        'analytics_daily_user_stats', 'analytics_daily_group_stats',
        'analytics_daily_click_targets', 'analytics_daily_page_stats']::regclass[]
    LOOP
        EXECUTE format(
            'ALTER POLICY reader_reads_own_user_codes ON %s '
            'USING (user_code = ANY (ARRAY(SELECT o.user_code FROM user_code_owners o '
            'WHERE o.owner_id = (SELECT clik_current_owner()))))', daily);
    END LOOP;
END
$$;

ALTER POLICY reader_reads_own_ownership ON user_code_owners
    USING (owner_id = (SELECT clik_current_owner()));
