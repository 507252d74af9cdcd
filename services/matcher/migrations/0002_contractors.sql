-- Contractors (vetted experts) and the tokens issued to them. Revocations are also
-- written to the kernel's revoked_tokens table, which every service has.
CREATE TABLE contractors (
    contractor_id text PRIMARY KEY,
    display_name  text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE contractor_tokens (
    token_id      text PRIMARY KEY,
    contractor_id text NOT NULL REFERENCES contractors (contractor_id),
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX contractor_tokens_by_contractor ON contractor_tokens (contractor_id, issued_at);
