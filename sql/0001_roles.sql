-- The three component roles. Roles belong to the whole cluster, so several databases on one
-- server share them: create each only when missing, tolerating a concurrent creator.
-- They cannot log in; each component connects as the schema owner and runs SET ROLE, so one
-- CLIK_DATABASE_URL is all an operator configures.
DO $$
DECLARE
    component_role text;
BEGIN
    FOREACH component_role IN ARRAY ARRAY['clik_ingest', 'clik_pipeline', 'clik_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = component_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', component_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it a moment ago
            END;
        END IF;
        -- Membership lets the schema owner SET ROLE to the component's role.
        IF NOT pg_has_role(current_user, component_role, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', component_role, current_user);
        END IF;
    END LOOP;
END
$$;
