-- The bearer token, for THIS transaction only (is_local = true): clik_current_owner() (sql/0050)
-- finds the active owner whose stored hash is the token's, and every clik_reader policy asks it.
SELECT set_config('clik.owner_token', %(token)s, true)
