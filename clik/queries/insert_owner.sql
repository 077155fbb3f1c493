INSERT INTO analytics_owners (owner_id, name, token_hash)
VALUES (%(owner_id)s, %(name)s, %(token_hash)s)
ON CONFLICT (name) DO NOTHING
RETURNING created_at
