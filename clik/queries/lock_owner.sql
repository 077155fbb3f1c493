SELECT owner_id, name, created_at, revoked_at
FROM analytics_owners
WHERE name = %(name)s OR owner_id = %(owner_id)s
FOR UPDATE
