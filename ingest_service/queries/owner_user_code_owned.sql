-- Whether the current owner holds the user code (row-level security shows only its own rows).
SELECT EXISTS (SELECT FROM user_code_owners WHERE user_code = %(user_code)s) AS owned
