-- The settings of THIS transaction only (is_local = true): the component's role and bounds.
-- Nothing is set for the session, so a connection may be one of PgBouncer's in transaction
-- pooling mode, shared with other clients between transactions. ('none': the login's own role.)
SELECT set_config('role', coalesce(%(role)s, 'none'), true),
       set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('idle_in_transaction_session_timeout', %(idle_timeout)s, true),
       set_config('TimeZone', 'UTC', true)
