-- Who already holds any of these user codes.
SELECT o.user_code, a.name
FROM user_code_owners o JOIN analytics_owners a USING (owner_id)
WHERE o.user_code = ANY (%(user_codes)s)
ORDER BY 1, 2
