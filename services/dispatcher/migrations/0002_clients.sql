-- Clients (AI labs) and the requests that created their API keys. The keys' hashes
-- live in the kernel's api_keys table, which every service has.
CREATE TABLE clients (
    client_id    text PRIMARY KEY,
    display_name text NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE api_key_requests (
    request_id text PRIMARY KEY,  -- idempotent CreateApiKey, forever
    client_id  text NOT NULL REFERENCES clients (client_id),
    key_id     text NOT NULL UNIQUE REFERENCES api_keys (key_id)
);
