-- Dashboard owners and the user codes each may read. Only a hash of an owner's API token is
-- stored.

CREATE TABLE analytics_owners (
    owner_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
COMMENT ON TABLE analytics_owners IS 'Dashboard owners; token_hash is a hash of the API token, never the token.';

CREATE TABLE user_code_owners (
    owner_id  uuid NOT NULL REFERENCES analytics_owners (owner_id) ON DELETE CASCADE,
    user_code text NOT NULL CHECK (length(user_code) BETWEEN 1 AND 64),
    PRIMARY KEY (owner_id, user_code)
);
COMMENT ON TABLE user_code_owners IS 'Which owner may read which user code''s stats.';
CREATE INDEX idx_user_code_owners_user_code ON user_code_owners (user_code);
