DELETE FROM user_code_owners WHERE owner_id = %(owner_id)s RETURNING user_code
