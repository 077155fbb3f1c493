-- Without a login of its own (CLIK_PIPELINE_DATABASE_URL), the pipeline works as the schema
-- owner switched to role clik_pipeline for the session.
SET ROLE clik_pipeline
