-- Owner management works as clik_owner_admin for one transaction (sql/0030): it may write
-- analytics_owners and user_code_owners, nothing else.
SET LOCAL ROLE clik_owner_admin
