-- What every service needs to authenticate a call by itself, with no call to another
-- service: client API key hashes and contractor token revocations. The dispatcher
-- (keys) and the matcher (tokens) write them as systems of record; every service
-- copies the others' from crewline.identity.v1.
CREATE TABLE api_keys (
    key_id        text PRIMARY KEY,
    client_id     text NOT NULL,
    secret_sha256 text NOT NULL,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_by_client ON api_keys (client_id, created_at);

CREATE TABLE revoked_tokens (
    token_id      text PRIMARY KEY,
    contractor_id text NOT NULL,
    expires_at    timestamptz NOT NULL,  -- after it the row may be pruned
    revoked_at    timestamptz NOT NULL
);
