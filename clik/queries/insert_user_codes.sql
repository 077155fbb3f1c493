INSERT INTO user_code_owners (owner_id, user_code)
SELECT %(owner_id)s, code FROM unnest(%(user_codes)s::text[]) AS code
