-- The current owner's user codes, sorted; row-level security shows only that owner's rows.
SELECT user_code FROM user_code_owners ORDER BY user_code
