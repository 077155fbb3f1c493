UPDATE analytics_owners SET revoked_at = now()
WHERE owner_id = %(owner_id)s
RETURNING revoked_at
