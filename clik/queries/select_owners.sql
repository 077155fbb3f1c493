-- Every owner, oldest first, with its user codes.
SELECT o.owner_id, o.name, o.created_at, o.revoked_at,
       coalesce(array_agg(c.user_code ORDER BY c.user_code)
                FILTER (WHERE c.user_code IS NOT NULL), '{}') AS user_codes
FROM analytics_owners o LEFT JOIN user_code_owners c USING (owner_id)
GROUP BY o.owner_id
ORDER BY o.created_at, o.name
